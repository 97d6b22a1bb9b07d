/*
 * The SQLite store: opening and migrating, appends and their
 * acknowledgements, duplicates, history, rooms, the offline queue.
 */
#include "test_store.h"

#include <sys/stat.h>

#include <tcpseal/error.h>

#define ROOM "general"

struct fixture {
    char *dir;
    char path[TEST_PATH_MAX];
    ts_identity *alice;
    ts_identity *bob;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->dir = test_tmpdir();
    test_db_path(f->path, f->dir);
    assert_int_equal(ts_identity_generate(&f->alice), TS_OK);
    assert_int_equal(ts_identity_generate(&f->bob), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ts_identity_free(f->alice);
    ts_identity_free(f->bob);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Append a room message from alice with sequence seq; returns its rc. */
static int append_room(store *s, const struct fixture *f, const char *room, uint64_t seq,
                       struct test_ack *ack)
{
    struct test_msg m;
    struct store_message sm;
    int rc;

    test_msg_make(&m, f->alice, seq, "alice", room, "hello room", true);
    sm = test_msg_store(&m, room, NULL, "alice");
    rc = test_append_sync(s, &sm, ack);
    test_msg_free(&m);
    return rc;
}

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return n;
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- opening ---- */

static void test_open_migrate_reopen(void **state)
{
    struct fixture *f = *state;
    struct store_verify_result vr;
    struct test_ack ack;
    store *s = test_open(f->path);

    assert_string_equal(s->ops->name, "sqlite");
    assert_int_equal(append_room(s, f, ROOM, 1, &ack), TS_OK);
    assert_int_equal(ack.id, 1);
    store_close(s);

    /* Reopening neither migrates again nor loses the chain head. */
    s = test_open(f->path);
    assert_int_equal(append_room(s, f, ROOM, 2, &ack), TS_OK);
    assert_int_equal(ack.id, 2);
    store_close(s);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(count_rows(f->path, "SELECT max(version) FROM schema_version"), 1);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM messages"), 2);
    assert_int_equal(store_verify_sync(f->path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, 2);
}

static void test_wal_and_private_file(void **state)
{
    struct fixture *f = *state;
    store *s = test_open(f->path);
    sqlite3 *db;
    sqlite3_stmt *st;
    struct stat sb;

    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    store_close(s);
}

static void test_version_too_new(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {.path = f->path, .synchronous_full = true};
    struct store_verify_result vr;
    store *s = test_open(f->path);

    store_close(s);
    exec_sql(f->path, "INSERT INTO schema_version(version, applied_ms) VALUES (99, 0)");
    assert_int_equal(store_sqlite_open(&s, &o), TS_ERR_VERSION);
    assert_null(s);
    assert_non_null(strstr(ts_error_detail(TS_ERR_VERSION), "99"));
    assert_int_equal(store_verify_sync(f->path, &vr), TS_ERR_VERSION);
    /* Refused, not rewritten. */
    assert_int_equal(count_rows(f->path, "SELECT max(version) FROM schema_version"), 99);
}

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {.path = f->path};
    struct store_verify_result vr;
    FILE *fp = fopen(f->path, "w");
    store *s;

    assert_non_null(fp);
    for (int i = 0; i < 256; i++)
        fputs("this is not a database file. ", fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(store_sqlite_open(&s, &o), TS_ERR_IO);
    assert_non_null(strstr(ts_error_detail(TS_ERR_IO), f->path));
    assert_int_equal(store_verify_sync(f->path, &vr), TS_ERR_IO);

    o.path = NULL;
    assert_int_equal(store_sqlite_open(&s, &o), TS_ERR_INVALID);
    assert_int_equal(store_verify_sync("/nonexistent/tcpseal.db", &vr), TS_ERR_NOT_FOUND);
}

/* ---- appends ---- */

static void test_bad_arguments(void **state)
{
    struct fixture *f = *state;
    store *s = test_open(f->path);
    struct test_msg m;
    struct store_message sm;
    char long_name[STORE_NAME_MAX + 2];

    test_msg_make(&m, f->alice, 1, "alice", ROOM, "x", false);
    sm = test_msg_store(&m, ROOM, "bob", "alice");
    assert_int_equal(s->ops->append(s, &sm, NULL, NULL), TS_ERR_INVALID);
    sm = test_msg_store(&m, NULL, NULL, "alice");
    assert_int_equal(s->ops->append(s, &sm, NULL, NULL), TS_ERR_INVALID);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    sm = test_msg_store(&m, long_name, NULL, "alice");
    assert_int_equal(s->ops->append(s, &sm, NULL, NULL), TS_ERR_TOO_LARGE);
    sm = test_msg_store(&m, ROOM, NULL, "");
    assert_int_equal(s->ops->append(s, &sm, NULL, NULL), TS_ERR_INVALID);
    sm = test_msg_store(&m, ROOM, NULL, "alice");
    sm.envelope_len = 0;
    assert_int_equal(s->ops->append(s, &sm, NULL, NULL), TS_ERR_INVALID);
    assert_int_equal(s->ops->user_create(s, long_name, NULL, NULL, NULL, NULL),
                     TS_ERR_TOO_LARGE);
    assert_int_equal(s->ops->history(s, ROOM, 0, 0, NULL, NULL), TS_ERR_INVALID);
    test_msg_free(&m);
    store_close(s);
}

/* Completion order and durability: each completion runs after its commit,
 * so a fresh connection opened inside it already sees the row. */
struct seen {
    const char *path;
    struct test_wait *wait;
    size_t n;
    size_t order[64];
    int64_t ids[64];
    bool visible[64];
};

struct seen_req {
    struct seen *seen;
    size_t index;
};

static bool visible_elsewhere(const char *path, int64_t id)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    bool found;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT 1 FROM messages WHERE id = ?1", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, 1, id), SQLITE_OK);
    found = sqlite3_step(st) == SQLITE_ROW;
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return found;
}

static void seen_done(void *ctx, int rc, const struct store_row *row)
{
    struct seen_req *r = ctx;
    struct seen *s = r->seen;

    /* Completions of one store run on its writer thread, one at a time. */
    assert_int_equal(rc, TS_OK);
    s->order[s->n] = r->index;
    s->ids[s->n] = row->id;
    s->visible[s->n] = visible_elsewhere(s->path, row->id);
    s->n++;
    test_wait_signal(s->wait);
}

static void test_ack_after_commit(void **state)
{
    struct fixture *f = *state;
    enum { N = 64 };
    struct test_msg m[N];
    struct seen_req reqs[N];
    struct test_wait w;
    struct seen seen = {.path = f->path, .wait = &w};
    struct store_message sm;
    store *s = test_open(f->path);

    test_wait_init(&w);
    for (size_t i = 0; i < N; i++) {
        test_msg_make(&m[i], f->alice, i + 1, "alice", ROOM, "ordered", true);
        sm = test_msg_store(&m[i], ROOM, NULL, "alice");
        reqs[i] = (struct seen_req){.seen = &seen, .index = i};
        assert_int_equal(s->ops->append(s, &sm, seen_done, &reqs[i]), TS_OK);
        /* The store copied the envelope: the caller's buffer may go. */
        test_msg_free(&m[i]);
    }
    test_wait_until(&w, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(seen.order[i], i);
        assert_int_equal(seen.ids[i], (int64_t)i + 1);
        assert_true(seen.visible[i]);
    }
    test_wait_destroy(&w);
    store_close(s);
}

static void test_append_row_fields(void **state)
{
    struct fixture *f = *state;
    uint8_t zero[STORE_CHAIN_LEN] = {0}, chain[STORE_CHAIN_LEN];
    struct test_msg m;
    struct store_message sm;
    struct test_ack ack;
    store *s = test_open(f->path);

    test_msg_make(&m, f->bob, UINT64_MAX, "bob", "alice", "direct", true);
    sm = test_msg_store(&m, NULL, "alice", "bob");
    assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
    assert_true(ack.has_row);
    assert_int_equal(ack.id, 1);
    assert_true(ack.stored_ms > 0);
    /* The full unsigned range survives SQLite's signed integers. */
    assert_true(ack.seq == UINT64_MAX);
    assert_string_equal(ack.room, "");
    assert_string_equal(ack.recipient, "alice");
    assert_memory_equal(ack.hash, m.hash, sizeof(m.hash));
    assert_int_equal(ack.envelope_len, m.len);
    store_chain_next(zero, m.hash, chain);
    assert_memory_equal(ack.chain, chain, sizeof(chain));
    test_msg_free(&m);
    store_close(s);
    /* A direct message creates no room. */
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM rooms"), 0);
}

/* ---- duplicates ---- */

static void test_duplicate_separate_batches(void **state)
{
    struct fixture *f = *state;
    struct test_msg m, again;
    struct store_message sm;
    struct test_ack first, dup;
    store *s = test_open(f->path);

    test_msg_make(&m, f->alice, 42, "alice", ROOM, "original", true);
    sm = test_msg_store(&m, ROOM, NULL, "alice");
    assert_int_equal(test_append_sync(s, &sm, &first), TS_OK);
    /* A resend with other content under the same sequence is still the
     * same message to the store: the original answers. */
    test_msg_make(&again, f->alice, 42, "alice", "other", "resent", true);
    sm = test_msg_store(&again, "other", NULL, "alice");
    assert_int_equal(test_append_sync(s, &sm, &dup), TS_ERR_DUPLICATE);
    assert_true(dup.has_row);
    assert_int_equal(dup.id, first.id);
    assert_int_equal(dup.stored_ms, first.stored_ms);
    assert_memory_equal(dup.hash, first.hash, sizeof(dup.hash));
    assert_memory_equal(dup.chain, first.chain, sizeof(dup.chain));
    assert_string_equal(dup.room, ROOM);
    assert_int_equal(dup.envelope_len, m.len);
    test_msg_free(&m);
    test_msg_free(&again);
    store_close(s);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM messages"), 1);
    /* Nothing of the duplicate was written, not even its room. */
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM rooms"), 1);
}

/* A completion that holds the writer until released, so that whatever is
 * queued meanwhile forms the next batch. */
struct gate {
    struct test_wait entered;
    struct test_wait release;
};

static void gate_done(void *ctx, int rc, const struct store_row *row)
{
    struct gate *g = ctx;

    test_wait_signal(&g->entered);
    test_wait_until(&g->release, 1);
}

static void test_duplicate_same_batch(void **state)
{
    struct fixture *f = *state;
    struct test_msg first, m, same;
    struct store_message sm;
    struct test_wait w;
    struct test_ack orig = {.wait = &w}, dup = {.wait = &w};
    struct gate g;
    struct store_verify_result vr;
    store *s = test_open(f->path);

    test_wait_init(&w);
    test_wait_init(&g.entered);
    test_wait_init(&g.release);
    test_msg_make(&first, f->alice, 1, "alice", ROOM, "holds the writer", true);
    sm = test_msg_store(&first, ROOM, NULL, "alice");
    assert_int_equal(s->ops->append(s, &sm, gate_done, &g), TS_OK);
    test_wait_until(&g.entered, 1);

    test_msg_make(&m, f->bob, 7, "bob", ROOM, "once", true);
    test_msg_make(&same, f->bob, 7, "bob", ROOM, "once", true);
    sm = test_msg_store(&m, ROOM, NULL, "bob");
    assert_int_equal(s->ops->append(s, &sm, test_ack_done, &orig), TS_OK);
    sm = test_msg_store(&same, ROOM, NULL, "bob");
    assert_int_equal(s->ops->append(s, &sm, test_ack_done, &dup), TS_OK);
    test_wait_signal(&g.release);
    test_wait_until(&w, 2);

    assert_int_equal(orig.rc, TS_OK);
    assert_int_equal(dup.rc, TS_ERR_DUPLICATE);
    assert_int_equal(dup.id, orig.id);
    assert_int_equal(dup.stored_ms, orig.stored_ms);
    assert_memory_equal(dup.hash, orig.hash, sizeof(dup.hash));
    assert_memory_equal(dup.chain, orig.chain, sizeof(dup.chain));
    store_close(s);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM messages"), 2);
    assert_int_equal(store_verify_sync(f->path, &vr), TS_OK);
    assert_true(vr.ok);
    test_msg_free(&first);
    test_msg_free(&m);
    test_msg_free(&same);
    test_wait_destroy(&w);
    test_wait_destroy(&g.entered);
    test_wait_destroy(&g.release);
}

/* ---- history and rooms ---- */

static int sync_row(void *ctx, const struct store_row *row)
{
    struct test_rows *r = ctx;

    r->ids[r->n++] = row->id;
    return r->n == 2 ? 1 : 0; /* stops after two rows when asked to */
}

static void fill_history(store *s, const struct fixture *f)
{
    struct test_ack ack;
    uint64_t seq = 1;

    for (int i = 0; i < 10; i++)
        assert_int_equal(append_room(s, f, ROOM, seq++, &ack), TS_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_room(s, f, "random", seq++, &ack), TS_OK);
    for (int i = 0; i < 2; i++) {
        struct test_msg m;
        struct store_message sm;

        test_msg_make(&m, f->bob, (uint64_t)i + 1, "bob", "alice", "psst", false);
        sm = test_msg_store(&m, NULL, "alice", "bob");
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
        test_msg_free(&m);
    }
}

static void test_history_paging(void **state)
{
    struct fixture *f = *state;
    struct test_rows *r;
    store *s = test_open(f->path);

    fill_history(s, f);
    r = test_history_sync(s, ROOM, 0, 4);
    assert_int_equal(r->rc, TS_OK);
    assert_int_equal(r->n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r->ids[i], 7 + (int64_t)i);
    free(r);
    r = test_history_sync(s, ROOM, 7, 4);
    assert_int_equal(r->n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r->ids[i], 3 + (int64_t)i);
    free(r);
    r = test_history_sync(s, ROOM, 3, 4);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->ids[0], 1);
    free(r);
    r = test_history_sync(s, ROOM, 0, 0);
    assert_int_equal(r->n, 10);
    free(r);
    r = test_history_sync(s, "random", 0, 100);
    assert_int_equal(r->n, 3);
    assert_int_equal(r->ids[0], 11);
    assert_string_equal(r->last_room, "random");
    free(r);
    r = test_history_sync(s, "", 0, 0);
    assert_int_equal(r->n, 15);
    free(r);
    r = test_history_sync(s, "nowhere", 0, 10);
    assert_int_equal(r->rc, TS_OK);
    assert_int_equal(r->n, 0);
    free(r);
    store_close(s);
}

static void test_history_sync_tool(void **state)
{
    struct fixture *f = *state;
    struct test_rows *r = calloc(1, sizeof(*r));
    store *s = test_open(f->path);

    assert_non_null(r);
    fill_history(s, f);
    /* The tool reads while the server has the store open. */
    assert_int_equal(store_history_sync(f->path, ROOM, 3, sync_row, r), TS_OK);
    assert_int_equal(r->n, 2); /* the callback stopped it */
    assert_int_equal(r->ids[0], 8);
    assert_int_equal(r->ids[1], 9);
    store_close(s);
    r->n = 0;
    assert_int_equal(store_history_sync(f->path, "random", 0, sync_row, r), TS_OK);
    assert_int_equal(r->ids[0], 11);
    free(r);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM rooms"), 2);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM rooms WHERE name = 'general'"),
                     1);
}

/* ---- offline queue ---- */

static void test_offline_queue(void **state)
{
    struct fixture *f = *state;
    struct test_sync t;
    struct store_user carol;
    struct test_ack ack;
    struct test_rows *r;
    int64_t ids[3], unknown = 9999;
    store *s = test_open(f->path);

    assert_int_equal(test_sync_end(&t, s->ops->user_create(s, "carol", NULL, NULL, test_ack_done,
                                                           test_sync_begin(&t))),
                     TS_OK);
    assert_int_equal(test_user_sync(s, "carol", NULL, &carol), TS_OK);
    for (int i = 0; i < 3; i++) {
        struct test_msg m;
        struct store_message sm;

        test_msg_make(&m, f->bob, (uint64_t)i + 1, "bob", "carol", "while you were out", true);
        sm = test_msg_store(&m, NULL, "carol", "bob");
        sm.offline_for = &carol.id;
        sm.n_offline_for = 1;
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
        ids[i] = ack.id;
        test_msg_free(&m);
    }
    r = test_offline_sync(s, carol.id, 0);
    assert_int_equal(r->rc, TS_OK);
    assert_int_equal(r->n, 3);
    assert_memory_equal(r->ids, ids, sizeof(ids));
    free(r);
    r = test_offline_sync(s, carol.id, 2);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->ids[1], ids[1]);
    free(r);

    assert_int_equal(test_sync_end(&t, s->ops->offline_ack(s, carol.id, ids[1], test_ack_done,
                                                           test_sync_begin(&t))),
                     TS_OK);
    r = test_offline_sync(s, carol.id, 0);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ids[0], ids[2]);
    free(r);

    /* Queued for a user that does not exist: the message is refused as a
     * whole and the chain goes on from the previous message. */
    {
        struct test_msg m;
        struct store_message sm;
        struct store_verify_result vr;

        test_msg_make(&m, f->bob, 10, "bob", "ghost", "nobody home", true);
        sm = test_msg_store(&m, NULL, "ghost", "bob");
        sm.offline_for = &unknown;
        sm.n_offline_for = 1;
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_ERR_NOT_FOUND);
        assert_false(ack.has_row);
        test_msg_free(&m);
        test_msg_make(&m, f->bob, 11, "bob", "carol", "after", true);
        sm = test_msg_store(&m, NULL, "carol", "bob");
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
        assert_int_equal(ack.id, ids[2] + 1);
        test_msg_free(&m);
        store_close(s);
        assert_int_equal(store_verify_sync(f->path, &vr), TS_OK);
        assert_true(vr.ok);
        assert_int_equal(vr.rows, 4);
    }
}

/* ---- closing ---- */

static void test_close_drains(void **state)
{
    struct fixture *f = *state;
    enum { N = 500 };
    struct test_wait w;
    struct test_ack *acks = calloc(N, sizeof(*acks));
    struct store_message sm;
    store *s = test_open(f->path);

    assert_non_null(acks);
    test_wait_init(&w);
    for (size_t i = 0; i < N; i++) {
        struct test_msg m;

        test_msg_make(&m, f->alice, i + 1, "alice", ROOM, "drain", false);
        sm = test_msg_store(&m, ROOM, NULL, "alice");
        acks[i].wait = &w;
        assert_int_equal(s->ops->append(s, &sm, test_ack_done, &acks[i]), TS_OK);
        test_msg_free(&m);
    }
    store_close(s);
    /* Every completion ran before close returned. */
    assert_int_equal(w.done, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(acks[i].rc, TS_OK);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM messages"), N);
    test_wait_destroy(&w);
    free(acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrate_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_and_private_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_too_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_row_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_separate_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_same_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_sync_tool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
    };

    /* The store logs its opening and closing at info. */
    ts_log_set_level(TS_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
