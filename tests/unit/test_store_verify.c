/*
 * Tamper evidence: store_verify_sync() on a good store, and on stores
 * edited by hand behind the server's back, where it must name the first
 * row that does not match and the problem.
 */
#include "test_store.h"

#include <tcpseal/error.h>

#define ROWS 6
#define UNSIGNED_ROW 5
#define PAYLOAD "payload-marker"
#define SQL_MAX 160
#define BLOB_MAX 1024

struct fixture {
    char *dir;
    char path[TEST_PATH_MAX];
    ts_identity *alice;
    ts_identity *bob;
};

/* A store of ROWS messages from alice, all signed but UNSIGNED_ROW. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct test_ack ack;
    store *s;

    assert_non_null(f);
    f->dir = test_tmpdir();
    test_db_path(f->path, f->dir);
    assert_int_equal(ts_identity_generate(&f->alice), TS_OK);
    assert_int_equal(ts_identity_generate(&f->bob), TS_OK);
    s = test_open(f->path);
    for (uint64_t i = 1; i <= ROWS; i++) {
        struct test_msg m;
        struct store_message sm;

        test_msg_make(&m, f->alice, i, "alice", "general", PAYLOAD, i != UNSIGNED_ROW);
        sm = test_msg_store(&m, "general", NULL, "alice");
        assert_int_equal(test_append_sync(s, &sm, &ack), TS_OK);
        assert_int_equal(ack.id, (int64_t)i);
        test_msg_free(&m);
    }
    store_close(s);
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

/* Read a blob column of one row (the column name is a test constant). */
static size_t get_blob(const char *path, const char *column, int64_t id, uint8_t *out)
{
    char sql[SQL_MAX];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t len;

    snprintf(sql, sizeof(sql), "SELECT %s FROM messages WHERE id = ?1", column);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, 1, id), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    len = (size_t)sqlite3_column_bytes(st, 0);
    assert_true(len <= BLOB_MAX);
    memcpy(out, sqlite3_column_blob(st, 0), len);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return len;
}

/* Run an edit with ?1 = blob (or NULL) and ?2 = id. */
static void edit(const char *path, const char *sql, const uint8_t *blob, size_t len, int64_t id)
{
    sqlite3 *db;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (blob != NULL)
        assert_int_equal(sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT), SQLITE_OK);
    assert_int_equal(sqlite3_bind_int64(st, 2, id), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void set_blob(const char *path, const char *column, int64_t id, const uint8_t *p,
                     size_t len)
{
    char sql[SQL_MAX];

    snprintf(sql, sizeof(sql), "UPDATE messages SET %s = ?1 WHERE id = ?2", column);
    edit(path, sql, p, len, id);
}

/* Flip one bit of a blob column at offset (negative: from the end). */
static void flip(const char *path, const char *column, int64_t id, long offset)
{
    uint8_t buf[BLOB_MAX];
    size_t len = get_blob(path, column, id, buf);
    size_t at = offset >= 0 ? (size_t)offset : len - (size_t)-offset;

    assert_true(at < len);
    buf[at] ^= 0x01;
    set_blob(path, column, id, buf, len);
}

static long payload_offset(const char *path, int64_t id)
{
    uint8_t buf[BLOB_MAX];
    size_t len = get_blob(path, "envelope", id, buf);
    const uint8_t *p = memmem(buf, len, PAYLOAD, strlen(PAYLOAD));

    assert_non_null(p);
    return (long)(p - buf);
}

static void expect_bad(const char *path, int64_t row, const char *problem)
{
    struct store_verify_result vr;

    assert_int_equal(store_verify_sync(path, &vr), TS_OK);
    assert_false(vr.ok);
    assert_int_equal(vr.bad_row, row);
    assert_int_equal(vr.rows, (uint64_t)row - 1);
    if (strncmp(vr.problem, problem, strlen(problem)) != 0)
        fail_msg("row %lld: expected \"%s...\", got \"%s\"", (long long)row, problem,
                 vr.problem);
}

/* chain(1) and chain(2) for hashes of all 0x01 and all 0x02 bytes,
 * computed independently (Python's hashlib.blake2b, digest_size=32);
 * docs/store.md quotes the same values. */
#define CHAIN_1_HEX "037f2da1eddaee436a85dccc072245e47bc40f159a9c435e2751299636b1ef03"
#define CHAIN_2_HEX "837fd1714d8de39ba4cc0e31d594f478713ef1c98ac29e2fae0685df02983195"

static void test_chain_vector(void **state)
{
    uint8_t zero[STORE_CHAIN_LEN] = {0}, h1[TS_ENVELOPE_HASH_LEN], h2[TS_ENVELOPE_HASH_LEN];
    uint8_t c1[STORE_CHAIN_LEN], c2[STORE_CHAIN_LEN], expect[STORE_CHAIN_LEN];

    memset(h1, 0x01, sizeof(h1));
    memset(h2, 0x02, sizeof(h2));
    store_chain_next(zero, h1, c1);
    test_hex(CHAIN_1_HEX, expect, sizeof(expect));
    assert_memory_equal(c1, expect, sizeof(expect));
    store_chain_next(c1, h2, c2);
    test_hex(CHAIN_2_HEX, expect, sizeof(expect));
    assert_memory_equal(c2, expect, sizeof(expect));
}

static void test_good_store(void **state)
{
    struct fixture *f = *state;
    struct store_verify_result vr;

    assert_int_equal(store_verify_sync(f->path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, ROWS);
    assert_string_equal(vr.problem, "");
}

static void test_empty_store(void **state)
{
    struct fixture *f = *state;
    char path[TEST_PATH_MAX];
    struct store_verify_result vr;

    snprintf(path, sizeof(path), "%s/empty.db", f->dir);
    store_close(test_open(path));
    assert_int_equal(store_verify_sync(path, &vr), TS_OK);
    assert_true(vr.ok);
    assert_int_equal(vr.rows, 0);
}

static void test_payload_byte(void **state)
{
    struct fixture *f = *state;

    flip(f->path, "envelope", 3, payload_offset(f->path, 3));
    expect_bad(f->path, 3, "hash");
}

static void test_signature_byte(void **state)
{
    struct fixture *f = *state;

    /* The signature is the envelope's last 64 bytes. */
    flip(f->path, "envelope", 4, -1);
    expect_bad(f->path, 4, "signature");
}

static void test_encoding_byte(void **state)
{
    struct fixture *f = *state;

    /* The version byte: no longer an envelope this program reads. */
    flip(f->path, "envelope", 2, 0);
    expect_bad(f->path, 2, "envelope");
}

static void test_hash_column(void **state)
{
    struct fixture *f = *state;

    flip(f->path, "hash", 2, 5);
    expect_bad(f->path, 2, "hash");
}

static void test_chain_column(void **state)
{
    struct fixture *f = *state;

    flip(f->path, "chain", 4, 0);
    expect_bad(f->path, 4, "chain");
}

static void test_sender_key_column(void **state)
{
    struct fixture *f = *state;

    /* Another key: the signature no longer verifies. */
    set_blob(f->path, "sender_key", 3, ts_identity_public_key(f->bob), TS_PUBLIC_KEY_LEN);
    expect_bad(f->path, 3, "signature");
    set_blob(f->path, "sender_key", 2, ts_identity_public_key(f->bob), TS_PUBLIC_KEY_LEN - 1);
    expect_bad(f->path, 2, "sender key");
}

static void test_sequence_column(void **state)
{
    struct fixture *f = *state;

    edit(f->path, "UPDATE messages SET sender_seq = 77 WHERE id = ?2", NULL, 0, 6);
    expect_bad(f->path, 6, "envelope");
}

/* The columns history is read by must agree with the envelope: an edit
 * of one of them alone (a message moved to another room, given another
 * sender, or made a direct one) is named even though every hash holds. */
static void test_addressing_columns(void **state)
{
    struct fixture *f = *state;

    edit(f->path, "UPDATE messages SET sender = 'bob' WHERE id = ?2", NULL, 0, 4);
    expect_bad(f->path, 4, "sender: the row's sender differs");
    edit(f->path, "UPDATE messages SET room = 'secret' WHERE id = ?2", NULL, 0, 3);
    expect_bad(f->path, 3, "recipient: the row's room differs");
    edit(f->path, "UPDATE messages SET room = NULL, recipient = 'bob' WHERE id = ?2", NULL, 0,
         2);
    expect_bad(f->path, 2, "recipient: the row's recipient differs");
    edit(f->path, "UPDATE messages SET room = NULL WHERE id = ?2", NULL, 0, 1);
    expect_bad(f->path, 1, "recipient: the row must name either a room or a recipient");
}

static void test_deleted_rows(void **state)
{
    struct fixture *f = *state;

    edit(f->path, "DELETE FROM messages WHERE id = ?2", NULL, 0, 2);
    expect_bad(f->path, 2, "chain: row 2 is missing");
    edit(f->path, "DELETE FROM messages WHERE id = ?2", NULL, 0, 3);
    expect_bad(f->path, 2, "chain: rows 2 to 3 are missing");
}

/* An unsigned message rewritten with a correct hash for its new content
 * passes its own checks; only the chain shows the rewrite. */
static void test_rewritten_unsigned_message(void **state)
{
    struct fixture *f = *state;
    struct test_msg forged;

    test_msg_make(&forged, f->alice, UNSIGNED_ROW, "alice", "general", "forged text", false);
    set_blob(f->path, "envelope", UNSIGNED_ROW, forged.bytes, forged.len);
    set_blob(f->path, "hash", UNSIGNED_ROW, forged.hash, sizeof(forged.hash));
    expect_bad(f->path, UNSIGNED_ROW, "chain");
    test_msg_free(&forged);
}

/* The server opens a store whose newest chain value was damaged only
 * with a pointer to verify-db. */
static void test_damaged_head_refused(void **state)
{
    struct fixture *f = *state;
    struct store_options o = {.path = f->path, .synchronous_full = true};
    uint8_t short_chain[STORE_CHAIN_LEN - 1] = {0};
    store *s;

    set_blob(f->path, "chain", ROWS, short_chain, sizeof(short_chain));
    assert_int_equal(store_sqlite_open(&s, &o), TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(TS_ERR_MALFORMED), "verify-db"));
    expect_bad(f->path, ROWS, "chain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_vector),
        cmocka_unit_test_setup_teardown(test_good_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encoding_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_key_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addressing_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten_unsigned_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_head_refused, setup, teardown),
    };

    /* The store logs its opening and closing at info. */
    ts_log_set_level(TS_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
