#include "store/store_writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store_schema.h"
#include "util/error.h"
#include "util/log.h"

struct write_req *write_req_new(enum write_kind kind, store_write_done done, void *ctx)
{
    struct write_req *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->kind = kind;
    r->done = done;
    r->ctx = ctx;
    return r;
}

void write_req_free(struct write_req *r)
{
    if (r == NULL)
        return;
    if (r->kind == WRITE_APPEND) {
        free(r->u.append.envelope);
        free(r->u.append.offline_for);
    }
    free(r->detail);
    /* User requests carry password hashes. */
    sodium_memzero(r, sizeof(*r));
    free(r);
}

/* ---- the queue ---- */

int writer_submit(struct writer *w, struct write_req *r)
{
    int rc = TS_OK;
    bool was_empty;

    r->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->closing)
        rc = error_set(TS_ERR_CLOSED, "store: closing; write refused");
    else if (w->queued >= WRITER_QUEUE_MAX)
        rc = error_set(TS_ERR_LIMIT, "store: %u writes already queued", WRITER_QUEUE_MAX);
    if (rc != TS_OK) {
        pthread_mutex_unlock(&w->lock);
        write_req_free(r);
        return rc;
    }
    was_empty = w->head == NULL;
    if (w->tail != NULL)
        w->tail->next = r;
    else
        w->head = r;
    w->tail = r;
    w->queued++;
    /* The writer only sleeps on an empty queue. */
    if (was_empty)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return TS_OK;
}

/* Up to max_batch requests in queue order; NULL once closing and empty. */
static struct write_req *take_batch(struct writer *w)
{
    struct write_req *batch, *last;
    unsigned n = 1;

    pthread_mutex_lock(&w->lock);
    while (w->head == NULL && !w->closing)
        pthread_cond_wait(&w->wake, &w->lock);
    batch = w->head;
    if (batch != NULL) {
        for (last = batch; last->next != NULL && n < w->max_batch; last = last->next)
            n++;
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
        w->queued -= n;
    }
    pthread_mutex_unlock(&w->lock);
    return batch;
}

/* ---- one batch ---- */

/* Keep the detail of a failure for the completion, which runs after other
 * store calls have replaced the thread's detail. */
static void keep_detail(struct write_req *r, int rc, const char *detail)
{
    r->rc = rc;
    free(r->detail);
    /* Without memory the completion falls back to ts_strerror(). */
    r->detail = strdup(detail);
}

/* Only requests that write more than one statement need a savepoint to be
 * undone alone; a plain append writes the message row first and nothing
 * else when that fails. */
static bool needs_savepoint(const struct write_req *r)
{
    return r->kind != WRITE_APPEND || r->u.append.n_offline_for > 0;
}

/* End a request's savepoint, keeping its changes unless it failed. */
static int end_savepoint(struct writer *w, bool undo)
{
    int rc;

    if (undo && (rc = db_run(&w->db, DB_ROLLBACK_TO, "undo request")) != TS_OK)
        return rc;
    return db_run(&w->db, DB_RELEASE, "end request");
}

/* Apply r. Returns 0 when the batch may go on (r->rc then holds r's own
 * outcome), or the error that must abort the batch. */
static int run_one(struct writer *w, struct write_req *r, uint8_t chain[STORE_CHAIN_LEN])
{
    bool savepoint = needs_savepoint(r);
    int rc;

    w->db.fatal = false;
    if (savepoint && (rc = db_run(&w->db, DB_SAVEPOINT, "begin request")) != TS_OK)
        return rc;
    rc = apply_write(&w->db, r, chain);
    if (rc != TS_OK && w->db.fatal)
        return rc;
    if (rc != TS_OK && rc != TS_ERR_DUPLICATE)
        keep_detail(r, rc, ts_error_detail(rc));
    r->rc = rc;
    if (savepoint && (rc = end_savepoint(w, r->rc != TS_OK)) != TS_OK)
        return rc;
    if (r->rc == TS_OK && r->kind == WRITE_APPEND)
        memcpy(chain, r->u.append.chain, STORE_CHAIN_LEN);
    return TS_OK;
}

static void fail_batch(struct write_req *batch, int rc)
{
    const char *detail = ts_error_detail(rc);

    LOG_ERROR("store_batch_failed", "error=\"%s\"", detail);
    for (struct write_req *r = batch; r != NULL; r = r->next)
        keep_detail(r, rc, detail);
}

/* Apply and commit a batch; on failure nothing of it is stored and every
 * request carries the error. */
static void run_batch(struct writer *w, struct write_req *batch)
{
    uint8_t chain[STORE_CHAIN_LEN];
    unsigned n = 0;
    int rc;

    memcpy(chain, w->chain, sizeof(chain));
    rc = db_run(&w->db, DB_BEGIN_IMMEDIATE, "begin batch");
    for (struct write_req *r = batch; rc == TS_OK && r != NULL; r = r->next, n++)
        rc = run_one(w, r, chain);
    if (rc == TS_OK)
        rc = db_run(&w->db, DB_COMMIT, "commit batch");
    if (rc != TS_OK) {
        fail_batch(batch, rc);
        db_abort(&w->db);
        return;
    }
    /* Committed: this is now the head of the stored chain. */
    memcpy(w->chain, chain, sizeof(chain));
    w->commits++;
    w->writes += n;
}

static void append_row(const struct write_append *a, struct store_row *row)
{
    row->id = a->id;
    row->stored_ms = a->stored_ms;
    row->room = a->room;
    row->recipient = a->recipient;
    row->sender = a->sender;
    row->sender_key = a->sender_key;
    row->sender_seq = a->sender_seq;
    row->envelope = a->envelope;
    row->envelope_len = a->envelope_len;
    row->hash = a->hash;
    row->chain = a->chain;
}

/* Call the completions in queue order and free the batch. */
static void complete_batch(struct write_req *batch)
{
    struct write_req *r, *next;
    struct store_row row;
    bool has_row;

    for (r = batch; r != NULL; r = next) {
        next = r->next;
        has_row = r->kind == WRITE_APPEND && (r->rc == TS_OK || r->rc == TS_ERR_DUPLICATE);
        if (has_row)
            append_row(&r->u.append, &row);
        /* Let the completion read the detail with ts_error_detail(). */
        if (r->rc != TS_OK && r->detail != NULL)
            error_set(r->rc, "%s", r->detail);
        if (r->done != NULL)
            r->done(r->ctx, r->rc, has_row ? &row : NULL);
        write_req_free(r);
    }
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct write_req *batch;

    while ((batch = take_batch(w)) != NULL) {
        run_batch(w, batch);
        complete_batch(batch);
    }
    return NULL;
}

/* ---- life cycle ---- */

/* The chain value of the newest row, or 32 zero bytes for an empty store. */
static int load_chain(struct writer *w)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(w->chain, 0, sizeof(w->chain));
    if ((rc = db_stmt(&w->db, DB_MSG_LAST_CHAIN, &st)) != TS_OK)
        return rc;
    rc = db_step(&w->db, st, "read last chain value");
    if (rc == DB_ROW) {
        if (sqlite3_column_type(st, 1) == SQLITE_BLOB &&
            sqlite3_column_bytes(st, 1) == STORE_CHAIN_LEN &&
            sqlite3_column_blob(st, 1) != NULL) {
            memcpy(w->chain, sqlite3_column_blob(st, 1), STORE_CHAIN_LEN);
            rc = TS_OK;
        } else {
            rc = error_set(TS_ERR_MALFORMED,
                           "store %s: message %" PRId64 " has a damaged chain value; "
                           "run tcp_server verify-db",
                           w->db.path, (int64_t)sqlite3_column_int64(st, 0));
        }
    }
    db_done(st);
    return rc;
}

static int open_db(struct writer *w, const char *path, bool sync_full)
{
    int rc;

    if ((rc = db_open(&w->db, path, DB_READ_WRITE, sync_full)) != TS_OK)
        return rc;
    if ((rc = schema_migrate(&w->db)) != TS_OK || (rc = load_chain(w)) != TS_OK)
        db_close(&w->db);
    return rc;
}

int writer_start(struct writer *w, const char *path, bool sync_full, unsigned max_batch)
{
    int rc;

    memset(w, 0, sizeof(*w));
    w->max_batch = max_batch != 0 ? max_batch : WRITER_DEFAULT_BATCH;
    if ((rc = open_db(w, path, sync_full)) != TS_OK)
        return rc;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        rc = error_set(TS_ERR_NOMEM, "store: cannot create writer lock");
        goto fail_lock;
    }
    if (pthread_cond_init(&w->wake, NULL) != 0) {
        rc = error_set(TS_ERR_NOMEM, "store: cannot create writer condition");
        goto fail_cond;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        rc = error_set(TS_ERR_NOMEM, "store: cannot start the writer thread");
        goto fail_thread;
    }
    return TS_OK;
fail_thread:
    pthread_cond_destroy(&w->wake);
fail_cond:
    pthread_mutex_destroy(&w->lock);
fail_lock:
    db_close(&w->db);
    return rc;
}

void writer_stop(struct writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    LOG_DEBUG("store_writer_stopped", "path=\"%s\" commits=%" PRIu64 " writes=%" PRIu64,
              w->db.path, w->commits, w->writes);
    db_close(&w->db);
}
