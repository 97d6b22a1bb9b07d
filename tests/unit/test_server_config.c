/*
 * tcp_server's configuration: defaults, the INI file, flags over the file,
 * and the one-line errors an operator sees.
 */
#include "support.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The parser belongs to the tcp_server program, which the tests do not
 * link: compile it, and the CLI helpers it calls, into this test. */
#include "cli/cli_common.c"
#include "cli/server_config.c"
#include "cli/server_flags.c"

#define ERR_CAP SERVER_CONFIG_ERR_MAX

struct fixture {
    char *dir;
    char ini[512];
    char err[ERR_CAP];
    struct server_flags fl;
    struct server_config sc;
    bool loaded;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->dir = test_tmpdir();
    snprintf(f->ini, sizeof(f->ini), "%s/server.ini", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->loaded)
        server_config_free(&f->sc);
    server_flags_free(&f->fl);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Parse argv (a NULL-terminated list after the command name) and load. */
static int load(struct fixture *f, const char *const *args)
{
    char *argv[32] = {"start"};
    int argc = 1, rc;

    for (; args != NULL && args[argc - 1] != NULL; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    server_flags_free(&f->fl);
    if (f->loaded)
        server_config_free(&f->sc);
    f->loaded = false;
    f->err[0] = '\0';
    rc = server_flags_parse(&f->fl, argc, argv, f->err, sizeof(f->err));
    if (rc != 0)
        return rc;
    rc = server_config_load(&f->sc, &f->fl, f->err, sizeof(f->err));
    f->loaded = rc == 0;
    return rc;
}

/* Load the fixture's file with extra flags; expect failure with msg. */
static void expect_file_error(struct fixture *f, const char *text, const char *msg)
{
    const char *args[] = {"-c", f->ini, NULL};
    char want[ERR_CAP];

    write_file(f->ini, text);
    assert_int_equal(load(f, args), -1);
    snprintf(want, sizeof(want), "%s:%s", f->ini, msg);
    assert_string_equal(f->err, want);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->sc.cfg.host, "localhost");
    assert_int_equal(f->sc.cfg.port, 8080);
    assert_int_equal(f->sc.cfg.max_clients, 10000);
    assert_int_equal(f->sc.cfg.max_message, 1024 * 1024);
    assert_int_equal(f->sc.cfg.handler, TS_HANDLER_ECHO);
    assert_null(f->sc.state_dir);
    assert_null(f->sc.log_file);
    assert_false(f->sc.daemon);
    assert_int_equal(f->sc.log_level, TS_LOG_INFO);
    assert_int_equal(f->sc.log_level_source, SOURCE_DEFAULT);
    assert_null(f->fl.config_path);
}

static void test_every_section(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"--config", f->ini, NULL};
    char want[600];

    write_file(f->ini,
               "; comment\n"
               "# another\n"
               "[server]\n"
               "host = 127.0.0.1\n"
               "port = 9000\n"
               "state_dir = state   ; relative to this file\n"
               "workers = 3\n"
               "log_level = debug\n"
               "log_file = /var/tmp/x.log\n"
               "daemon = yes\n"
               "[limits]\n"
               "max_clients = 50\n"
               "max_per_address = 4\n"
               "connect_rate = 10\n"
               "handshake_timeout = 2.5s\n"
               "heartbeat = 250ms\n"
               "idle_timeout = 2m\n"
               "max_message = 64KiB\n"
               "message_rate = 100\n"
               "message_burst = 20\n"
               "byte_rate = 1MiB\n"
               "byte_burst = 2m\n"
               "max_output = 4MiB\n"
               "[messages]\n"
               "handler = ack\n"
               "sign_responses = on\n"
               "timestamp_skew = 0\n"
               "[channel]\n"
               "rekey_after_messages = 5000\n"
               "rekey_after = 1h\n");
    assert_int_equal(load(f, args), 0);
    assert_string_equal(f->sc.cfg.host, "127.0.0.1");
    assert_int_equal(f->sc.cfg.port, 9000);
    snprintf(want, sizeof(want), "%s/state", f->dir);
    assert_string_equal(f->sc.state_dir, want);
    assert_int_equal(f->sc.cfg.workers, 3);
    assert_int_equal(f->sc.log_level, TS_LOG_DEBUG);
    assert_int_equal(f->sc.log_level_source, SOURCE_FILE);
    assert_string_equal(f->sc.log_file, "/var/tmp/x.log");
    assert_true(f->sc.daemon);
    assert_int_equal(f->sc.cfg.max_clients, 50);
    assert_int_equal(f->sc.cfg.max_per_address, 4);
    assert_int_equal(f->sc.cfg.connect_rate, 10);
    assert_int_equal(f->sc.cfg.handshake_timeout_ms, 2500);
    assert_int_equal(f->sc.cfg.heartbeat_ms, 250);
    assert_int_equal(f->sc.cfg.idle_timeout_ms, 120000);
    assert_int_equal(f->sc.cfg.max_message, 65536);
    assert_int_equal(f->sc.cfg.message_rate, 100);
    assert_int_equal(f->sc.cfg.message_burst, 20);
    assert_int_equal(f->sc.cfg.byte_rate, 1048576);
    assert_int_equal(f->sc.cfg.byte_burst, 2097152);
    assert_int_equal(f->sc.cfg.max_output, 4194304);
    assert_int_equal(f->sc.cfg.handler, TS_HANDLER_ACK);
    assert_true(f->sc.cfg.sign_responses);
    assert_int_equal(f->sc.cfg.timestamp_skew_ms, 0);
    assert_int_equal(f->sc.cfg.rekey_after_frames, 5000);
    assert_int_equal(f->sc.cfg.rekey_after_ms, 3600000);
}

static void test_flags_win_over_file(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"-p", "9001", "-c", f->ini, "--log-level", "trace",
                          "--max-clients=7", "--sign-responses=no", "-H", "::1",
                          "--idle-timeout", "0", NULL};

    write_file(f->ini, "[server]\nport = 9000\nlog_level = error\nhost = 0.0.0.0\n"
                       "[limits]\nmax_clients = 50\nidle_timeout = 1m\n"
                       "[messages]\nsign_responses = yes\n");
    assert_int_equal(load(f, args), 0);
    assert_int_equal(f->sc.cfg.port, 9001);
    assert_int_equal(f->sc.log_level, TS_LOG_TRACE);
    assert_int_equal(f->sc.log_level_source, SOURCE_FLAG);
    assert_int_equal(f->sc.cfg.max_clients, 7);
    assert_false(f->sc.cfg.sign_responses);
    assert_string_equal(f->sc.cfg.host, "::1");
    assert_int_equal(f->sc.cfg.idle_timeout_ms, 0);
}

/* A reload reads the file again and applies the same flags again. */
static void test_reload_keeps_flags(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"-c", f->ini, "--max-clients", "7", NULL};
    struct server_config again;

    write_file(f->ini, "[limits]\nmax_clients = 50\nmax_per_address = 2\n");
    assert_int_equal(load(f, args), 0);
    write_file(f->ini, "[limits]\nmax_clients = 60\nmax_per_address = 3\n");
    assert_int_equal(server_config_load(&again, &f->fl, f->err, sizeof(f->err)), 0);
    assert_int_equal(again.cfg.max_clients, 7);
    assert_int_equal(again.cfg.max_per_address, 3);
    server_config_free(&again);
}

static void test_bool_flags(void **state)
{
    struct fixture *f = *state;
    const char *on[] = {"-d", "--sign-responses", "--syslog=yes", NULL};
    const char *off[] = {"--daemon=no", "--sign-responses=off", NULL};
    const char *bad[] = {"--daemon=maybe", NULL};

    assert_int_equal(load(f, on), 0);
    assert_true(f->sc.daemon);
    assert_true(f->sc.cfg.sign_responses);
    assert_true(f->sc.syslog);
    assert_int_equal(load(f, off), 0);
    assert_false(f->sc.daemon);
    assert_false(f->sc.cfg.sign_responses);
    assert_int_equal(load(f, bad), -1);
    assert_string_equal(f->err, "bad value 'maybe' for --daemon: expected yes or no");
}

static void test_unknown_setting(void **state)
{
    expect_file_error(*state, "[server]\nport = 1\nprot = 2\n",
                      "3: unknown setting 'prot' in [server]");
}

static void test_unknown_section(void **state)
{
    expect_file_error(*state, "[server]\n\n[mqtt]\nport = 1883\n", "4: unknown section [mqtt]");
}

static void test_setting_outside_section(void **state)
{
    expect_file_error(*state, "port = 1\n", "1: setting 'port' outside any section");
}

static void test_bad_values(void **state)
{
    struct fixture *f = *state;

    expect_file_error(f, "[server]\nport = abc\n",
                      "2: bad value 'abc' for port in [server]: "
                      "expected a port number (0-65535)");
    expect_file_error(f, "[server]\nport = 65536\n",
                      "2: bad value '65536' for port in [server]: "
                      "expected a port number (0-65535)");
    expect_file_error(f, "[limits]\nidle_timeout = soon\n",
                      "2: bad value 'soon' for idle_timeout in [limits]: expected a "
                      "duration such as 10s, 250ms, 2m or 1h (at most 49 days)");
    expect_file_error(f, "[limits]\nmax_message = -1\n",
                      "2: bad value '-1' for max_message in [limits]: "
                      "expected a size such as 65536, 64KiB or 1MiB");
    expect_file_error(f, "[messages]\nhandler = shout\n",
                      "2: bad value 'shout' for handler in [messages]: expected echo or ack");
    expect_file_error(f, "[server]\nlog_level = loud\n",
                      "2: bad value 'loud' for log_level in [server]: "
                      "expected error, warn, info, debug or trace");
    expect_file_error(f, "[server]\nhost =\n",
                      "2: bad value '' for host in [server]: "
                      "expected a host name or address");
}

/* The first error is the one reported, whatever kind it is. */
static void test_first_error_wins(void **state)
{
    struct fixture *f = *state;

    expect_file_error(f, "[server]\nthis line has no equals sign\nprot = 1\n",
                      "2: syntax error (expected 'name = value' or '[section]')");
    expect_file_error(f, "[server]\nprot = 1\nno equals\n",
                      "2: unknown setting 'prot' in [server]");
}

static void test_long_line(void **state)
{
    struct fixture *f = *state;
    char text[1024];

    /* inih reads at most 200 bytes a line; the rest must not become a
     * line of its own. */
    snprintf(text, sizeof(text), "[server]\nlog_file = /%0400d\nport = 1\n", 0);
    expect_file_error(f, text, "2: line longer than 199 characters");
}

static void test_missing_file(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"-c", "/nonexistent/server.ini", NULL};

    assert_int_equal(load(f, args), -1);
    assert_string_equal(f->err, "cannot read config file /nonexistent/server.ini: "
                                "No such file or directory");
}

static void test_bad_flags(void **state)
{
    struct fixture *f = *state;
    const char *range[] = {"--port", "70000", NULL};
    const char *unknown[] = {"--prot", "1", NULL};
    const char *missing[] = {"--port", NULL};
    const char *extra[] = {"now", NULL};

    assert_int_equal(load(f, range), -1);
    assert_string_equal(f->err, "bad value '70000' for --port: "
                                "expected a port number (0-65535)");
    assert_int_equal(load(f, unknown), -1);
    assert_string_equal(f->err, "unknown option '--prot' (try --help)");
    assert_int_equal(load(f, missing), -1);
    assert_string_equal(f->err, "option '--port' needs a value (try --help)");
    assert_int_equal(load(f, extra), -1);
    assert_string_equal(f->err, "unexpected argument 'now' (try --help)");
}

/* Values that parse but that the library refuses are reported too. */
static void test_library_check(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"--max-message", "4MiB", "--max-output", "4MiB", NULL};
    const char *logs[] = {"--syslog", "--log-file", "x.log", NULL};
    const char *burst[] = {"--byte-rate", "1KiB", "--byte-burst", "4KiB", "--max-message",
                           "64KiB", NULL};

    assert_int_equal(load(f, args), -1);
    assert_non_null(strstr(f->err, "invalid configuration: max_output"));
    assert_int_equal(load(f, burst), -1);
    assert_string_equal(f->err, "invalid configuration: byte_burst (4096) must be at least "
                                "max_message (65536): a larger message could never pass the "
                                "byte rate limit");
    assert_int_equal(load(f, logs), -1);
    assert_string_equal(f->err,
                        "invalid configuration: log_file and syslog cannot both be set");
}

static void test_relative_flag_paths(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"--state-dir", "here", "--log-file", "", NULL};
    char cwd[PATH_MAX], want[PATH_MAX + 8];

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(load(f, args), 0);
    snprintf(want, sizeof(want), "%s/here", cwd);
    assert_string_equal(f->sc.state_dir, want);
    assert_null(f->sc.log_file);
}

static void test_example_file_parses(void **state)
{
    struct fixture *f = *state;
    const char *args[] = {"-c", TS_SOURCE_DIR "/examples/tcp_server.ini", NULL};

    assert_int_equal(load(f, args), 0);
    assert_int_equal(f->sc.cfg.port, 8080);
    assert_string_equal(f->sc.cfg.host, "localhost");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_win_over_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setting_outside_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_error_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_library_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_flag_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file_parses, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
