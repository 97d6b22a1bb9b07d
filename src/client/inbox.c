/*
 * The inbox, in memory or in the store file (inbox.h).
 */
#include "client/inbox.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "client/client_db.h"
#include "util/error.h"

#define INBOX_RING_INITIAL 16

static void item_clear(struct inbox_item *it)
{
    if (it->data != NULL) {
        sodium_memzero(it->data, it->len);
        free(it->data);
    }
    memset(it, 0, sizeof(*it));
}

static int db_count(struct inbox *ib)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = client_db_stmt(ib->db, SQL_INBOX_COUNT, &st)) != TS_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ib->count = (size_t)sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? TS_OK : client_db_fail(ib->db, "count the inbox");
    sqlite3_reset(st);
    return rc;
}

/* Drop the oldest rows beyond the limit. */
static int db_trim(struct inbox *ib)
{
    sqlite3_stmt *st;
    int rc;

    if (ib->count <= ib->limit)
        return TS_OK;
    if ((rc = client_db_stmt(ib->db, SQL_INBOX_TRIM, &st)) != TS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)ib->limit);
    rc = sqlite3_step(st) == SQLITE_DONE ? TS_OK : client_db_fail(ib->db, "trim the inbox");
    sqlite3_reset(st);
    if (rc == TS_OK)
        ib->count = ib->limit;
    return rc;
}

int inbox_open(struct inbox *ib, struct client_db *db, size_t limit)
{
    int rc;

    memset(ib, 0, sizeof(*ib));
    ib->db = db;
    ib->limit = limit;
    if (db != NULL) {
        if ((rc = db_count(ib)) != TS_OK)
            return rc;
        return db_trim(ib);
    }
    return TS_OK;
}

/* The memory ring grows as needed up to limit slots, so a large limit
 * costs nothing until messages arrive. */
static int ring_grow(struct inbox *ib)
{
    size_t cap = ib->cap != 0 ? ib->cap * 2 : INBOX_RING_INITIAL;
    struct inbox_item *ring;

    if (cap > ib->limit)
        cap = ib->limit;
    if ((ring = calloc(cap, sizeof(*ring))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ib->count; i++)
        ring[i] = ib->ring[(ib->head + i) % ib->cap];
    free(ib->ring);
    ib->ring = ring;
    ib->cap = cap;
    ib->head = 0;
    return TS_OK;
}

static int db_add(struct inbox *ib, const uint8_t *data, size_t len, bool verified,
                  uint64_t received_ms)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = client_db_begin(ib->db)) != TS_OK)
        return rc;
    if ((rc = client_db_stmt(ib->db, SQL_INBOX_ADD, &st)) != TS_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)received_ms);
    sqlite3_bind_blob64(st, 2, len > 0 ? (const void *)data : "", len, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, verified ? 1 : 0);
    rc = sqlite3_step(st) == SQLITE_DONE ? TS_OK : client_db_fail(ib->db, "add to the inbox");
    sqlite3_reset(st);
    if (rc != TS_OK)
        goto fail;
    ib->count++;
    if ((rc = db_trim(ib)) != TS_OK)
        goto fail;
    if ((rc = client_db_commit(ib->db)) != TS_OK) {
        (void)db_count(ib); /* the commit rolled back: recount */
        return rc;
    }
    return TS_OK;
fail:
    client_db_rollback(ib->db);
    (void)db_count(ib);
    return rc;
}

static int mem_add(struct inbox *ib, const uint8_t *data, size_t len, bool verified,
                   uint64_t received_ms)
{
    struct inbox_item *it;
    uint8_t *copy;

    if (ib->count == ib->cap && ib->cap < ib->limit && ring_grow(ib) != TS_OK)
        return TS_ERR_NOMEM;
    if ((copy = malloc(len > 0 ? len : 1)) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    if (len > 0)
        memcpy(copy, data, len);
    if (ib->count == ib->limit) {
        /* Full: the oldest slot becomes the newest. */
        it = &ib->ring[ib->head];
        item_clear(it);
        ib->head = (ib->head + 1) % ib->cap;
    } else {
        it = &ib->ring[(ib->head + ib->count) % ib->cap];
        ib->count++;
    }
    it->data = copy;
    it->len = len;
    it->verified = verified;
    it->received_ms = received_ms;
    return TS_OK;
}

int inbox_add(struct inbox *ib, const uint8_t *data, size_t len, bool verified,
              uint64_t received_ms)
{
    if (ib->limit == 0)
        return TS_OK;
    if (ib->db != NULL)
        return db_add(ib, data, len, verified, received_ms);
    return mem_add(ib, data, len, verified, received_ms);
}

static int db_list(struct inbox *ib, size_t max, inbox_item_fn fn, void *arg)
{
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = client_db_stmt(ib->db, SQL_INBOX_LIST, &st)) != TS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 received = sqlite3_column_int64(st, 0);
        const uint8_t *data = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        bool verified = sqlite3_column_int(st, 2) != 0;

        rc = fn(arg, data, len > 0 ? (size_t)len : 0, verified,
                received > 0 ? (uint64_t)received : 0);
        if (rc != TS_OK) {
            sqlite3_reset(st);
            return rc;
        }
    }
    rc = step == SQLITE_DONE ? TS_OK : client_db_fail(ib->db, "read the inbox");
    sqlite3_reset(st);
    return rc;
}

int inbox_list(struct inbox *ib, size_t max, inbox_item_fn fn, void *arg)
{
    size_t skip;
    int rc;

    if (ib->db != NULL)
        return db_list(ib, max, fn, arg);
    skip = ib->count > max ? ib->count - max : 0;
    for (size_t i = skip; i < ib->count; i++) {
        const struct inbox_item *it = &ib->ring[(ib->head + i) % ib->cap];

        if ((rc = fn(arg, it->data, it->len, it->verified, it->received_ms)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

void inbox_close(struct inbox *ib)
{
    if (ib->ring != NULL) {
        for (size_t i = 0; i < ib->cap; i++)
            item_clear(&ib->ring[i]);
        free(ib->ring);
    }
    memset(ib, 0, sizeof(*ib));
}
