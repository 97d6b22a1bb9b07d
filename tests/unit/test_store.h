/*
 * Helpers shared by the store tests: real envelopes, waiting for
 * completions on a condition, and synchronous wrappers around the
 * asynchronous store calls.
 */
#ifndef TS_TEST_STORE_H
#define TS_TEST_STORE_H

#include "support.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>
#include <tcpseal/log.h>

#include "store/store.h"

#define TEST_MAX_IDS 4096

/* ---- envelopes ---- */

struct test_msg {
    uint8_t *bytes;
    size_t len;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];
    uint8_t key[TS_PUBLIC_KEY_LEN];
    uint64_t seq;
};

/* A sealed Chat envelope with id seq from sender to `to`, signed by id
 * when sign is set (its key is the message's sender key either way). */
static inline void test_msg_make(struct test_msg *m, const ts_identity *id, uint64_t seq,
                                 const char *sender, const char *to, const char *text,
                                 bool sign)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, seq);
    assert_int_equal(ts_envelope_set_sender(env, sender), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, to), TS_OK);
    assert_int_equal(ts_envelope_set_content_type(env, "text/plain"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, text, strlen(text)), TS_OK);
    assert_int_equal(ts_envelope_seal(env, sign ? id : NULL), TS_OK);
    assert_int_equal(ts_envelope_encode(env, &m->bytes, &m->len), TS_OK);
    memcpy(m->hash, ts_envelope_hash(env), sizeof(m->hash));
    memcpy(m->key, ts_identity_public_key(id), sizeof(m->key));
    m->seq = seq;
    ts_envelope_free(env);
}

static inline void test_msg_free(struct test_msg *m)
{
    free(m->bytes);
    m->bytes = NULL;
}

/* The store_message for m: to a room when room is set, else to recipient. */
static inline struct store_message test_msg_store(const struct test_msg *m, const char *room,
                                                  const char *recipient, const char *sender)
{
    struct store_message sm = {
        .room = room,
        .recipient = recipient,
        .sender = sender,
        .sender_seq = m->seq,
        .envelope = m->bytes,
        .envelope_len = m->len,
    };

    memcpy(sm.sender_key, m->key, sizeof(sm.sender_key));
    memcpy(sm.hash, m->hash, sizeof(sm.hash));
    return sm;
}

/* ---- waiting ---- */

struct test_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned done;
};

static inline void test_wait_init(struct test_wait *w)
{
    assert_int_equal(pthread_mutex_init(&w->lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&w->cond, NULL), 0);
    w->done = 0;
}

static inline void test_wait_destroy(struct test_wait *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

static inline void test_wait_signal(struct test_wait *w)
{
    pthread_mutex_lock(&w->lock);
    w->done++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static inline void test_wait_until(struct test_wait *w, unsigned n)
{
    pthread_mutex_lock(&w->lock);
    while (w->done < n)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* ---- write completions ---- */

struct test_ack {
    struct test_wait *wait;
    int rc;
    bool has_row;
    int64_t id;
    uint64_t stored_ms;
    uint64_t seq;
    uint8_t hash[TS_ENVELOPE_HASH_LEN];
    uint8_t chain[STORE_CHAIN_LEN];
    char room[STORE_NAME_MAX + 1];
    char recipient[STORE_NAME_MAX + 1];
    size_t envelope_len;
};

static inline void test_ack_done(void *ctx, int rc, const struct store_row *row)
{
    struct test_ack *a = ctx;

    a->rc = rc;
    a->has_row = row != NULL;
    if (row != NULL) {
        a->id = row->id;
        a->stored_ms = row->stored_ms;
        a->seq = row->sender_seq;
        memcpy(a->hash, row->hash, sizeof(a->hash));
        memcpy(a->chain, row->chain, sizeof(a->chain));
        snprintf(a->room, sizeof(a->room), "%s", row->room);
        snprintf(a->recipient, sizeof(a->recipient), "%s", row->recipient);
        a->envelope_len = row->envelope_len;
    }
    test_wait_signal(a->wait);
}

/* Append and wait for the completion; returns its rc, row in *ack. */
static inline int test_append_sync(store *s, const struct store_message *m,
                                   struct test_ack *ack)
{
    struct test_wait w;

    test_wait_init(&w);
    memset(ack, 0, sizeof(*ack));
    ack->wait = &w;
    assert_int_equal(s->ops->append(s, m, test_ack_done, ack), TS_OK);
    test_wait_until(&w, 1);
    test_wait_destroy(&w);
    ack->wait = NULL;
    return ack->rc;
}

/* A write waited for: pass test_sync_begin(&t) as the completion's ctx
 * (with test_ack_done) and the call's result to test_sync_end(), which
 * waits and returns the completion's rc:
 *   rc = test_sync_end(&t, s->ops->user_delete(s, "a", test_ack_done,
 *                                              test_sync_begin(&t)));  */
struct test_sync {
    struct test_wait wait;
    struct test_ack ack;
};

static inline struct test_ack *test_sync_begin(struct test_sync *t)
{
    test_wait_init(&t->wait);
    memset(&t->ack, 0, sizeof(t->ack));
    t->ack.wait = &t->wait;
    return &t->ack;
}

static inline int test_sync_end(struct test_sync *t, int call_rc)
{
    assert_int_equal(call_rc, TS_OK);
    test_wait_until(&t->wait, 1);
    test_wait_destroy(&t->wait);
    t->ack.wait = NULL;
    return t->ack.rc;
}

/* ---- reads ---- */

struct test_user_result {
    struct test_wait wait;
    int rc;
    struct store_user user;
};

static inline void test_user_done(void *ctx, int rc, const struct store_user *user)
{
    struct test_user_result *r = ctx;

    r->rc = rc;
    if (user != NULL)
        r->user = *user;
    test_wait_signal(&r->wait);
}

/* Look a user up by name (key NULL) or key; returns the rc. */
static inline int test_user_sync(store *s, const char *name, const uint8_t *key,
                                 struct store_user *out)
{
    struct test_user_result r = {0};

    test_wait_init(&r.wait);
    if (name != NULL)
        assert_int_equal(s->ops->user_by_name(s, name, test_user_done, &r), TS_OK);
    else
        assert_int_equal(s->ops->user_by_key(s, key, test_user_done, &r), TS_OK);
    test_wait_until(&r.wait, 1);
    test_wait_destroy(&r.wait);
    *out = r.user;
    return r.rc;
}

/* Ids of the rows a read delivered, in order. */
struct test_rows {
    struct test_wait wait;
    int rc;
    size_t n;
    int64_t ids[TEST_MAX_IDS];
    char last_room[STORE_NAME_MAX + 1];
};

static inline void test_rows_done(void *ctx, int rc, const struct store_row *row)
{
    struct test_rows *r = ctx;

    if (row != NULL) {
        assert_true(r->n < TEST_MAX_IDS);
        r->ids[r->n++] = row->id;
        snprintf(r->last_room, sizeof(r->last_room), "%s", row->room);
        return;
    }
    r->rc = rc;
    test_wait_signal(&r->wait);
}

static inline struct test_rows *test_history_sync(store *s, const char *room, int64_t before,
                                                  unsigned limit)
{
    struct test_rows *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    test_wait_init(&r->wait);
    assert_int_equal(s->ops->history(s, room, before, limit, test_rows_done, r), TS_OK);
    test_wait_until(&r->wait, 1);
    test_wait_destroy(&r->wait);
    return r;
}

static inline struct test_rows *test_offline_sync(store *s, int64_t user_id, unsigned limit)
{
    struct test_rows *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    test_wait_init(&r->wait);
    assert_int_equal(s->ops->offline(s, user_id, limit, test_rows_done, r), TS_OK);
    test_wait_until(&r->wait, 1);
    test_wait_destroy(&r->wait);
    return r;
}

/* ---- files ---- */

static inline void test_db_path(char *out, const char *dir)
{
    snprintf(out, TEST_PATH_MAX, "%s/store.db", dir);
}

static inline store *test_open(const char *path)
{
    struct store_options o = {.path = path, .synchronous_full = true};
    store *s;

    assert_int_equal(store_sqlite_open(&s, &o), TS_OK);
    return s;
}

#endif /* TS_TEST_STORE_H */
