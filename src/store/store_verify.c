/*
 * store_verify_sync(): re-check every stored message and the hash chain
 * (docs/store.md, "Verification").
 */
#include "store/store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/store_sync.h"
#include "util/crypto_init.h"
#include "util/error.h"

/* check_row() found a row that does not match and recorded it. */
#define VERIFY_MISMATCH 1

struct verify {
    struct store_verify_result *out;
    int64_t next_id;                /* id the next row must carry */
    uint8_t chain[STORE_CHAIN_LEN]; /* chain value through the previous row */
};

/* A row's blob columns, empty when of another type. */
struct blobs {
    const uint8_t *key, *envelope, *hash, *chain;
    size_t key_len, envelope_len, hash_len, chain_len;
};

static int mismatch(struct verify *v, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int mismatch(struct verify *v, int64_t row, const char *fmt, ...)
{
    va_list ap;

    v->out->bad_row = row;
    va_start(ap, fmt);
    vsnprintf(v->out->problem, sizeof(v->out->problem), fmt, ap);
    va_end(ap);
    return VERIFY_MISMATCH;
}

static void read_blob(sqlite3_stmt *st, int col, const uint8_t **p, size_t *len)
{
    *p = NULL;
    *len = 0;
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return;
    *p = sqlite3_column_blob(st, col);
    *len = *p != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
}

static void read_blobs(sqlite3_stmt *st, struct blobs *b)
{
    read_blob(st, DB_COL_SENDER_KEY, &b->key, &b->key_len);
    read_blob(st, DB_COL_ENVELOPE, &b->envelope, &b->envelope_len);
    read_blob(st, DB_COL_HASH, &b->hash, &b->hash_len);
    read_blob(st, DB_COL_CHAIN, &b->chain, &b->chain_len);
}

/* Ids run from 1 without gaps (rows are never deleted, and a rolled-back
 * insert does not use up its id), so a gap is a deleted row. */
static int check_id(struct verify *v, int64_t id)
{
    if (id == v->next_id)
        return TS_OK;
    if (id == v->next_id + 1)
        return mismatch(v, v->next_id, "chain: row %" PRId64 " is missing", v->next_id);
    return mismatch(v, v->next_id, "chain: rows %" PRId64 " to %" PRId64 " are missing",
                    v->next_id, id - 1);
}

/* The envelope against its own hash, the row's sender key and sequence. */
static int check_envelope(struct verify *v, int64_t id, uint64_t seq, const struct blobs *b,
                          const ts_envelope *env)
{
    ts_verify_opts opts = {.public_key = b->key,
                           .require_signature = ts_envelope_is_signed(env)};
    int rc;

    if (ts_envelope_id(env) != seq)
        return mismatch(v, id, "envelope: id %" PRIu64 " differs from the row's sequence %" PRIu64,
                        ts_envelope_id(env), seq);
    rc = ts_envelope_verify(env, &opts);
    if (rc == TS_ERR_BAD_HASH)
        return mismatch(v, id, "hash: the envelope's fields do not match its hash");
    if (rc == TS_ERR_BAD_SIGNATURE)
        return mismatch(v, id, "signature: does not verify against the row's sender key");
    if (rc != TS_OK)
        return rc;
    if (b->hash_len != TS_ENVELOPE_HASH_LEN ||
        memcmp(b->hash, ts_envelope_hash(env), TS_ENVELOPE_HASH_LEN) != 0)
        return mismatch(v, id, "hash: the stored hash differs from the envelope's");
    return TS_OK;
}

/* A text column, "" when NULL or of another type. */
static const char *read_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_type(st, col) == SQLITE_TEXT
                                 ? sqlite3_column_text(st, col)
                                 : NULL;

    return t != NULL ? (const char *)t : "";
}

/*
 * The columns the history is read by must say what the envelope says:
 * its sender is the row's sender, and its recipient is "#ROOM" (or ROOM)
 * for a room message or the row's recipient for a direct one. Otherwise
 * an edit of a column alone could move a message into another room or
 * put it in someone else's mouth while every hash still matched. The
 * problems name no column text: an edited column may hold anything.
 */
static int check_addressing(struct verify *v, int64_t id, sqlite3_stmt *st,
                            const ts_envelope *env)
{
    const char *sender = read_text(st, DB_COL_SENDER);
    const char *room = read_text(st, DB_COL_ROOM);
    const char *recipient = read_text(st, DB_COL_RECIPIENT);
    const char *to = ts_envelope_recipient(env);

    if (strcmp(sender, ts_envelope_sender(env)) != 0)
        return mismatch(v, id, "sender: the row's sender differs from the envelope's");
    if (room[0] != '\0' && recipient[0] == '\0') {
        if (strcmp(to, room) == 0 || (to[0] == '#' && strcmp(to + 1, room) == 0))
            return TS_OK;
        return mismatch(v, id, "recipient: the row's room differs from the envelope's recipient");
    }
    if (room[0] == '\0' && recipient[0] != '\0') {
        if (strcmp(to, recipient) == 0)
            return TS_OK;
        return mismatch(v, id, "recipient: the row's recipient differs from the envelope's");
    }
    return mismatch(v, id, "recipient: the row must name either a room or a recipient");
}

static int check_chain(struct verify *v, int64_t id, const struct blobs *b)
{
    uint8_t expect[STORE_CHAIN_LEN];

    store_chain_next(v->chain, b->hash, expect);
    if (b->chain_len != STORE_CHAIN_LEN || memcmp(b->chain, expect, STORE_CHAIN_LEN) != 0)
        return mismatch(v, id, "chain: the stored chain value differs from the recomputed one");
    memcpy(v->chain, expect, STORE_CHAIN_LEN);
    return TS_OK;
}

/* 0 when the row matches, VERIFY_MISMATCH, or an error. */
static int check_row(struct verify *v, sqlite3_stmt *st)
{
    int64_t id = sqlite3_column_int64(st, DB_COL_ID);
    uint64_t seq = db_to_u64(sqlite3_column_int64(st, DB_COL_SENDER_SEQ));
    ts_envelope *env = NULL;
    struct blobs b;
    int rc;

    if ((rc = check_id(v, id)) != TS_OK)
        return rc;
    read_blobs(st, &b);
    if (b.envelope_len == 0)
        return mismatch(v, id, "envelope: missing");
    if (b.key_len != TS_PUBLIC_KEY_LEN)
        return mismatch(v, id, "sender key: %zu bytes instead of %d", b.key_len,
                        TS_PUBLIC_KEY_LEN);
    rc = ts_envelope_decode(b.envelope, b.envelope_len, &env);
    if (rc == TS_ERR_NOMEM)
        return rc;
    if (rc != TS_OK)
        return mismatch(v, id, "envelope: %s", ts_error_detail(rc));
    if ((rc = check_envelope(v, id, seq, &b, env)) == TS_OK &&
        (rc = check_addressing(v, id, st, env)) == TS_OK)
        rc = check_chain(v, id, &b);
    ts_envelope_free(env);
    return rc;
}

static int scan(struct db *db, struct verify *v)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = db_stmt(db, DB_ALL_OLDEST_FIRST, &st)) != TS_OK)
        return rc;
    if ((rc = db_bind_int(db, st, 1, INT64_MAX)) != TS_OK)
        goto done;
    while ((rc = db_step(db, st, "read messages")) == DB_ROW) {
        if ((rc = check_row(v, st)) != TS_OK)
            goto done;
        v->out->rows++;
        v->next_id++;
    }
    if (rc == DB_DONE)
        v->out->ok = true;
    memcpy(v->out->head, v->chain, STORE_CHAIN_LEN);
done:
    db_done(st);
    return rc == VERIFY_MISMATCH ? TS_OK : rc;
}

int store_verify_sync(const char *path, struct store_verify_result *out)
{
    struct verify v = {.out = out, .next_id = 1};
    struct db db;
    int rc;

    if (out == NULL)
        return error_set(TS_ERR_INVALID, "store: verify needs a result");
    memset(out, 0, sizeof(*out));
    if ((rc = crypto_init()) != TS_OK || (rc = sync_open(&db, path)) != TS_OK)
        return rc;
    rc = scan(&db, &v);
    db_close(&db);
    return rc;
}
