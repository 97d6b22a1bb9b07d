/*
 * A small pool of threads for work that must not run on an event loop
 * (Argon2id password hashing and checks). A job's run() executes on a pool
 * thread; the caller arranges to get the result back to its loop (usually
 * by posting to a mailbox from run()).
 */
#ifndef TS_SERVER_WORKPOOL_H
#define TS_SERVER_WORKPOOL_H

#include <pthread.h>
#include <stdbool.h>

#define WORKPOOL_MAX_QUEUE 4096

typedef void (*workpool_fn)(void *arg, bool discarded);

struct workpool_job;

struct workpool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct workpool_job *head, *tail;
    size_t queued;
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;
};

/* Start n threads. 0, TS_ERR_NOMEM. */
int workpool_start(struct workpool *p, unsigned n);

/* Queue fn(arg). 0, TS_ERR_LIMIT (queue full: refuse the work) or
 * TS_ERR_NOMEM. */
int workpool_submit(struct workpool *p, workpool_fn fn, void *arg);

/* Finish running jobs, discard queued ones (fn called with discarded =
 * true), join the threads. */
void workpool_stop(struct workpool *p);

#endif /* TS_SERVER_WORKPOOL_H */
