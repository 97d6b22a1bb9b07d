/*
 * tcp_bench: the scenario table, the TLS context, the run and its exit
 * status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tcpseal/error.h>

#include "bench.h"
#include "cli/cli_common.h"
#include "net/tls.h"
#include "options.h"
#include "proc.h"
#include "report.h"
#include "run.h"

/* Descriptors the program uses besides its connections (epoll, stdio...). */
#define BENCH_SPARE_FDS 64

static const struct scenario *const scenarios[] = {
    &scenario_reqresp, &scenario_connect, &scenario_idle, &scenario_chat, &scenario_fanout,
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

void bench_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", BENCH_PROGRAM);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Load the CA, client certificate and key once, before any connection,
 * so a bad file is a usage error rather than a failure per connection. */
static int tls_open(const struct bench_options *opt, struct tls_client_ctx **out)
{
    const struct bench_tls_options *t = &opt->tls;
    struct tls_client_config cfg = {
        .ca = t->ca,
        .cert_file = t->cert,
        .key_file = t->key,
        .server_name = t->server_name,
        .pin = t->pin,
        .min_version = t->min_version,
    };
    int rc;

    *out = NULL;
    if (!t->enabled)
        return 0;
    if ((rc = tls_client_ctx_new(out, &cfg)) != TS_OK) {
        bench_error("%s", ts_error_detail(rc));
        return -1;
    }
    return 0;
}

/* Nothing got through: tell a server that is not there, one that refused
 * us, one with another key, a TLS failure and a refused set-up command
 * from other causes (cli_common.h codes). */
static int failure_status(const struct bench_run *run)
{
    for (size_t i = 0; i < run->total.errors.n; i++) {
        const char *name = run->total.errors.entries[i].name;

        if (strcmp(name, "connect:ECONNREFUSED") == 0)
            return EXIT_NOT_RUNNING;
        if (strcmp(name, "handshake:key_mismatch") == 0)
            return EXIT_KEY_MISMATCH;
        if (strncmp(name, "rejected:", 9) == 0)
            return EXIT_REFUSED;
        if (strncmp(name, "tls:", 4) == 0)
            return EXIT_PROTOCOL;
        if (strncmp(name, "error:", 6) == 0)
            return EXIT_ERROR_RESPONSE;
    }
    return EXIT_FAILURE_GENERIC;
}

int main(int argc, char **argv)
{
    struct bench_options opt;
    struct bench_run run;
    int status, rc;

    status = bench_options_parse(&opt, argc, argv, scenarios, N_SCENARIOS);
    if (status != EXIT_OK)
        return status < 0 ? EXIT_OK : status;
    memset(&run, 0, sizeof(run));
    run.opt = &opt;
    if (tls_open(&opt, &run.tls) != 0)
        return EXIT_USAGE;
    proc_raise_nofile((uint64_t)opt.connections + BENCH_SPARE_FDS);
    rc = run_execute(&run);
    if (run.threads != NULL && (rc == 0 || atomic_load(&run.opened) > 0))
        rc = report_print(&run) == 0 ? rc : -1;
    else if (run.first_error[0] != '\0')
        bench_error("first error: %s", run.first_error);
    if (rc == 0 && atomic_load(&run.opened) == 0)
        rc = -1;
    status = rc == 0 ? EXIT_OK
             : atomic_load(&run.opened) == 0 ? failure_status(&run)
                                             : EXIT_FAILURE_GENERIC;
    run_free(&run);
    return status;
}
