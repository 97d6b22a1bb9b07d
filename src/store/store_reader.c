#include "store/store_reader.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store_rows.h"
#include "util/error.h"

int reader_submit(struct reader_pool *p, struct read_req *r)
{
    int rc = TS_OK;

    r->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->closing)
        rc = error_set(TS_ERR_CLOSED, "store: closing; read refused");
    else if (p->queued >= READER_QUEUE_MAX)
        rc = error_set(TS_ERR_LIMIT, "store: %u reads already queued", READER_QUEUE_MAX);
    if (rc == TS_OK) {
        if (p->tail != NULL)
            p->tail->next = r;
        else
            p->head = r;
        p->tail = r;
        p->queued++;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc != TS_OK)
        free(r);
    return rc;
}

/* The next read; NULL once closing and nothing is left. */
static struct read_req *take(struct reader_pool *p)
{
    struct read_req *r;

    pthread_mutex_lock(&p->lock);
    while (p->head == NULL && !p->closing)
        pthread_cond_wait(&p->wake, &p->lock);
    r = p->head;
    if (r != NULL) {
        p->head = r->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

static int forward_row(void *ctx, const struct store_row *row)
{
    const struct read_req *r = ctx;

    r->done.rows(r->ctx, TS_OK, row);
    return 0;
}

static int forward_user(void *ctx, const struct store_user *user)
{
    const struct read_req *r = ctx;

    r->done.users(r->ctx, TS_OK, user);
    return 0;
}

static void run_user_lookup(struct db *db, const struct read_req *r)
{
    struct store_user user;
    int rc;

    rc = r->kind == READ_USER_BY_NAME ? rows_user_by_name(db, r->name, &user)
                                      : rows_user_by_key(db, r->key, &user);
    r->done.user(r->ctx, rc, rc == TS_OK ? &user : NULL);
    /* The record holds a password hash. */
    sodium_memzero(&user, sizeof(user));
}

static void run(struct db *db, const struct read_req *r)
{
    int rc;

    switch (r->kind) {
    case READ_USER_BY_NAME:
    case READ_USER_BY_KEY:
        run_user_lookup(db, r);
        return;
    case READ_USERS:
        rc = rows_users(db, forward_user, (void *)r);
        r->done.users(r->ctx, rc, NULL);
        return;
    case READ_HISTORY:
        rc = rows_history(db, r->name, r->before_id, r->limit, forward_row, (void *)r);
        r->done.rows(r->ctx, rc, NULL);
        return;
    case READ_OFFLINE:
        rc = rows_offline(db, r->user_id, r->limit, forward_row, (void *)r);
        r->done.rows(r->ctx, rc, NULL);
        return;
    }
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    struct read_req *r;

    while ((r = take(rd->pool)) != NULL) {
        run(&rd->db, r);
        free(r);
    }
    return NULL;
}

/* Stop the first n threads and close every connection. */
static void stop_threads(struct reader_pool *p, unsigned n)
{
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(p->readers[i].thread, NULL);
    for (unsigned i = 0; i < READER_MAX_THREADS; i++)
        db_close(&p->readers[i].db);
}

static int start_threads(struct reader_pool *p, const char *path, unsigned n)
{
    int rc = TS_OK;

    for (unsigned i = 0; i < n; i++) {
        p->readers[i].pool = p;
        if ((rc = db_open(&p->readers[i].db, path, DB_READ_ONLY, false)) != TS_OK)
            return rc;
    }
    for (p->n = 0; p->n < n; p->n++)
        if (pthread_create(&p->readers[p->n].thread, NULL, reader_main, &p->readers[p->n]) != 0)
            return error_set(TS_ERR_NOMEM, "store: cannot start reader thread");
    return TS_OK;
}

int reader_start(struct reader_pool *p, const char *path, unsigned n)
{
    int rc;

    memset(p, 0, sizeof(*p));
    if (n == 0)
        n = READER_DEFAULT_THREADS;
    if (n > READER_MAX_THREADS)
        n = READER_MAX_THREADS;
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        return error_set(TS_ERR_NOMEM, "store: cannot create reader lock");
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        rc = error_set(TS_ERR_NOMEM, "store: cannot create reader condition");
        goto fail_cond;
    }
    if ((rc = start_threads(p, path, n)) != TS_OK)
        goto fail;
    return TS_OK;
fail:
    stop_threads(p, p->n);
    pthread_cond_destroy(&p->wake);
fail_cond:
    pthread_mutex_destroy(&p->lock);
    return rc;
}

void reader_stop(struct reader_pool *p)
{
    stop_threads(p, p->n);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
}
