/*
 * The persistent envelope sequence counter: monotonic, durable across
 * runs, never handing out an id twice to concurrent processes, and
 * refusing a damaged file instead of starting over.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "client/sequence.h"

struct fixture {
    char *dir;
    char path[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->dir = test_tmpdir();
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, SEQUENCE_FILE);
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
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void test_monotonic_and_mode(void **state)
{
    struct fixture *f = *state;
    uint64_t id = 0, last = 99;
    struct stat st;

    assert_int_equal(sequence_last(f->path, &last), TS_OK);
    assert_int_equal(last, 0);
    for (uint64_t want = 1; want <= 100; want++) {
        assert_int_equal(sequence_next(f->path, &id), TS_OK);
        assert_int_equal(id, want);
    }
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 21);
    assert_int_equal(sequence_last(f->path, &last), TS_OK);
    assert_int_equal(last, 100);
}

static void test_reserve_ranges(void **state)
{
    struct fixture *f = *state;
    uint64_t first = 0;

    assert_int_equal(sequence_reserve(f->path, 0, &first), TS_ERR_INVALID);
    assert_int_equal(sequence_reserve(f->path, 10, &first), TS_OK);
    assert_int_equal(first, 1);
    assert_int_equal(sequence_reserve(f->path, 5, &first), TS_OK);
    assert_int_equal(first, 11);
    assert_int_equal(sequence_next(f->path, &first), TS_OK);
    assert_int_equal(first, 16);
}

/* Values written by hand or by an older run are read and continued. */
static void test_persistence_and_hand_edits(void **state)
{
    struct fixture *f = *state;
    uint64_t id = 0;
    char buf[64];
    FILE *fp;

    write_file(f->path, "41\n");
    assert_int_equal(sequence_next(f->path, &id), TS_OK);
    assert_int_equal(id, 42);
    write_file(f->path, "7   \n\n   \n");
    assert_int_equal(sequence_next(f->path, &id), TS_OK);
    assert_int_equal(id, 8);
    /* The record is rewritten whole: no stray characters are left. */
    fp = fopen(f->path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    assert_string_equal(buf, "00000000000000000008\n");
    assert_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    write_file(f->path, "");
    assert_int_equal(sequence_next(f->path, &id), TS_OK);
    assert_int_equal(id, 1);
}

static void test_damaged_file_is_refused(void **state)
{
    struct fixture *f = *state;
    uint64_t id = 0;
    char big[128];

    write_file(f->path, "12x\n");
    assert_int_equal(sequence_next(f->path, &id), TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(TS_ERR_MALFORMED), f->path));
    write_file(f->path, "-3\n");
    assert_int_equal(sequence_next(f->path, &id), TS_ERR_MALFORMED);
    write_file(f->path, "18446744073709551616\n"); /* 2^64 */
    assert_int_equal(sequence_next(f->path, &id), TS_ERR_MALFORMED);
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file(f->path, big);
    assert_int_equal(sequence_next(f->path, &id), TS_ERR_MALFORMED);
    write_file(f->path, "18446744073709551615\n"); /* 2^64 - 1: all used */
    assert_int_equal(sequence_next(f->path, &id), TS_ERR_LIMIT);
    write_file(f->path, "18446744073709551614\n");
    assert_int_equal(sequence_next(f->path, &id), TS_OK);
    assert_int_equal(id, UINT64_MAX);
}

static void test_unwritable_directory(void **state)
{
    uint64_t id;

    assert_int_equal(sequence_next("/nonexistent-dir/tcpseal/sequence", &id), TS_ERR_IO);
}

/* Processes drawing ids at the same time never get the same one, and
 * together use every id exactly once. */
static void test_concurrent_processes(void **state)
{
    struct fixture *f = *state;
    enum { PROCS = 8, EACH = 50 };
    int fds[2], status;
    uint64_t id, last = 0;
    static unsigned char seen[PROCS * EACH + 1];
    size_t got = 0;

    assert_int_equal(pipe(fds), 0);
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid != 0)
            continue;
        close(fds[0]);
        for (int i = 0; i < EACH; i++) {
            if (sequence_next(f->path, &id) != TS_OK ||
                write(fds[1], &id, sizeof(id)) != (ssize_t)sizeof(id))
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    while (read(fds[0], &id, sizeof(id)) == (ssize_t)sizeof(id)) {
        assert_true(id >= 1 && id <= PROCS * EACH);
        assert_int_equal(seen[id], 0);
        seen[id] = 1;
        got++;
    }
    close(fds[0]);
    for (int p = 0; p < PROCS; p++) {
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(got, PROCS * EACH);
    assert_int_equal(sequence_last(f->path, &last), TS_OK);
    assert_int_equal(last, PROCS * EACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_monotonic_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_hand_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
