/*
 * The status and connections documents (docs/control.md): counters summed
 * over workers, and a row per connection read under each worker's lock.
 */
#include "server/status.h"

#include "server/conn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tcpseal/protocol.h>

#include "util/timefmt.h"
#include "util/clock.h"
#include "util/error.h"


static uint64_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void sum_counters(ts_server *srv, struct counters *sum)
{
    uint64_t v[8] = {0};

    for (unsigned i = 0; srv->workers != NULL && i < srv->n_workers; i++) {
        struct counters *c = &srv->workers[i].counters;
        v[0] += counter_get(&c->handshakes_ok);
        v[1] += counter_get(&c->handshakes_failed);
        v[2] += counter_get(&c->messages_in);
        v[3] += counter_get(&c->messages_out);
        v[4] += counter_get(&c->bytes_in);
        v[5] += counter_get(&c->bytes_out);
        v[6] += counter_get(&c->requests_handled);
        v[7] += counter_get(&c->requests_repeated);
    }
    atomic_store(&sum->handshakes_ok, v[0]);
    atomic_store(&sum->handshakes_failed, v[1]);
    atomic_store(&sum->messages_in, v[2]);
    atomic_store(&sum->messages_out, v[3]);
    atomic_store(&sum->bytes_in, v[4]);
    atomic_store(&sum->bytes_out, v[5]);
    atomic_store(&sum->requests_handled, v[6]);
    atomic_store(&sum->requests_repeated, v[7]);
}

static json_t *rejected_json(struct admission *a)
{
    static const int reasons[] = {TS_REASON_SERVER_FULL, TS_REASON_TOO_MANY_FROM_ADDRESS,
                                  TS_REASON_RATE_LIMITED, TS_REASON_UNSUPPORTED_VERSION,
                                  TS_REASON_UNSUPPORTED_SUITE, TS_REASON_BAD_HELLO,
                                  TS_REASON_SHUTTING_DOWN};
    json_t *obj = json_object();

    for (size_t i = 0; obj != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
        json_object_set_new(obj, ts_reason_name(reasons[i]),
                            json_integer((json_int_t)atomic_load(&a->rejected[reasons[i]])));
    return obj;
}

static json_t *limits_json(const ts_server_config *cfg)
{
    /* The bursts are the effective ones ("0 = default" already resolved),
     * so an operator sees what a client actually gets. */
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "max_clients", (json_int_t)cfg->max_clients,
                     "max_per_address", (json_int_t)cfg->max_per_address,
                     "connect_rate", (json_int_t)cfg->connect_rate,
                     "max_message", (json_int_t)cfg->max_message,
                     "handshake_timeout_ms", (json_int_t)cfg->handshake_timeout_ms,
                     "heartbeat_ms", (json_int_t)cfg->heartbeat_ms,
                     "idle_timeout_ms", (json_int_t)cfg->idle_timeout_ms,
                     "message_rate", (json_int_t)cfg->message_rate,
                     "message_burst", (json_int_t)cfg->message_burst,
                     "byte_rate", (json_int_t)cfg->byte_rate,
                     "byte_burst", (json_int_t)cfg->byte_burst,
                     "max_output", (json_int_t)cfg->max_output);
}

static json_t *listen_json(ts_server *srv, bool tls)
{
    char addrs[SERVER_MAX_LISTENERS][64];
    size_t n = listeners_addresses(srv, tls, addrs, SERVER_MAX_LISTENERS);
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++)
        json_array_append_new(arr, json_string(addrs[i]));
    return arr;
}

json_t *status_object(ts_server *srv)
{
    struct admission *a = &srv->admission;
    struct counters sum;
    char started[32];

    sum_counters(srv, &sum);
    timefmt_iso8601(srv->started_at_ms, started);
    return json_pack(
        "{s:b, s:s, s:I, s:s, s:I, s:o, s:o, s:s, s:I,"
        " s:{s:I, s:I, s:I}, s:o, s:{s:I, s:I}, s:{s:I, s:I}, s:{s:I, s:I},"
        " s:{s:I, s:I}, s:{s:I}, s:o}",
        "running", 1, "version", TS_VERSION, "pid", (json_int_t)getpid(),
        "started_at", started,
        "uptime_s", (json_int_t)((clock_mono_ms() - srv->started_mono_ms) / 1000),
        "listen", listen_json(srv, false), "tls_listen", listen_json(srv, true),
        "fingerprint", srv->fingerprint,
        "workers", (json_int_t)srv->n_workers,
        "connections", "current", (json_int_t)atomic_load(&a->current),
        "peak", (json_int_t)atomic_load(&a->peak), "total", (json_int_t)atomic_load(&a->total),
        "rejected", rejected_json(a),
        "handshakes", "ok", (json_int_t)counter_get(&sum.handshakes_ok),
        "failed", (json_int_t)counter_get(&sum.handshakes_failed),
        "messages", "in", (json_int_t)counter_get(&sum.messages_in),
        "out", (json_int_t)counter_get(&sum.messages_out),
        "bytes", "in", (json_int_t)counter_get(&sum.bytes_in),
        "out", (json_int_t)counter_get(&sum.bytes_out),
        "requests", "handled", (json_int_t)counter_get(&sum.requests_handled),
        "repeated", (json_int_t)counter_get(&sum.requests_repeated),
        "memory", "rss_bytes", (json_int_t)resident_bytes(),
        "limits", limits_json(server_cfg(srv)));
}

static json_t *conn_json(struct conn *c)
{
    char since[32], last[32];

    timefmt_iso8601(c->connected_at_ms, since);
    timefmt_iso8601(atomic_load_explicit(&c->last_activity_ms, memory_order_relaxed), last);
    json_t *tls = c->tls_version != NULL
                      ? json_pack("{s:s, s:s}", "version", c->tls_version, "cipher",
                                  c->tls_cipher)
                      : json_null();

    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:I}",
                     "id", (json_int_t)c->id, "peer", c->peer,
                     "fingerprint", c->fingerprint,
                     "state", conn_state_name(atomic_load(&c->state)),
                     "suite", c->suite != NULL ? c->suite : "", "tls", tls,
                     "connected_at", since, "last_activity", last,
                     "messages_in", (json_int_t)counter_get(&c->messages_in),
                     "messages_out", (json_int_t)counter_get(&c->messages_out),
                     "bytes_in", (json_int_t)counter_get(&c->bytes_in),
                     "bytes_out", (json_int_t)counter_get(&c->bytes_out));
}

json_t *connections_array(ts_server *srv)
{
    json_t *arr = json_array();

    for (unsigned i = 0; arr != NULL && srv->workers != NULL && i < srv->n_workers; i++) {
        struct worker *w = &srv->workers[i];

        pthread_mutex_lock(&w->lock);
        for (struct conn *c = w->conns; c != NULL; c = c->next)
            json_array_append_new(arr, conn_json(c));
        pthread_mutex_unlock(&w->lock);
    }
    return arr;
}

static int dump(json_t *value, char **out)
{
    *out = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(value);
    return *out != NULL ? TS_OK : error_set(TS_ERR_NOMEM, "cannot render status");
}

int ts_server_status_json(ts_server *srv, char **out)
{
    return dump(status_object(srv), out);
}

int ts_server_connections_json(ts_server *srv, char **out)
{
    return dump(connections_array(srv), out);
}
