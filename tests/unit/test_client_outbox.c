/*
 * The outbox state machine (src/client/outbox.h), in memory and backed by
 * the store file: queued -> sent -> answered, back to queued on a lost
 * connection, resent in id order with the original ids, reloaded after a
 * restart, Error 107 to a resent message.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/protocol.h>

#include "client/client_db.h"
#include "client/outbox.h"
#include "client/outbox_store.h"

struct fixture {
    char *dir;
    char *path;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->dir = test_tmpdir();
    f->path = malloc(strlen(f->dir) + 16);
    strcpy(f->path, f->dir);
    strcat(f->path, "/agent.db");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    test_rmtree(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static void add(struct outbox *ob, uint64_t id, const char *text, unsigned flags)
{
    assert_int_equal(outbox_add(ob, id, flags, text, strlen(text), 1000 + id, NULL), TS_OK);
}

/* Settle and check the outcome; the settled entry is freed here. */
static void settle(struct outbox *ob, int type, uint64_t corr, uint16_t code,
                   enum outbox_outcome want, uint64_t want_id)
{
    struct outbox_entry *done = NULL;
    enum outbox_outcome outcome;

    assert_int_equal(outbox_settle(ob, type, corr, code, &outcome, &done), TS_OK);
    assert_int_equal(outcome, want);
    if (want == OUTBOX_NOT_OURS) {
        assert_null(done);
        return;
    }
    assert_non_null(done);
    assert_int_equal(done->id, want_id);
    outbox_entry_free(done);
}

static void test_send_in_id_order(void **state)
{
    struct outbox ob;
    struct outbox_entry *e;

    (void)state;
    outbox_init(&ob, NULL, 0, 0);
    add(&ob, 7, "seven", 0);
    add(&ob, 3, "three", TS_SEND_SIGN);
    add(&ob, 5, "five", 0);
    assert_int_equal(outbox_count(&ob), 3);
    for (uint64_t want = 3; want <= 7; want += 2) {
        e = outbox_next_queued(&ob);
        assert_non_null(e);
        assert_int_equal(e->id, want);
        assert_int_equal(e->state, OUTBOX_QUEUED);
        outbox_mark_sent(&ob, e);
        assert_int_equal(e->state, OUTBOX_SENT);
        assert_int_equal(e->attempts, 1);
    }
    assert_null(outbox_next_queued(&ob));
    assert_int_equal(outbox_in_flight(&ob), 3);
    assert_int_equal(outbox_find(&ob, 3)->flags, TS_SEND_SIGN);
    /* A message added while others are in flight goes out after them... */
    add(&ob, 9, "nine", 0);
    assert_int_equal(outbox_next_queued(&ob)->id, 9);
    /* ... and one with a lower id (another thread's) before it. */
    add(&ob, 8, "eight", 0);
    assert_int_equal(outbox_next_queued(&ob)->id, 8);
    outbox_free(&ob);
}

static void test_disconnect_requeues_and_resends_original_ids(void **state)
{
    struct outbox ob;
    struct outbox_entry *e;

    (void)state;
    outbox_init(&ob, NULL, 0, 0);
    add(&ob, 10, "a", 0);
    add(&ob, 11, "b", 0);
    add(&ob, 12, "c", 0);
    outbox_mark_sent(&ob, outbox_next_queued(&ob));
    outbox_mark_sent(&ob, outbox_next_queued(&ob));
    /* 10 answered, 11 in flight, 12 queued: the connection drops. */
    settle(&ob, TS_MSG_RESPONSE, 10, 0, OUTBOX_ANSWERED, 10);
    assert_int_equal(outbox_in_flight(&ob), 1);
    assert_int_equal(outbox_requeue(&ob), 1);
    assert_int_equal(outbox_in_flight(&ob), 0);
    /* The next connection sends 11 then 12, under their ids. */
    e = outbox_next_queued(&ob);
    assert_int_equal(e->id, 11);
    assert_memory_equal(e->payload, "b", 1);
    outbox_mark_sent(&ob, e);
    assert_int_equal(e->attempts, 2);
    e = outbox_next_queued(&ob);
    assert_int_equal(e->id, 12);
    outbox_mark_sent(&ob, e);
    assert_int_equal(e->attempts, 1);
    assert_int_equal(outbox_in_flight(&ob), 2);
    outbox_free(&ob);
}

static void test_answers_settle(void **state)
{
    struct outbox ob;

    (void)state;
    outbox_init(&ob, NULL, 0, 0);
    add(&ob, 1, "x", 0);
    add(&ob, 2, "y", 0);
    add(&ob, 3, "z", 0);
    for (int i = 0; i < 3; i++)
        outbox_mark_sent(&ob, outbox_next_queued(&ob));
    /* Not answers to the outbox. */
    settle(&ob, TS_MSG_NOTICE, 1, 0, OUTBOX_NOT_OURS, 0);
    settle(&ob, TS_MSG_RESPONSE, 0, 0, OUTBOX_NOT_OURS, 0);
    settle(&ob, TS_MSG_RESPONSE, 99, 0, OUTBOX_NOT_OURS, 0);
    settle(&ob, TS_MSG_ERROR, 0, TS_REASON_MESSAGE_RATE, OUTBOX_NOT_OURS, 0);
    assert_int_equal(outbox_count(&ob), 3);
    /* An Ack, an Error, and Error 107 to a first send (an id already
     * used: refused, not "forgotten"). */
    settle(&ob, TS_MSG_ACK, 2, 0, OUTBOX_ANSWERED, 2);
    settle(&ob, TS_MSG_ERROR, 1, TS_REASON_NOT_ALLOWED, OUTBOX_REFUSED, 1);
    settle(&ob, TS_MSG_ERROR, 3, TS_REASON_DUPLICATE, OUTBOX_REFUSED, 3);
    assert_int_equal(outbox_count(&ob), 0);
    assert_int_equal(outbox_in_flight(&ob), 0);
    assert_int_equal(ob.bytes, 0);
    /* A second answer to the same id settles nothing. */
    settle(&ob, TS_MSG_RESPONSE, 2, 0, OUTBOX_NOT_OURS, 0);
    add(&ob, 4, "w", 0);
    settle(&ob, TS_MSG_RESPONSE, 4, 0, OUTBOX_ANSWERED, 4);
    outbox_free(&ob);
}

static void test_duplicate_after_resend_is_forgotten(void **state)
{
    struct outbox ob;
    struct outbox_entry *e;

    (void)state;
    outbox_init(&ob, NULL, 0, 0);
    add(&ob, 40, "once", 0);
    e = outbox_next_queued(&ob);
    outbox_mark_sent(&ob, e);
    outbox_requeue(&ob);
    outbox_mark_sent(&ob, outbox_next_queued(&ob));
    assert_int_equal(e->attempts, 2);
    /* Processed the first time; the server no longer has the answer. */
    settle(&ob, TS_MSG_ERROR, 40, TS_REASON_DUPLICATE, OUTBOX_FORGOTTEN, 40);
    assert_int_equal(outbox_count(&ob), 0);
    outbox_free(&ob);
}

static void test_limits_and_bad_ids(void **state)
{
    struct outbox ob;

    (void)state;
    outbox_init(&ob, NULL, 2, 10);
    assert_int_equal(outbox_add(&ob, 0, 0, "a", 1, 0, NULL), TS_ERR_INVALID);
    add(&ob, 1, "12345", 0);
    assert_int_equal(outbox_add(&ob, 1, 0, "a", 1, 0, NULL), TS_ERR_EXISTS);
    assert_int_equal(outbox_add(&ob, 2, 0, "123456", 6, 0, NULL), TS_ERR_LIMIT);
    add(&ob, 2, "12345", 0);
    assert_int_equal(outbox_add(&ob, 3, 0, "", 0, 0, NULL), TS_ERR_LIMIT);
    assert_int_equal(outbox_count(&ob), 2);
    settle(&ob, TS_MSG_RESPONSE, 1, 0, OUTBOX_ANSWERED, 1);
    /* An empty payload is a message too. */
    assert_int_equal(outbox_add(&ob, 3, 0, "", 0, 0, NULL), TS_OK);
    assert_int_equal(outbox_find(&ob, 3)->len, 0);
    outbox_free(&ob);
}

static void test_reload_from_store(void **state)
{
    struct fixture *f = *state;
    struct client_db *db;
    struct outbox ob;
    struct outbox_entry *e;
    struct stat st;

    assert_int_equal(client_db_open(&db, f->path), TS_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    outbox_init(&ob, db, 0, 0);
    add(&ob, 21, "first", 0);
    add(&ob, 22, "second", TS_SEND_SIGN);
    add(&ob, 23, "third", 0);
    assert_int_equal(outbox_add(&ob, 24, 0, "", 0, 5, NULL), TS_OK);
    outbox_mark_sent(&ob, outbox_next_queued(&ob));
    outbox_mark_sent(&ob, outbox_next_queued(&ob));
    settle(&ob, TS_MSG_RESPONSE, 21, 0, OUTBOX_ANSWERED, 21);
    /* The process dies with 22 in flight and 23, 24 queued. */
    outbox_free(&ob);
    client_db_close(db);

    assert_int_equal(client_db_open(&db, f->path), TS_OK);
    outbox_init(&ob, db, 0, 0);
    assert_int_equal(outbox_load(&ob), TS_OK);
    assert_int_equal(outbox_count(&ob), 3);
    assert_int_equal(outbox_in_flight(&ob), 0);
    e = outbox_next_queued(&ob);
    assert_int_equal(e->id, 22);
    assert_true(e->loaded);
    assert_int_equal(e->flags, TS_SEND_SIGN);
    assert_int_equal(e->created_ms, 1022);
    assert_int_equal(e->len, 6);
    assert_memory_equal(e->payload, "second", 6);
    assert_int_equal(outbox_find(&ob, 24)->len, 0);
    /* A loaded message may have been processed by the server already: a
     * duplicate answer completes it. */
    outbox_mark_sent(&ob, e);
    settle(&ob, TS_MSG_ERROR, 22, TS_REASON_DUPLICATE, OUTBOX_FORGOTTEN, 22);
    outbox_free(&ob);
    client_db_close(db);

    /* Settled rows are gone from the file too. */
    assert_int_equal(client_db_open(&db, f->path), TS_OK);
    outbox_init(&ob, db, 0, 0);
    assert_int_equal(outbox_load(&ob), TS_OK);
    assert_int_equal(outbox_count(&ob), 2);
    assert_int_equal(outbox_next_queued(&ob)->id, 23);
    outbox_free(&ob);
    client_db_close(db);
}

static void test_store_refuses_a_second_client(void **state)
{
    struct fixture *f = *state;
    struct client_db *a, *b = NULL;
    uint64_t v;

    assert_int_equal(client_db_open(&a, f->path), TS_OK);
    assert_int_equal(client_db_open(&b, f->path), TS_ERR_IO);
    assert_null(b);
    assert_non_null(strstr(ts_error_detail(TS_ERR_IO), "in use"));
    assert_int_equal(client_db_meta_set(a, "last_id", 77), TS_OK);
    client_db_close(a);
    assert_int_equal(client_db_open(&b, f->path), TS_OK);
    assert_int_equal(client_db_meta_get(b, "last_id", &v), TS_OK);
    assert_int_equal(v, 77);
    assert_int_equal(client_db_meta_get(b, "missing", &v), TS_OK);
    assert_int_equal(v, 0);
    client_db_close(b);
}

static void test_store_rejects_newer_schema(void **state)
{
    struct fixture *f = *state;
    struct client_db *db;
    sqlite3 *raw;

    assert_int_equal(client_db_open(&db, f->path), TS_OK);
    client_db_close(db);
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "UPDATE schema_version SET version = 99", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(client_db_open(&db, f->path), TS_ERR_VERSION);
}

static void test_store_row_conflict(void **state)
{
    struct fixture *f = *state;
    struct client_db *db;

    assert_int_equal(client_db_open(&db, f->path), TS_OK);
    assert_int_equal(outbox_store_put(db, 5, 0, 1, "a", 1), TS_OK);
    assert_int_equal(outbox_store_put(db, 5, 0, 1, "a", 1), TS_ERR_EXISTS);
    assert_int_equal(outbox_store_put(db, (uint64_t)INT64_MAX + 1, 0, 1, "a", 1),
                     TS_ERR_INVALID);
    assert_int_equal(outbox_store_delete(db, 5), TS_OK);
    assert_int_equal(outbox_store_delete(db, 5), TS_OK);
    client_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_in_id_order),
        cmocka_unit_test(test_disconnect_requeues_and_resends_original_ids),
        cmocka_unit_test(test_answers_settle),
        cmocka_unit_test(test_duplicate_after_resend_is_forgotten),
        cmocka_unit_test(test_limits_and_bad_ids),
        cmocka_unit_test_setup_teardown(test_reload_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_a_second_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_rejects_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_row_conflict, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
