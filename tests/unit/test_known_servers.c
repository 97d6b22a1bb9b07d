/*
 * The known-servers file: first-use records, lookups, changed keys,
 * forgetting, comments and damaged lines, file mode, concurrent writers.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "client/known_servers.h"

#define FP_A "SHA256:JPbtasv+EAnAMNfKVnwzykgwkRSYI2tVYabIKr7F3ig"
#define FP_B "SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw"

struct fixture {
    char *dir;
    char path[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->dir = test_tmpdir();
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, KNOWN_SERVERS_FILE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

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

static char *read_file(const char *path)
{
    static char buf[8192];
    FILE *fp = fopen(path, "r");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_missing_file_is_empty(void **state)
{
    struct fixture *f = *state;
    char fp[TS_FINGERPRINT_MAX];

    assert_int_equal(known_servers_check(f->path, "localhost:8080", FP_A, NULL, NULL),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(known_servers_lookup(f->path, "localhost:8080", fp), TS_ERR_NOT_FOUND);
    assert_int_equal(known_servers_forget(f->path, "localhost:8080", NULL),
                     TS_ERR_NOT_FOUND);
}

static void test_add_lookup_and_mode(void **state)
{
    struct fixture *f = *state;
    char fp[TS_FINGERPRINT_MAX];
    struct stat st;

    assert_int_equal(known_servers_add(f->path, "localhost:8080", FP_A), TS_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(known_servers_check(f->path, "localhost:8080", FP_A, NULL, NULL),
                     TS_OK);
    /* Addresses compare without regard to case; ports do matter. */
    assert_int_equal(known_servers_check(f->path, "LOCALHOST:8080", FP_A, NULL, NULL),
                     TS_OK);
    assert_int_equal(known_servers_check(f->path, "localhost:8081", FP_A, NULL, NULL),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(known_servers_lookup(f->path, "localhost:8080", fp), TS_OK);
    assert_string_equal(fp, FP_A);
    /* Adding the same key again writes nothing. */
    assert_int_equal(known_servers_add(f->path, "localhost:8080", FP_A), TS_ERR_EXISTS);
    assert_int_equal(known_servers_add(f->path, "[::1]:8080", FP_B), TS_OK);
    assert_string_equal(read_file(f->path),
                        "# tcpseal known servers: one \"HOST:PORT SHA256:...\" per line\n"
                        "localhost:8080 " FP_A "\n"
                        "[::1]:8080 " FP_B "\n");
}

static void test_mismatch_reports_expected_key(void **state)
{
    struct fixture *f = *state;
    char expected[TS_FINGERPRINT_MAX] = "";
    char msg[1024];
    size_t line = 0;

    write_file(f->path, "# mine\n\nlocalhost:8080 " FP_A "\n");
    assert_int_equal(known_servers_check(f->path, "localhost:8080", FP_B, expected, &line),
                     TS_ERR_KEY_MISMATCH);
    assert_string_equal(expected, FP_A);
    assert_int_equal(line, 3);
    /* Another process cannot record a second key for a known server. */
    assert_int_equal(known_servers_add(f->path, "localhost:8080", FP_B),
                     TS_ERR_KEY_MISMATCH);
    known_servers_mismatch_message(msg, sizeof(msg), "tcp_client", "localhost:8080", FP_A,
                                   FP_B);
    assert_non_null(strstr(msg, "WARNING: the identity of localhost:8080 has changed!"));
    assert_non_null(strstr(msg, "Expected " FP_A ", got " FP_B));
    assert_non_null(strstr(msg, "If you trust the new key, run: tcp_client forget "
                                "localhost:8080"));
    assert_null(strchr(msg, '\n'));
}

static void test_any_listed_key_matches(void **state)
{
    struct fixture *f = *state;

    write_file(f->path, "h:1 " FP_A "\nh:1 " FP_B "\n");
    assert_int_equal(known_servers_check(f->path, "h:1", FP_B, NULL, NULL), TS_OK);
    assert_int_equal(known_servers_check(f->path, "h:1", FP_A, NULL, NULL), TS_OK);
}

static void test_comments_and_damaged_lines_are_skipped(void **state)
{
    struct fixture *f = *state;
    char expected[TS_FINGERPRINT_MAX];

    write_file(f->path,
               "# comment h:1 " FP_A "\n"
               "   # indented comment\n"
               "h:1\n"                          /* no key */
               "h:1 SHA256:tooshort\n"          /* bad fingerprint */
               "h:1 " FP_A " extra\n"           /* trailing word */
               "h:1 " FP_A "=\n"                /* padded base64 */
               "\th:2\t" FP_B "  # note\r\n"    /* tabs, comment, CRLF */
               "h:3 " FP_A);                    /* no final newline */
    assert_int_equal(known_servers_check(f->path, "h:1", FP_A, expected, NULL),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(known_servers_check(f->path, "h:2", FP_B, NULL, NULL), TS_OK);
    assert_int_equal(known_servers_check(f->path, "h:3", FP_A, NULL, NULL), TS_OK);
    /* Appending after a last line without a newline starts a new line. */
    assert_int_equal(known_servers_add(f->path, "h:4", FP_B), TS_OK);
    assert_int_equal(known_servers_check(f->path, "h:3", FP_A, NULL, NULL), TS_OK);
    assert_int_equal(known_servers_check(f->path, "h:4", FP_B, NULL, NULL), TS_OK);
}

static void test_forget_keeps_everything_else(void **state)
{
    struct fixture *f = *state;
    size_t removed = 0;
    struct stat st;

    write_file(f->path,
               "# keep me\n"
               "h:1 " FP_A "\n"
               "damaged line kept\n"
               "h:2 " FP_B "\n"
               "H:1 " FP_B "\n"
               "h:10 " FP_A);
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(known_servers_forget(f->path, "h:1", &removed), TS_OK);
    assert_int_equal(removed, 2);
    assert_string_equal(read_file(f->path),
                        "# keep me\n"
                        "damaged line kept\n"
                        "h:2 " FP_B "\n"
                        "h:10 " FP_A "\n");
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(known_servers_forget(f->path, "h:1", &removed), TS_ERR_NOT_FOUND);
    assert_int_equal(removed, 0);
    /* After forgetting, first use records the new key. */
    assert_int_equal(known_servers_add(f->path, "h:1", FP_B), TS_OK);
    assert_int_equal(known_servers_check(f->path, "h:1", FP_B, NULL, NULL), TS_OK);
}

static void test_add_refuses_bad_entries(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(known_servers_add(f->path, "", FP_A), TS_ERR_INVALID);
    assert_int_equal(known_servers_add(f->path, "a b:1", FP_A), TS_ERR_INVALID);
    assert_int_equal(known_servers_add(f->path, "a#b:1", FP_A), TS_ERR_INVALID);
    assert_int_equal(known_servers_add(f->path, "a:1", "SHA256:nope"), TS_ERR_INVALID);
    assert_int_equal(access(f->path, F_OK), -1);
}

static void test_unreadable_file_is_an_error(void **state)
{
    struct fixture *f = *state;

    /* A directory where the file should be. */
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(known_servers_check(f->path, "h:1", FP_A, NULL, NULL), TS_ERR_IO);
    assert_int_equal(known_servers_add(f->path, "h:1", FP_A), TS_ERR_IO);
    assert_int_equal(rmdir(f->path), 0);
}

/* Many processes record different servers at once, while another forgets
 * one of them: no entry may be lost to the rewrite. */
static void test_concurrent_add_and_forget(void **state)
{
    struct fixture *f = *state;
    enum { WRITERS = 8, EACH = 10 };
    char host[32];
    int status;

    assert_int_equal(known_servers_add(f->path, "victim:1", FP_A), TS_OK);
    for (int w = 0; w < WRITERS + 1; w++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid != 0)
            continue;
        for (int i = 0; i < EACH; i++) {
            if (w == WRITERS) {
                known_servers_forget(f->path, "victim:1", NULL);
                if (known_servers_add(f->path, "victim:1", FP_A) != TS_OK)
                    _exit(1);
                continue;
            }
            snprintf(host, sizeof(host), "w%d-%d:1", w, i);
            if (known_servers_add(f->path, host, w % 2 ? FP_A : FP_B) != TS_OK)
                _exit(1);
        }
        _exit(0);
    }
    for (int w = 0; w < WRITERS + 1; w++) {
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (int w = 0; w < WRITERS; w++) {
        for (int i = 0; i < EACH; i++) {
            snprintf(host, sizeof(host), "w%d-%d:1", w, i);
            assert_int_equal(known_servers_check(f->path, host, w % 2 ? FP_A : FP_B,
                                                 NULL, NULL), TS_OK);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_lookup_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_reports_expected_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_listed_key_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_and_damaged_lines_are_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forget_keeps_everything_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_refuses_bad_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_add_and_forget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
