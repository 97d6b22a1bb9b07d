/*
 * A mailbox runs functions on the thread of an event loop on behalf of
 * other threads: post() queues a closure and wakes the loop through an
 * eventfd; the loop runs queued closures in order. This is the only way
 * work crosses threads in the server.
 */
#ifndef TS_SERVER_MAILBOX_H
#define TS_SERVER_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>

#include <event2/event.h>

/* A queued call: fn(arg) runs on the loop thread; on discard (mailbox
 * freed with work pending) fn is called with `discarded` true so it can
 * release arg. */
typedef void (*mailbox_fn)(void *arg, bool discarded);

struct mail;

struct mailbox {
    pthread_mutex_t lock;
    struct mail *head, *tail;
    int efd;
    struct event *ev;
};

/* Attach to base. 0, TS_ERR_IO or TS_ERR_NOMEM. */
int mailbox_init(struct mailbox *mb, struct event_base *base);

/* Queue fn(arg). Thread-safe. 0 or TS_ERR_NOMEM (fn is then not called). */
int mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg);

/* Discard pending mail (calling each with discarded = true) and release. */
void mailbox_free(struct mailbox *mb);

#endif /* TS_SERVER_MAILBOX_H */
