/*
 * The store under concurrent use: many threads appending at once, each
 * keeping a window of messages in flight, while others read history.
 */
#include "test_store.h"

#include <tcpseal/error.h>

#define PRODUCERS 8
#define PER_PRODUCER 400
#define WINDOW 32
#define TOTAL (PRODUCERS * PER_PRODUCER)
#define READS 50

struct producer {
    pthread_t thread;
    store *s;
    ts_identity *id;
    char name[16];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned outstanding;
    unsigned acked;
    int64_t last_id; /* ids of one producer's messages increase */
    bool in_order;
    int64_t *ids;    /* shared: ids[seq - 1 + offset] */
    int bad_rc;
};

struct in_flight {
    struct producer *p;
    uint64_t seq;
};

static void produced(void *ctx, int rc, const struct store_row *row)
{
    struct in_flight *f = ctx;
    struct producer *p = f->p;

    pthread_mutex_lock(&p->lock);
    if (rc != TS_OK || row == NULL || row->sender_seq != f->seq)
        p->bad_rc = rc != TS_OK ? rc : TS_ERR_INVALID;
    else {
        p->ids[f->seq - 1] = row->id;
        if (row->id <= p->last_id)
            p->in_order = false;
        p->last_id = row->id;
    }
    p->outstanding--;
    p->acked++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct in_flight *flights = calloc(PER_PRODUCER, sizeof(*flights));

    assert_non_null(flights);
    for (uint64_t seq = 1; seq <= PER_PRODUCER; seq++) {
        struct test_msg m;
        struct store_message sm;

        pthread_mutex_lock(&p->lock);
        while (p->outstanding >= WINDOW)
            pthread_cond_wait(&p->cond, &p->lock);
        p->outstanding++;
        pthread_mutex_unlock(&p->lock);
        test_msg_make(&m, p->id, seq, p->name, "load", "concurrent", seq % 2 == 0);
        sm = test_msg_store(&m, "load", NULL, p->name);
        flights[seq - 1] = (struct in_flight){.p = p, .seq = seq};
        assert_int_equal(p->s->ops->append(p->s, &sm, produced, &flights[seq - 1]), TS_OK);
        test_msg_free(&m);
    }
    pthread_mutex_lock(&p->lock);
    while (p->acked < PER_PRODUCER)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    free(flights);
    return NULL;
}

struct reader {
    pthread_t thread;
    store *s;
    int rc;
};

static void *read_history(void *arg)
{
    struct reader *r = arg;

    for (int i = 0; i < READS && r->rc == TS_OK; i++) {
        struct test_rows *rows = test_history_sync(r->s, "load", 0, 50);

        r->rc = rows->rc;
        /* Always a consistent, ordered snapshot. */
        for (size_t j = 1; j < rows->n; j++)
            assert_true(rows->ids[j] > rows->ids[j - 1]);
        free(rows);
    }
    return NULL;
}

static void test_many_appenders(void **state)
{
    char *dir = test_tmpdir();
    char path[TEST_PATH_MAX];
    struct producer p[PRODUCERS];
    struct reader readers[2];
    int64_t *ids = calloc(TOTAL, sizeof(*ids));
    bool *seen = calloc(TOTAL + 1, sizeof(*seen));
    struct store_options o = {.path = path, .synchronous_full = true, .readers = 2};
    struct store_verify_result vr;
    store *s;

    assert_non_null(ids);
    assert_non_null(seen);
    test_db_path(path, dir);
    assert_int_equal(store_sqlite_open(&s, &o), TS_OK);
    for (int i = 0; i < PRODUCERS; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].s = s;
        p[i].in_order = true;
        p[i].ids = ids + (size_t)i * PER_PRODUCER;
        snprintf(p[i].name, sizeof(p[i].name), "user%d", i);
        assert_int_equal(ts_identity_generate(&p[i].id), TS_OK);
        assert_int_equal(pthread_mutex_init(&p[i].lock, NULL), 0);
        assert_int_equal(pthread_cond_init(&p[i].cond, NULL), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_create(&p[i].thread, NULL, produce, &p[i]), 0);
    for (int i = 0; i < 2; i++) {
        readers[i] = (struct reader){.s = s};
        assert_int_equal(pthread_create(&readers[i].thread, NULL, read_history, &readers[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_join(p[i].thread, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(readers[i].thread, NULL), 0);
        assert_int_equal(readers[i].rc, TS_OK);
    }
    store_close(s);

    for (int i = 0; i < PRODUCERS; i++) {
        assert_int_equal(p[i].bad_rc, TS_OK);
        assert_int_equal(p[i].acked, PER_PRODUCER);
        /* One producer's appends complete in the order it made them. */
        assert_true(p[i].in_order);
        ts_identity_free(p[i].id);
        pthread_cond_destroy(&p[i].cond);
        pthread_mutex_destroy(&p[i].lock);
    }
    /* Every message got its own id, 1..TOTAL without gaps. */
    for (size_t i = 0; i < TOTAL; i++) {
        assert_true(ids[i] >= 1 && ids[i] <= TOTAL);
        assert_false(seen[ids[i]]);
        seen[ids[i]] = true;
    }
    assert_int_equal(store_verify_sync(path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, TOTAL);
    free(ids);
    free(seen);
    test_rmtree(dir);
}

/* Small batches: the same load split over many transactions keeps every
 * completion and the chain intact. */
static void test_small_batches(void **state)
{
    char *dir = test_tmpdir();
    char path[TEST_PATH_MAX];
    struct store_options o = {.path = path, .synchronous_full = false, .max_batch = 3};
    struct test_wait w;
    struct test_ack acks[100];
    struct store_verify_result vr;
    ts_identity *id;
    store *s;

    test_db_path(path, dir);
    assert_int_equal(ts_identity_generate(&id), TS_OK);
    assert_int_equal(store_sqlite_open(&s, &o), TS_OK);
    test_wait_init(&w);
    for (uint64_t i = 0; i < 100; i++) {
        struct test_msg m;
        struct store_message sm;

        test_msg_make(&m, id, i % 50 + 1, "solo", "room", "batch", true);
        sm = test_msg_store(&m, "room", NULL, "solo");
        acks[i] = (struct test_ack){.wait = &w};
        assert_int_equal(s->ops->append(s, &sm, test_ack_done, &acks[i]), TS_OK);
        test_msg_free(&m);
    }
    test_wait_until(&w, 100);
    store_close(s);
    /* The second 50 repeat the first 50. */
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(acks[i].rc, i < 50 ? TS_OK : TS_ERR_DUPLICATE);
        assert_int_equal(acks[i].id, (int64_t)(i % 50) + 1);
    }
    assert_int_equal(store_verify_sync(path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, 50);
    test_wait_destroy(&w);
    ts_identity_free(id);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_appenders),
        cmocka_unit_test(test_small_batches),
    };

    /* The store logs its opening and closing at info. */
    ts_log_set_level(TS_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
