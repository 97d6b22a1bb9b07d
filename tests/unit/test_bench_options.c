/*
 * The command line of tcp_bench: defaults per scenario, options a
 * scenario does not take, the TLS options and how they go together,
 * values out of range, and the loopback rule.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unit tests link only the library; the options and the command-line
 * helpers they use belong to the programs. */
#include "../../bench/options.c"
#include "../../src/cli/cli_common.c"

#define MAX_ARGS 32

static char last_error[512];
static unsigned check_calls;

void bench_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
}

static int plain_check(struct bench_options *opt)
{
    check_calls++;
    opt->window = opt->pipeline;
    return 0;
}

static const struct scenario plain = {
    .name = "plain",
    .summary = "takes --size and --pipeline",
    .accepts = OPT_PAYLOAD | OPT_PIPELINE,
    .check = plain_check,
};

static const struct scenario crowd = {
    .name = "crowd",
    .summary = "more connections by default, takes --senders and --slow",
    .accepts = OPT_SENDERS | OPT_SLOW,
    .default_connections = 200,
};

static const struct scenario *const table[] = {&plain, &crowd};

/* argv copies: getopt may permute them, and the options point into them. */
static char *args[MAX_ARGS];
static int n_args;

static void args_free(void)
{
    for (int i = 0; i < n_args; i++)
        free(args[i]);
    n_args = 0;
}

/* Parse "tcp_bench" followed by the NULL-terminated words. */
static int parse(struct bench_options *o, const char *first, ...)
{
    va_list ap;
    const char *word;

    args_free();
    last_error[0] = '\0';
    args[n_args++] = strdup("tcp_bench");
    va_start(ap, first);
    for (word = first; word != NULL && n_args < MAX_ARGS - 1; word = va_arg(ap, const char *))
        args[n_args++] = strdup(word);
    va_end(ap);
    args[n_args] = NULL;
    return bench_options_parse(o, n_args, args, table, sizeof(table) / sizeof(table[0]));
}

static int teardown(void **state)
{
    args_free();
    return 0;
}

static void test_defaults(void **state)
{
    struct bench_options o;

    check_calls = 0;
    assert_int_equal(parse(&o, "plain", NULL), EXIT_OK);
    assert_ptr_equal(o.scenario, &plain);
    assert_string_equal(o.host, BENCH_DEFAULT_HOST);
    assert_int_equal(o.port, BENCH_DEFAULT_PORT);
    assert_int_equal(o.connections, BENCH_DEFAULT_CONNECTIONS);
    assert_int_equal(o.duration_ms, BENCH_DEFAULT_DURATION_MS);
    assert_int_equal(o.warmup_ms, BENCH_DEFAULT_WARMUP_MS);
    assert_int_equal(o.payload, BENCH_DEFAULT_PAYLOAD);
    assert_int_equal(o.pipeline, 1);
    assert_int_equal(o.threads, 1);
    assert_false(o.tls.enabled);
    assert_int_equal(o.given, 0);
    /* The scenario completed the options once, and the host resolved. */
    assert_int_equal(check_calls, 1);
    assert_int_equal(o.window, 1);
    assert_string_equal(o.addr_text, "127.0.0.1:8080");

    assert_int_equal(parse(&o, "crowd", NULL), EXIT_OK);
    assert_int_equal(o.connections, 200);
}

static void test_values(void **state)
{
    struct bench_options o;

    assert_int_equal(parse(&o, "plain", "-p", "9000", "-c", "12", "-d", "250ms", "-s", "4k",
                           "--pipeline", "8", "--threads", "3", "--json", NULL),
                     EXIT_OK);
    assert_int_equal(o.port, 9000);
    assert_int_equal(o.connections, 12);
    assert_int_equal(o.duration_ms, 250);
    assert_int_equal(o.payload, 4096);
    assert_int_equal(o.pipeline, 8);
    assert_int_equal(o.threads, 3);
    assert_true(o.json);
    assert_int_equal(o.given, OPT_PAYLOAD | OPT_PIPELINE);
    assert_int_equal(o.window, 8);

    assert_int_equal(parse(&o, "crowd", "--senders", "5", "--slow", "0", NULL), EXIT_OK);
    assert_int_equal(o.senders, 5);
    assert_int_equal(o.slow, 0);
    assert_int_equal(o.given, OPT_SENDERS | OPT_SLOW);
}

static void test_bad_values(void **state)
{
    struct bench_options o;

    assert_int_equal(parse(&o, "plain", "-p", "0", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "--port"));
    assert_int_equal(parse(&o, "plain", "-p", "65536", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-c", "0", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-c", "12x", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-d", "0", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-d", "soon", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-s", "17m", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--pipeline", "0", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--pipeline", "4097", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--threads", "65", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "crowd", "--senders", "0", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--server-key", "SHA256:nope", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "-c", "2", "--threads", "3", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "--threads 3"));
}

static void test_words(void **state)
{
    struct bench_options o;

    assert_int_equal(parse(&o, NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "nosuch", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "unknown scenario 'nosuch'"));
    assert_int_equal(parse(&o, "plain", "--bogus", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "unknown option --bogus"));
    assert_int_equal(parse(&o, "plain", "-x", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "unknown option -x"));
    assert_int_equal(parse(&o, "plain", "-p", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "missing value"));
    assert_int_equal(parse(&o, "plain", "extra", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "unexpected argument 'extra'"));
}

/* An option the scenario does not take is refused, not ignored. */
static void test_scenario_options(void **state)
{
    struct bench_options o;

    assert_int_equal(parse(&o, "crowd", "-s", "64", NULL), EXIT_USAGE);
    assert_string_equal(last_error, "--size does not apply to the crowd scenario");
    assert_int_equal(parse(&o, "plain", "--slow", "1", NULL), EXIT_USAGE);
    assert_string_equal(last_error, "--slow does not apply to the plain scenario");
    assert_int_equal(parse(&o, "plain", "--rate", "10", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--warmup", "1s", NULL), EXIT_USAGE);
}

static void test_tls(void **state)
{
    struct bench_options o;
    const char *pin = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    assert_int_equal(parse(&o, "plain", "--tls", NULL), EXIT_OK);
    assert_true(o.tls.enabled);
    assert_null(o.tls.ca);
    assert_int_equal(o.tls.min_version, 0);

    assert_int_equal(parse(&o, "plain", "--tls", "--ca", "ca.crt", "--cert", "c.crt", "--key",
                           "c.key", "--servername", "localhost", "--pin", pin,
                           "--tls-min-version", "1.2", NULL),
                     EXIT_OK);
    assert_string_equal(o.tls.ca, "ca.crt");
    assert_string_equal(o.tls.cert, "c.crt");
    assert_string_equal(o.tls.key, "c.key");
    assert_string_equal(o.tls.server_name, "localhost");
    assert_string_equal(o.tls.pin, pin);
    assert_int_equal(o.tls.min_version, TLS_VERSION_1_2);

    /* Each TLS setting without --tls would be unused. */
    assert_int_equal(parse(&o, "plain", "--ca", "ca.crt", NULL), EXIT_USAGE);
    assert_string_equal(last_error, "--ca needs --tls");
    assert_int_equal(parse(&o, "plain", "--servername", "x", NULL), EXIT_USAGE);
    assert_string_equal(last_error, "--servername needs --tls");
    assert_int_equal(parse(&o, "plain", "--tls-min-version", "1.3", NULL), EXIT_USAGE);
    assert_string_equal(last_error, "--tls-min-version needs --tls");

    /* A certificate needs its key and a key its certificate. */
    assert_int_equal(parse(&o, "plain", "--tls", "--cert", "c.crt", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "--cert FILE and --key FILE"));
    assert_int_equal(parse(&o, "plain", "--tls", "--key", "c.key", NULL), EXIT_USAGE);

    assert_int_equal(parse(&o, "plain", "--tls", "--pin", "sha256//short", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--tls", "--pin", "md5//AAAA", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--tls", "--tls-min-version", "1.1", NULL), EXIT_USAGE);
    assert_int_equal(parse(&o, "plain", "--tls", "--servername", "", NULL), EXIT_USAGE);
}

static void test_loopback_only(void **state)
{
    struct bench_options o;

    assert_int_equal(parse(&o, "plain", "-H", "192.0.2.1", NULL), EXIT_USAGE);
    assert_non_null(strstr(last_error, "not a loopback address"));
    assert_int_equal(parse(&o, "plain", "-H", "192.0.2.1", "--allow-remote", NULL), EXIT_OK);
    assert_string_equal(o.addr_text, "192.0.2.1:8080");
    assert_int_equal(parse(&o, "plain", "-H", "127.9.9.9", "-p", "7", NULL), EXIT_OK);
    assert_string_equal(o.addr_text, "127.9.9.9:7");
    assert_int_equal(parse(&o, "plain", "-H", "::1", NULL), EXIT_OK);
    assert_string_equal(o.addr_text, "[::1]:8080");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_values, teardown),
        cmocka_unit_test_teardown(test_bad_values, teardown),
        cmocka_unit_test_teardown(test_words, teardown),
        cmocka_unit_test_teardown(test_scenario_options, teardown),
        cmocka_unit_test_teardown(test_tls, teardown),
        cmocka_unit_test_teardown(test_loopback_only, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
