/*
 * A batch whose commit fails: every request in it completes with the
 * error, nothing of it is stored, and the store goes on afterwards with
 * its hash chain intact. The failure is a real one: the process file size
 * limit stops the WAL from growing in the middle of the commit.
 */
#include "test_store.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <tcpseal/error.h>

#define BATCH 50
#define BIG_PAYLOAD 4000
/* Room the WAL may still grow by: less than the batch needs. */
#define WAL_HEADROOM 16384
#define DETAIL_MAX 256

struct failed {
    struct test_wait *wait;
    int rc;
    bool has_row;
    char detail[DETAIL_MAX];
};

static void failed_done(void *ctx, int rc, const struct store_row *row)
{
    struct failed *f = ctx;

    f->rc = rc;
    f->has_row = row != NULL;
    snprintf(f->detail, sizeof(f->detail), "%s", ts_error_detail(rc));
    test_wait_signal(f->wait);
}

/* Holds the writer inside a completion until released. */
struct gate {
    struct test_wait entered;
    struct test_wait release;
};

static void gate_done(void *ctx, int rc, const struct store_row *row)
{
    struct gate *g = ctx;

    assert_int_equal(rc, TS_OK);
    test_wait_signal(&g->entered);
    test_wait_until(&g->release, 1);
}

static void append_one(store *s, const ts_identity *id, uint64_t seq, const char *text,
                       store_write_done done, void *ctx)
{
    struct test_msg m;
    struct store_message sm;

    test_msg_make(&m, id, seq, "alice", "general", text, true);
    sm = test_msg_store(&m, "general", NULL, "alice");
    assert_int_equal(s->ops->append(s, &sm, done, ctx), TS_OK);
    test_msg_free(&m);
}

static void limit_file_size(rlim_t limit)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void test_failed_commit(void **state)
{
    char *dir = test_tmpdir();
    char path[TEST_PATH_MAX], wal[TEST_PATH_MAX + 8];
    char *big = malloc(BIG_PAYLOAD + 1);
    struct failed results[BATCH];
    struct test_wait w;
    struct gate g;
    struct test_ack ack;
    struct store_verify_result vr;
    struct stat st;
    ts_identity *id;
    store *s;

    assert_non_null(big);
    memset(big, 'b', BIG_PAYLOAD);
    big[BIG_PAYLOAD] = '\0';
    test_db_path(path, dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_int_equal(ts_identity_generate(&id), TS_OK);
    /* A write past the limit then fails with EFBIG instead of a signal. */
    assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    s = test_open(path);
    test_wait_init(&w);
    test_wait_init(&g.entered);
    test_wait_init(&g.release);

    append_one(s, id, 1, "before", gate_done, &g);
    test_wait_until(&g.entered, 1);
    for (size_t i = 0; i < BATCH; i++) {
        results[i] = (struct failed){.wait = &w};
        append_one(s, id, 2 + i, big, failed_done, &results[i]);
    }
    assert_int_equal(stat(wal, &st), 0);
    limit_file_size((rlim_t)st.st_size + WAL_HEADROOM);
    test_wait_signal(&g.release);
    test_wait_until(&w, BATCH);
    limit_file_size(RLIM_INFINITY);

    for (size_t i = 0; i < BATCH; i++) {
        assert_int_equal(results[i].rc, TS_ERR_IO);
        assert_false(results[i].has_row);
        assert_non_null(strstr(results[i].detail, path));
    }
    /* The store carries on where it stood before the failed batch: the
     * next message takes the next id and extends the committed chain. */
    {
        struct test_msg m;
        struct store_message sm;

        test_msg_make(&m, id, 2, "alice", "general", "after", true);
        sm = test_msg_store(&m, "general", NULL, "alice");
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
        assert_int_equal(ack.id, 2);
        test_msg_free(&m);
    }
    store_close(s);
    assert_int_equal(store_verify_sync(path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, 2);

    test_wait_destroy(&w);
    test_wait_destroy(&g.entered);
    test_wait_destroy(&g.release);
    ts_identity_free(id);
    free(big);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_commit),
    };

    ts_log_set_level(TS_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
