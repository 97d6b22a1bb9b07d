#include "report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_parts.h"

/* The percentiles every latency line and object carries. */
static const struct {
    const char *label;
    const char *key;
    double p;
} percentiles[] = {
    {"p50", "p50", 50.0},
    {"p90", "p90", 90.0},
    {"p99", "p99", 99.0},
    {"p99.9", "p999", 99.9},
};

#define N_PERCENTILES (sizeof(percentiles) / sizeof(percentiles[0]))
/* Enough digits for microseconds and rates, without binary noise. */
#define REPORT_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

double report_per_second(uint64_t n, double seconds)
{
    return seconds > 0.0 ? (double)n / seconds : 0.0;
}

static bool is_chat(const struct bench_options *opt)
{
    return opt->scenario == &scenario_chat || opt->scenario == &scenario_fanout;
}

static void summarize(const struct bench_run *run, struct summary *out)
{
    const struct bench_options *opt = run->opt;

    memset(out, 0, sizeof(*out));
    out->run = run;
    out->opt = opt;
    out->s = &run->total;
    out->window_s = (double)run->window_us / 1e6;
    out->established = atomic_load(&run->opened);
    out->dropped = atomic_load(&run->dropped);
    out->open_failed = atomic_load(&run->open_failed);
    if (opt->scenario == &scenario_reqresp) {
        out->rate_unit = "requests/s";
        out->rate = report_per_second(out->s->responses, out->window_s);
        out->latency = &out->s->latency;
    } else if (opt->scenario == &scenario_connect) {
        out->rate_unit = "handshakes/s";
        out->rate = report_per_second(out->s->handshakes, out->window_s);
        out->latency = &out->s->handshake;
        out->request_latency = opt->request ? &out->s->latency : NULL;
    } else if (opt->scenario == &scenario_chat) {
        out->rate_unit = "messages/s";
        out->rate = report_per_second(out->s->responses, out->window_s);
        out->latency = &out->s->latency;
    } else if (opt->scenario == &scenario_fanout) {
        out->rate_unit = "deliveries/s";
        out->rate = report_per_second(out->s->deliveries, out->window_s);
        out->latency = &out->s->delivery;
    } else {
        out->rate_unit = "connections/s";
        out->rate = report_per_second(out->established, (double)run->open_phase_us / 1e6);
        out->latency = &out->s->handshake;
    }
}

/* ---- text ---- */

static void format_us(uint64_t us, char *out, size_t cap)
{
    if (us < 1000)
        snprintf(out, cap, "%" PRIu64 " us", us);
    else if (us < 1000000)
        snprintf(out, cap, "%.2f ms", (double)us / 1e3);
    else
        snprintf(out, cap, "%.2f s", (double)us / 1e6);
}

void report_text_latency(const char *label, const struct histogram *h)
{
    char v[32];

    printf("%-18s", label);
    if (h->total == 0) {
        printf("no samples\n");
        return;
    }
    for (size_t i = 0; i < N_PERCENTILES; i++) {
        format_us(histogram_percentile(h, percentiles[i].p), v, sizeof(v));
        printf("%s %s  ", percentiles[i].label, v);
    }
    format_us(h->max, v, sizeof(v));
    printf("max %s  ", v);
    format_us((uint64_t)(histogram_mean(h) + 0.5), v, sizeof(v));
    printf("mean %s  (%" PRIu64 " samples)\n", v, h->total);
}

static void text_header(const struct summary *sm)
{
    const struct bench_options *opt = sm->opt;

    printf("%s %s: %s%s, %u connections, %u thread%s", BENCH_PROGRAM, opt->scenario->name,
           opt->addr_text, opt->tls.enabled ? " over TLS" : "", opt->connections, opt->threads,
           opt->threads == 1 ? "" : "s");
    if (opt->scenario->accepts & OPT_PAYLOAD && opt->window > 0)
        printf(", payload %zu B%s", opt->payload, opt->sign ? " signed" : "");
    if (opt->scenario == &scenario_fanout)
        printf(", %u sender%s", opt->senders, opt->senders == 1 ? "" : "s");
    if (opt->scenario == &scenario_reqresp && (opt->given & OPT_RATE))
        printf(", open loop at %" PRIu64 " requests/s", opt->rate);
    else if (opt->scenario->accepts & OPT_PIPELINE)
        printf(", pipeline %u", opt->pipeline);
    if (opt->scenario == &scenario_idle)
        printf(", held %.2f s\n", sm->window_s);
    else
        printf(", %.2f s measured after %.2f s warmup\n", sm->window_s,
               (double)opt->warmup_ms / 1e3);
    if (sm->run->interrupted)
        printf("interrupted: the figures cover the time until the signal\n");
}

static void text_body(const struct summary *sm)
{
    const struct bench_stats *s = sm->s;
    const struct bench_run *run = sm->run;

    if (is_chat(sm->opt)) {
        report_chat_text(sm);
    } else if (sm->opt->scenario == &scenario_reqresp) {
        printf("%-18s%" PRIu64 " sent, %" PRIu64 " answered: %.1f requests/s\n", "requests",
               s->requests, s->responses, sm->rate);
        printf("%-18s%.2f MB/s payload, %.2f MB/s on the wire\n", "throughput",
               report_per_second(s->payload_bytes, sm->window_s) / MB,
               report_per_second(s->wire_bytes, sm->window_s) / MB);
        report_text_latency("latency", sm->latency);
        if (sm->opt->given & OPT_RATE)
            report_text_latency("send lag", &s->send_lag);
    } else if (sm->opt->scenario == &scenario_connect) {
        printf("%-18s%" PRIu64 " completed: %.1f handshakes/s (%" PRIu64 " attempts in all)\n",
               "handshakes", s->handshakes, sm->rate, s->attempts);
        report_text_latency("handshake latency", sm->latency);
        if (sm->request_latency != NULL)
            report_text_latency("request latency", sm->request_latency);
    } else {
        printf("%-18s%u of %u established in %.2f s (%.1f connections/s); %u still open "
               "at the end, %u dropped\n",
               "connections", sm->established, sm->opt->connections,
               (double)run->open_phase_us / 1e6, sm->rate,
               sm->established >= sm->dropped ? sm->established - sm->dropped : 0,
               sm->dropped);
        report_text_latency("handshake latency", sm->latency);
    }
}

static double rss_growth_bytes(const struct summary *sm)
{
    const struct bench_rss *r = &sm->run->rss;

    if (sm->established == 0)
        return 0.0;
    return ((double)r->after_kib - (double)r->before_kib) * 1024.0 / sm->established;
}

static void text_tail(const struct summary *sm)
{
    const struct bench_rss *r = &sm->run->rss;
    const struct tally *e = &sm->s->errors;

    if (r->measured)
        printf("%-18sbefore %" PRIu64 " KiB, all established %" PRIu64 " KiB, end %" PRIu64
               " KiB: %.0f bytes per connection\n",
               "server rss", r->before_kib, r->after_kib, r->end_kib, rss_growth_bytes(sm));
    printf("%-18s%" PRIu64, "errors", e->total);
    for (size_t i = 0; i < e->n; i++)
        printf("%s%s %" PRIu64, i == 0 ? ": " : ", ", e->entries[i].name, e->entries[i].count);
    printf("\n");
    if (e->total > 0 && sm->run->first_error[0] != '\0')
        printf("%-18s%s\n", "first error", sm->run->first_error);
}

/* ---- JSON ---- */

json_t *report_json_latency(const struct histogram *h)
{
    json_t *o = json_object();

    for (size_t i = 0; i < N_PERCENTILES; i++)
        json_object_set_new(o, percentiles[i].key,
                            json_integer((json_int_t)histogram_percentile(h, percentiles[i].p)));
    json_object_set_new(o, "max", json_integer((json_int_t)h->max));
    json_object_set_new(o, "mean", json_real(histogram_mean(h)));
    json_object_set_new(o, "samples", json_integer((json_int_t)h->total));
    return o;
}

static json_t *json_parameters(const struct bench_options *opt)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:f}", "host", opt->host, "port",
                          (int)opt->port, "connections", (int)opt->connections, "threads",
                          (int)opt->threads, "duration_s", (double)opt->duration_ms / 1e3);

    if (o == NULL)
        return NULL;
    if (opt->scenario->accepts & OPT_WARMUP)
        json_object_set_new(o, "warmup_s", json_real((double)opt->warmup_ms / 1e3));
    if (opt->window > 0) {
        json_object_set_new(o, "payload", json_integer((json_int_t)opt->payload));
        json_object_set_new(o, "sign", json_boolean(opt->sign));
    }
    if ((opt->scenario->accepts & OPT_PIPELINE) && !(opt->given & OPT_RATE))
        json_object_set_new(o, "pipeline", json_integer(opt->pipeline));
    if (opt->scenario == &scenario_fanout) {
        json_object_set_new(o, "senders", json_integer(opt->senders));
        json_object_set_new(o, "slow", json_integer(opt->slow));
    }
    json_object_set_new(o, "tls", json_boolean(opt->tls.enabled));
    if (opt->given & OPT_RATE)
        json_object_set_new(o, "rate", json_integer((json_int_t)opt->rate));
    if (opt->scenario == &scenario_connect)
        json_object_set_new(o, "request", json_boolean(opt->request));
    if (opt->server_key != NULL)
        json_object_set_new(o, "server_key", json_string(opt->server_key));
    if (opt->server_pid != 0)
        json_object_set_new(o, "server_pid", json_integer(opt->server_pid));
    return o;
}

static json_t *json_counts(const struct summary *sm)
{
    const struct bench_stats *s = sm->s;
    json_t *o = json_object();

    if (is_chat(sm->opt)) {
        json_object_set_new(o, "sent", json_integer((json_int_t)s->requests));
        json_object_set_new(o, "acked", json_integer((json_int_t)s->responses));
        json_object_set_new(o, "deliveries", json_integer((json_int_t)s->deliveries));
    } else if (sm->opt->window > 0) {
        json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
        json_object_set_new(o, "responses", json_integer((json_int_t)s->responses));
    }
    json_object_set_new(o, "handshakes", json_integer((json_int_t)s->handshakes));
    json_object_set_new(o, "attempts", json_integer((json_int_t)s->attempts));
    if (sm->opt->scenario != &scenario_connect) {
        json_object_set_new(o, "established", json_integer(sm->established));
        json_object_set_new(o, "open_failed", json_integer(sm->open_failed));
        json_object_set_new(o, "dropped", json_integer(sm->dropped));
    }
    return o;
}

static json_t *json_errors(const struct summary *sm)
{
    const struct tally *e = &sm->s->errors;
    json_t *by = json_object();
    json_t *o = json_pack("{s:I, s:o}", "total", (json_int_t)e->total, "by_reason", by);

    for (size_t i = 0; i < e->n; i++)
        json_object_set_new(by, e->entries[i].name, json_integer((json_int_t)e->entries[i].count));
    if (o != NULL && e->total > 0 && sm->run->first_error[0] != '\0')
        json_object_set_new(o, "first", json_string(sm->run->first_error));
    return o;
}

static json_t *json_rss(const struct summary *sm)
{
    const struct bench_rss *r = &sm->run->rss;

    return json_pack("{s:I, s:I, s:I, s:f}", "before_kib", (json_int_t)r->before_kib,
                     "after_kib", (json_int_t)r->after_kib, "end_kib", (json_int_t)r->end_kib,
                     "growth_per_connection_bytes", rss_growth_bytes(sm));
}

static json_t *json_report(const struct summary *sm)
{
    const struct bench_stats *s = sm->s;
    json_t *o = json_object();

    json_object_set_new(o, "scenario", json_string(sm->opt->scenario->name));
    json_object_set_new(o, "parameters", json_parameters(sm->opt));
    json_object_set_new(o, "interrupted", json_boolean(sm->run->interrupted));
    json_object_set_new(o, "window_s", json_real(sm->window_s));
    json_object_set_new(o, "counts", json_counts(sm));
    json_object_set_new(o, "rate", json_real(sm->rate));
    json_object_set_new(o, "rate_unit", json_string(sm->rate_unit));
    if (sm->opt->scenario == &scenario_reqresp) {
        json_object_set_new(o, "mb_per_s", json_real(report_per_second(s->payload_bytes, sm->window_s) / MB));
        json_object_set_new(o, "wire_mb_per_s",
                            json_real(report_per_second(s->wire_bytes, sm->window_s) / MB));
    }
    if (sm->opt->scenario == &scenario_idle)
        json_object_set_new(o, "open_s", json_real((double)sm->run->open_phase_us / 1e6));
    json_object_set_new(o, "latency_us", report_json_latency(sm->latency));
    if (is_chat(sm->opt))
        report_chat_json(sm, o);
    if (sm->opt->scenario == &scenario_reqresp && (sm->opt->given & OPT_RATE))
        json_object_set_new(o, "send_lag_us", report_json_latency(&s->send_lag));
    if (sm->request_latency != NULL)
        json_object_set_new(o, "request_latency_us", report_json_latency(sm->request_latency));
    json_object_set_new(o, "errors", json_errors(sm));
    if (sm->run->rss.measured)
        json_object_set_new(o, "rss", json_rss(sm));
    return o;
}

int report_print(struct bench_run *run)
{
    struct summary sm;

    tally_sort(&run->total.errors);
    summarize(run, &sm);
    if (run->opt->json) {
        json_t *o = json_report(&sm);
        char *text = o != NULL ? json_dumps(o, REPORT_JSON_FLAGS) : NULL;

        json_decref(o);
        if (text == NULL) {
            bench_error("out of memory for the JSON report");
            return -1;
        }
        printf("%s\n", text);
        free(text);
    } else {
        text_header(&sm);
        text_body(&sm);
        text_tail(&sm);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        bench_error("cannot write the report to standard output");
        return -1;
    }
    return 0;
}
