/*
 * One request/response exchange: connect, handshake with the server key
 * checked, send the Request, wait for the answer whose correlation id is
 * the request's id. Failures become one line on stderr and an exit
 * status from enum cli_exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>
#include <tcpseal/protocol.h>

#include "cli/client_cli.h"
#include "client/conn.h"
#include "client/known_servers.h"
#include "client/sequence.h"
#include "net/tls.h"
#include "util/clock.h"
#include "util/error.h"

#define MS_PER_SECOND 1000.0

struct exchange {
    const struct client_target *t;
    char *known_path;
    bool first_use;                      /* server not known yet: record it */
    bool known_mismatch;                 /* the known key differs */
    char expected[TS_FINGERPRINT_MAX];   /* ... this one */
    int local_rc;                        /* known servers unreadable */
    char local_text[256];
    uint64_t request_id;                 /* 0 until sent */
    bool answered;
    struct client_answer *answer;
};

/* Pin or known servers: the conn checked the pin already. Runs before
 * the client's identity is sent. */
static int check_server(void *arg, const uint8_t key[TS_PUBLIC_KEY_LEN],
                        const char *fingerprint)
{
    struct exchange *x = arg;
    int rc;

    if (x->t->server_key != NULL)
        return TS_OK;
    rc = known_servers_check(x->known_path, x->t->hostport, fingerprint, x->expected,
                             NULL);
    if (rc == TS_OK)
        return TS_OK;
    if (rc == TS_ERR_NOT_FOUND) {
        x->first_use = true;
        return TS_OK;
    }
    if (rc == TS_ERR_KEY_MISMATCH) {
        x->known_mismatch = true;
        return error_set(rc, "the identity of %s differs from the known one",
                         x->t->hostport);
    }
    x->local_rc = rc;
    snprintf(x->local_text, sizeof(x->local_text), "%s", ts_error_detail(rc));
    return rc;
}

static bool is_answer(const struct exchange *x, const ts_envelope *env)
{
    uint64_t corr = ts_envelope_correlation_id(env);

    if (x->request_id == 0 || x->answered)
        return false;
    if (ts_envelope_type(env) == TS_MSG_RESPONSE)
        return corr == x->request_id;
    /* With one request in flight, an Error without a correlation id (a
     * message the server could not even decode) refers to it. */
    return ts_envelope_type(env) == TS_MSG_ERROR && (corr == x->request_id || corr == 0);
}

/* Anything else the server sends while we wait goes to stderr. */
static void show_other(const ts_envelope *env)
{
    const uint8_t *payload;
    size_t len;
    char text[512];

    payload = ts_envelope_payload(env, &len);
    if (ts_envelope_type(env) == TS_MSG_ERROR) {
        client_error_text(payload, len, text, sizeof(text));
        cli_error(CLIENT_PROGRAM, "server error about message %llu: %s",
                  (unsigned long long)ts_envelope_correlation_id(env), text);
        return;
    }
    client_error_text(payload, len, text, sizeof(text));
    if (ts_envelope_type(env) == TS_MSG_NOTICE)
        cli_error(CLIENT_PROGRAM, "notice from the server: %s", text);
    else
        cli_error(CLIENT_PROGRAM, "%s from the server: %s",
                  ts_msg_type_name(ts_envelope_type(env)), text);
}

static int on_message(void *arg, const struct client_message *msg)
{
    struct exchange *x = arg;
    int rc;

    if (!is_answer(x, msg->env)) {
        show_other(msg->env);
        return TS_OK;
    }
    if ((rc = ts_envelope_clone(msg->env, &x->answer->env)) != TS_OK)
        return rc;
    x->answer->verify = msg->verify;
    x->answer->verified = msg->signature_ok;
    x->answered = true;
    return TS_OK;
}

static void format_seconds(uint64_t ms, char *out, size_t cap)
{
    snprintf(out, cap, "%g s", (double)ms / MS_PER_SECOND);
}

static int report_key_mismatch(const struct exchange *x, const client_conn *c)
{
    char line[1024];

    if (x->known_mismatch) {
        known_servers_mismatch_message(line, sizeof(line), CLIENT_PROGRAM,
                                       x->t->hostport, x->expected,
                                       client_conn_server_fingerprint(c));
        cli_error(CLIENT_PROGRAM, "%s", line);
    } else {
        cli_error(CLIENT_PROGRAM,
                  "server key mismatch for %s: expected %s (--server-key), got %s; not "
                  "connecting. If the server's key really changed, confirm the new "
                  "fingerprint with its operator and pass it with --server-key",
                  x->t->hostport, x->t->server_key, client_conn_server_fingerprint(c));
    }
    return EXIT_KEY_MISMATCH;
}

/* Reasons for a server CLOSE that mean the exchange itself went wrong. */
static int closed_status(const client_conn *c)
{
    switch (client_conn_peer_reason(c, NULL)) {
    case TS_REASON_NONE:
    case TS_REASON_PROTOCOL_ERROR:
    case TS_REASON_DECRYPT_FAILED:
    case TS_REASON_HANDSHAKE_TIMEOUT:
    case TS_REASON_IDENTITY_REJECTED:
    case TS_REASON_NONCE_EXHAUSTED:
        return EXIT_PROTOCOL;
    default:
        return EXIT_FAILURE_GENERIC;
    }
}

static int report_failure(const struct exchange *x, const client_conn *c, int rc)
{
    char detail[ERROR_DETAIL_MAX], secs[32];

    snprintf(detail, sizeof(detail), "%s", ts_error_detail(rc));
    if (x->local_rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot check the server key: %s", x->local_text);
        return EXIT_LOCAL_STATE;
    }
    switch (rc) {
    case TS_ERR_CONNECT:
        cli_error(CLIENT_PROGRAM, "%s%s", detail,
                  client_conn_os_error(c) == ECONNREFUSED ? " — is tcp_server running?"
                                                          : "");
        return EXIT_NOT_RUNNING;
    case TS_ERR_TIMEOUT:
        format_seconds(x->t->timeout_ms, secs, sizeof(secs));
        cli_error(CLIENT_PROGRAM, "%s (gave up after %s; see --timeout)", detail, secs);
        return EXIT_TIMEOUT;
    case TS_ERR_REJECTED:
        cli_error(CLIENT_PROGRAM, "%s", detail);
        return EXIT_REFUSED;
    case TS_ERR_KEY_MISMATCH:
        return report_key_mismatch(x, c);
    case TS_ERR_CLOSED:
        cli_error(CLIENT_PROGRAM, "%s", detail);
        return closed_status(c);
    case TS_ERR_NOMEM:
        cli_error(CLIENT_PROGRAM, "%s", detail);
        return EXIT_FAILURE_GENERIC;
    default:
        cli_error(CLIENT_PROGRAM, "%s", detail);
        return EXIT_PROTOCOL;
    }
}

/* First use: remember the key the handshake proved. Another run may have
 * recorded a different one meanwhile, which is a mismatch like any other;
 * a file that cannot be written only costs the record. */
static int record_server(struct exchange *x, const client_conn *c)
{
    const char *fp = client_conn_server_fingerprint(c);
    int rc = known_servers_add(x->known_path, x->t->hostport, fp);

    if (rc == TS_ERR_KEY_MISMATCH) {
        x->known_mismatch = known_servers_lookup(x->known_path, x->t->hostport,
                                                 x->expected) == TS_OK;
        if (x->known_mismatch)
            return report_key_mismatch(x, c);
    }
    if (rc == TS_ERR_EXISTS)
        return EXIT_OK; /* another run recorded the same key first */
    if (rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "warning: cannot record the server key: %s",
                  ts_error_detail(rc));
        return EXIT_OK;
    }
    fprintf(stderr, "%s: added %s (%s) to known servers\n", CLIENT_PROGRAM,
            x->t->hostport, fp);
    return EXIT_OK;
}

static int request_build(const struct exchange *x, const ts_identity *id, bool sign,
                         ts_envelope **out)
{
    char fp[TS_FINGERPRINT_MAX];
    ts_envelope *env = NULL;
    int rc;

    ts_identity_fingerprint(id, fp);
    if ((rc = ts_envelope_new(&env, TS_MSG_REQUEST)) == TS_OK &&
        (rc = ts_envelope_set_sender(env, fp)) == TS_OK &&
        (rc = ts_envelope_set_content_type(env, CLIENT_CONTENT_TYPE)) == TS_OK &&
        (rc = ts_envelope_set_payload(env, x->t->message, strlen(x->t->message))) == TS_OK) {
        ts_envelope_set_id(env, x->request_id);
        ts_envelope_set_timestamp(env, clock_wall_ms());
        rc = ts_envelope_seal(env, sign ? id : NULL);
    }
    if (rc != TS_OK) {
        ts_envelope_free(env);
        cli_error(CLIENT_PROGRAM, "cannot build the request: %s", ts_error_detail(rc));
        return rc == TS_ERR_TOO_LARGE ? EXIT_USAGE : EXIT_FAILURE_GENERIC;
    }
    *out = env;
    return EXIT_OK;
}

static int request_send(struct exchange *x, client_conn *c, const char *dir,
                        const ts_identity *id, bool sign)
{
    char *seq_path = client_state_path(dir, SEQUENCE_FILE);
    ts_envelope *env = NULL;
    uint64_t rid = 0;
    int rc, status = EXIT_LOCAL_STATE;

    if (seq_path == NULL)
        return EXIT_LOCAL_STATE;
    if ((rc = sequence_next(seq_path, &rid)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot take a message id: %s", ts_error_detail(rc));
        goto done;
    }
    x->request_id = rid;
    if ((status = request_build(x, id, sign, &env)) != EXIT_OK)
        goto done;
    if ((rc = client_conn_send(c, env)) != TS_OK)
        status = report_failure(x, c, rc);
done:
    ts_envelope_free(env);
    free(seq_path);
    return status;
}

static int answer_wait(struct exchange *x, client_conn *c, uint64_t deadline)
{
    int rc;

    while (!x->answered) {
        if ((rc = client_conn_pump(c, deadline)) != TS_OK)
            return report_failure(x, c, rc);
    }
    snprintf(x->answer->server_key, sizeof(x->answer->server_key), "%s",
             client_conn_server_fingerprint(c));
    return EXIT_OK;
}

static int exchange_run(struct exchange *x, client_conn *c, const char *dir,
                        const ts_identity *id, bool sign)
{
    uint64_t deadline = clock_mono_ms() + x->t->timeout_ms;
    int rc, status;

    if ((rc = client_conn_open(c, x->t->host, x->t->port, deadline)) != TS_OK)
        return report_failure(x, c, rc);
    status = x->first_use ? record_server(x, c) : EXIT_OK;
    if (status == EXIT_OK)
        status = request_send(x, c, dir, id, sign);
    if (status == EXIT_OK)
        status = answer_wait(x, c, deadline);
    /* Tell the server why we leave (when the connection still stands); a
     * slow goodbye is not a failure. */
    client_conn_close(c, TS_REASON_CLIENT_EXIT, NULL, deadline);
    return status;
}

int client_exchange(const struct client_target *t, const char *dir,
                    const ts_identity *id, bool sign, struct client_answer *answer)
{
    struct exchange x = {.t = t, .answer = answer};
    struct client_conn_config cfg = {.identity = id, .server_fingerprint = t->server_key};
    struct client_conn_callbacks cb = {
        .arg = &x, .check_server = check_server, .on_message = on_message,
    };
    tls_client_ctx *tls = NULL;
    client_conn *c = NULL;
    int rc, status = EXIT_LOCAL_STATE;

    memset(answer, 0, sizeof(*answer));
    if ((x.known_path = client_state_path(dir, KNOWN_SERVERS_FILE)) == NULL)
        return EXIT_LOCAL_STATE;
    /* A file that does not load is the command line's fault (status 2). */
    if ((rc = client_tls_context(&t->tls, &tls)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "%s", ts_error_detail(rc));
        status = rc == TS_ERR_NOMEM ? EXIT_FAILURE_GENERIC : EXIT_USAGE;
        goto done;
    }
    cfg.tls = tls;
    if ((rc = client_conn_new(&c, &cfg, &cb)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot set up the connection: %s", ts_error_detail(rc));
        status = EXIT_FAILURE_GENERIC;
        goto done;
    }
    status = exchange_run(&x, c, dir, id, sign);
done:
    if (status != EXIT_OK)
        client_answer_free(answer);
    client_conn_free(c);
    tls_client_ctx_free(tls);
    free(x.known_path);
    return status;
}

void client_answer_free(struct client_answer *a)
{
    ts_envelope_free(a->env);
    memset(a, 0, sizeof(*a));
}
