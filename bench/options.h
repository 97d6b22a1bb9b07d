/*
 * The command line of tcp_bench: `tcp_bench SCENARIO [options]`, checked
 * as a whole before anything connects (docs/bench.md lists the options).
 */
#ifndef TS_BENCH_OPTIONS_H
#define TS_BENCH_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "bench.h"

/*
 * Parse argv into o, the scenario chosen by name from the n scenarios of
 * table. Every option is checked: its value, whether the scenario takes
 * it, whether it goes with the others (the TLS options need --tls, --cert
 * needs --key...), then the scenario's own check, then the host is
 * resolved (and refused unless it is a loopback address or
 * --allow-remote was given). Problems are printed with bench_error().
 *
 * Returns EXIT_OK (cli_common.h) when the run may start, EXIT_USAGE for
 * a bad command line, or -1 after printing the help or the version as
 * asked. The strings in o point into argv.
 */
int bench_options_parse(struct bench_options *o, int argc, char **argv,
                        const struct scenario *const *table, size_t n);

/* The help text, listing the n scenarios of table. */
void bench_options_usage(FILE *out, const struct scenario *const *table, size_t n);

#endif /* TS_BENCH_OPTIONS_H */
