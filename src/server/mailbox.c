#include "server/mailbox.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/error.h"

struct mail {
    struct mail *next;
    mailbox_fn fn;
    void *arg;
};

static struct mail *take_all(struct mailbox *mb)
{
    struct mail *list;

    pthread_mutex_lock(&mb->lock);
    list = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    return list;
}

static void mailbox_on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct mailbox *mb = arg;
    uint64_t count;
    struct mail *m, *next;

    /* Reset the eventfd first so a post racing with us wakes us again. */
    if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        /* Nothing to recover: the queue below is still drained. */
    }
    for (m = take_all(mb); m != NULL; m = next) {
        next = m->next;
        m->fn(m->arg, false);
        free(m);
    }
}

int mailbox_init(struct mailbox *mb, struct event_base *base)
{
    memset(mb, 0, sizeof(*mb));
    mb->efd = -1;
    if (pthread_mutex_init(&mb->lock, NULL) != 0)
        return error_set(TS_ERR_NOMEM, "mailbox: cannot create lock");
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->efd < 0)
        return error_set(TS_ERR_IO, "mailbox: eventfd: %s", strerror(errno));
    mb->ev = event_new(base, mb->efd, EV_READ | EV_PERSIST, mailbox_on_wake, mb);
    if (mb->ev == NULL || event_add(mb->ev, NULL) != 0)
        return error_set(TS_ERR_NOMEM, "mailbox: cannot register event");
    return TS_OK;
}

int mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg)
{
    struct mail *m = malloc(sizeof(*m));
    uint64_t one = 1;
    bool was_empty;

    if (m == NULL)
        return TS_ERR_NOMEM;
    m->next = NULL;
    m->fn = fn;
    m->arg = arg;
    pthread_mutex_lock(&mb->lock);
    was_empty = mb->head == NULL;
    if (mb->tail != NULL)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    pthread_mutex_unlock(&mb->lock);
    /* One wake-up per batch: the loop drains everything queued. */
    if (was_empty && write(mb->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return error_set(TS_ERR_IO, "mailbox: wake-up failed: %s", strerror(errno));
    return TS_OK;
}

void mailbox_free(struct mailbox *mb)
{
    struct mail *m, *next;

    for (m = take_all(mb); m != NULL; m = next) {
        next = m->next;
        m->fn(m->arg, true);
        free(m);
    }
    if (mb->ev != NULL)
        event_free(mb->ev);
    if (mb->efd >= 0)
        close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    mb->ev = NULL;
    mb->efd = -1;
}
