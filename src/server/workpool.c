#include "server/workpool.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

struct workpool_job {
    struct workpool_job *next;
    workpool_fn fn;
    void *arg;
};

static void *workpool_main(void *arg)
{
    struct workpool *p = arg;
    struct workpool_job *job;

    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        job = p->head;
        p->head = job->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        job->fn(job->arg, false);
        free(job);
    }
}

int workpool_start(struct workpool *p, unsigned n)
{
    memset(p, 0, sizeof(*p));
    if (pthread_mutex_init(&p->lock, NULL) != 0 || pthread_cond_init(&p->cond, NULL) != 0)
        return TS_ERR_NOMEM;
    p->threads = calloc(n, sizeof(*p->threads));
    if (p->threads == NULL)
        return TS_ERR_NOMEM;
    for (; p->n_threads < n; p->n_threads++) {
        if (pthread_create(&p->threads[p->n_threads], NULL, workpool_main, p) != 0)
            return TS_ERR_NOMEM;
    }
    return TS_OK;
}

int workpool_submit(struct workpool *p, workpool_fn fn, void *arg)
{
    struct workpool_job *job = malloc(sizeof(*job));
    int rc = TS_OK;

    if (job == NULL)
        return TS_ERR_NOMEM;
    job->next = NULL;
    job->fn = fn;
    job->arg = arg;
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->queued >= WORKPOOL_MAX_QUEUE) {
        rc = TS_ERR_LIMIT;
    } else {
        if (p->tail != NULL)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        p->queued++;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    if (rc != TS_OK)
        free(job);
    return rc;
}

void workpool_stop(struct workpool *p)
{
    struct workpool_job *job, *next;

    if (p->threads == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    job = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    for (; job != NULL; job = next) {
        next = job->next;
        job->fn(job->arg, true);
        free(job);
    }
    free(p->threads);
    p->threads = NULL;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}
