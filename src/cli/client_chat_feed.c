/*
 * The interactive chat's feed (client_chat_tty.h): the client thread
 * copies what arrives into a queue and wakes the main thread, which shows
 * it above the input line. Nothing is printed from the client thread, so
 * output never lands in the middle of the line being edited.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <tcpseal/error.h>

#include "cli/client_chat_tty.h"

/* The context of a command or message of ours, until its answer. */
struct tty_pending {
    struct chat_tty *t;
    enum tty_what what;
    char arg[CHAT_NAME_MAX + 2];
};

int tty_feed_init(struct chat_tty *t)
{
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot create a mutex");
        return -1;
    }
    if ((t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        cli_error(CLIENT_PROGRAM, "eventfd: %s", strerror(errno));
        pthread_mutex_destroy(&t->lock);
        return -1;
    }
    return 0;
}

static void item_free(struct tty_item *it)
{
    ts_envelope_free(it->env);
    free(it);
}

static struct tty_item *take_all(struct chat_tty *t)
{
    struct tty_item *all;

    pthread_mutex_lock(&t->lock);
    all = t->head;
    t->head = t->tail = NULL;
    t->n_items = 0;
    pthread_mutex_unlock(&t->lock);
    return all;
}

void tty_feed_free(struct chat_tty *t)
{
    struct tty_item *it = take_all(t), *next;

    for (; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    close(t->wake_fd);
    pthread_mutex_destroy(&t->lock);
}

/* Queue it (owned from here on) and wake the main thread. */
static void feed(struct chat_tty *t, struct tty_item *it)
{
    struct tty_item *dropped = NULL;
    uint64_t one = 1;

    pthread_mutex_lock(&t->lock);
    if (t->n_items >= CHAT_TTY_FEED_MAX) {
        dropped = t->head;
        t->head = dropped->next;
        t->n_items--;
        if (t->head == NULL)
            t->tail = NULL;
    }
    if (t->tail != NULL)
        t->tail->next = it;
    else
        t->head = it;
    t->tail = it;
    t->n_items++;
    pthread_mutex_unlock(&t->lock);
    if (dropped != NULL)
        item_free(dropped);
    (void)!write(t->wake_fd, &one, sizeof(one));
}

static struct tty_item *item_new(enum tty_item_kind kind, const ts_envelope *env)
{
    struct tty_item *it = calloc(1, sizeof(*it));

    if (it == NULL)
        return NULL;
    it->kind = kind;
    if (env != NULL && ts_envelope_clone(env, &it->env) != TS_OK) {
        free(it);
        return NULL;
    }
    return it;
}

void tty_on_message(struct chat *chat, const ts_envelope *env, enum chat_verdict v, void *arg)
{
    struct tty_item *it = item_new(TTY_ITEM_MESSAGE, env);

    if (it == NULL)
        return; /* out of memory: the message stays in the room's history */
    it->verdict = v;
    feed(arg, it);
}

void tty_on_state(struct chat *chat, ts_client_state state, const char *reason, void *arg)
{
    struct chat_tty *t = arg;
    struct tty_item *it;

    /* The first session is no news; only a loss and its recovery are. */
    if (state == TS_CLIENT_RECONNECTING)
        t->lost = true;
    else if (state != TS_CLIENT_CONNECTED || !t->lost)
        return;
    if ((it = item_new(TTY_ITEM_NOTE, NULL)) == NULL)
        return;
    if (state == TS_CLIENT_CONNECTED)
        snprintf(it->detail, sizeof(it->detail), "connected again");
    else
        snprintf(it->detail, sizeof(it->detail), "connection lost (%s); reconnecting",
                 reason[0] != '\0' ? reason : "no reason given");
    feed(arg, it);
}

void *tty_pending_new(struct chat_tty *t, enum tty_what what, const char *arg)
{
    struct tty_pending *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->t = t;
    p->what = what;
    snprintf(p->arg, sizeof(p->arg), "%s", arg != NULL ? arg : "");
    return p;
}

void tty_on_answer(ts_client *c, uint64_t id, int status, const ts_envelope *answer, void *arg)
{
    struct tty_pending *p = arg;
    struct tty_item *it = item_new(TTY_ITEM_ANSWER, answer);

    if (it != NULL) {
        it->what = p->what;
        it->status = status;
        memcpy(it->arg, p->arg, sizeof(it->arg));
        if (status != TS_OK && status != TS_ERR_SERVER)
            snprintf(it->detail, sizeof(it->detail), "%s", ts_error_detail(status));
        feed(p->t, it);
    }
    free(p);
}

static void show_message(struct chat_tty *t, const ts_envelope *env, enum chat_verdict v)
{
    tty_print_begin(t);
    chat_show_line(stdout, env, v, 0, NULL);
    tty_print_end(t);
}

void tty_feed_show(struct chat_tty *t)
{
    struct tty_item *it, *next;
    uint64_t count;

    (void)!read(t->wake_fd, &count, sizeof(count));
    for (it = take_all(t); it != NULL; it = next) {
        next = it->next;
        if (it->kind == TTY_ITEM_MESSAGE)
            show_message(t, it->env, it->verdict);
        else if (it->kind == TTY_ITEM_ANSWER)
            tty_answer_show(t, it->what, it->arg, it->status, it->env, it->detail);
        else
            tty_note(t, "%s", it->detail);
        item_free(it);
    }
}
