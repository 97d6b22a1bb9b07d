/*
 * Events from the client library's thread to the agent's main loop: the
 * callbacks copy what arrived into a queue and wake the loop through an
 * eventfd; the loop takes the queue and hands each event to the control
 * connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "util/log.h"

int agent_events_init(struct agent_events *q)
{
    memset(q, 0, sizeof(*q));
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot create a mutex");
        return -1;
    }
    if ((q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        cli_error(CLIENT_PROGRAM, "eventfd: %s", strerror(errno));
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    return 0;
}

void agent_event_free(struct agent_event *ev)
{
    if (ev == NULL)
        return;
    if (ev->data != NULL) {
        sodium_memzero(ev->data, ev->len);
        free(ev->data);
    }
    free(ev);
}

void agent_events_free(struct agent_events *q)
{
    struct agent_event *ev = agent_events_take(q);

    while (ev != NULL) {
        struct agent_event *next = ev->next;

        agent_event_free(ev);
        ev = next;
    }
    close(q->fd);
    pthread_mutex_destroy(&q->lock);
}

static void push(struct agent_events *q, struct agent_event *ev)
{
    struct agent_event *dropped = NULL;
    uint64_t one = 1;

    pthread_mutex_lock(&q->lock);
    if (q->count >= AGENT_EVENTS_MAX) {
        dropped = q->head;
        q->head = dropped->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->count--;
    }
    if (q->tail != NULL)
        q->tail->next = ev;
    else
        q->head = ev;
    q->tail = ev;
    q->count++;
    pthread_mutex_unlock(&q->lock);
    if (dropped != NULL) {
        LOG_WARN("agent_event_dropped", "reason=\"main loop behind\" id=%llu",
                 (unsigned long long)dropped->id);
        agent_event_free(dropped);
    }
    (void)!write(q->fd, &one, sizeof(one));
}

static struct agent_event *event_new(enum agent_event_kind kind, const ts_envelope *env,
                                     bool verified)
{
    struct agent_event *ev = calloc(1, sizeof(*ev));

    if (ev == NULL)
        return NULL;
    ev->kind = kind;
    ev->verified = verified;
    if (env != NULL && ts_envelope_encode(env, &ev->data, &ev->len) != TS_OK) {
        free(ev);
        return NULL;
    }
    return ev;
}

static void answer_event(uint64_t id, int status, const ts_envelope *answer, bool command,
                         struct agent_events *q)
{
    /* Whatever the library delivers passed its checks: signed means
     * verified against the server identity. */
    struct agent_event *ev =
        event_new(AGENT_EV_ANSWER, answer, answer != NULL && ts_envelope_is_signed(answer));

    if (ev == NULL) {
        LOG_ERROR("agent_event_lost", "id=%llu reason=\"out of memory\"", (unsigned long long)id);
        return;
    }
    ev->id = id;
    ev->status = status;
    ev->command = command;
    push(q, ev);
}

void agent_events_on_answer(ts_client *c, uint64_t id, int status, const ts_envelope *answer,
                            void *arg)
{
    answer_event(id, status, answer, false, arg);
}

void agent_events_on_command_answer(ts_client *c, uint64_t id, int status,
                                    const ts_envelope *answer, void *arg)
{
    answer_event(id, status, answer, true, arg);
}
void agent_events_on_chat(struct chat *chat, const ts_envelope *msg,
                          enum chat_verdict verdict, void *arg)
{
    struct agent_event *ev = event_new(AGENT_EV_MESSAGE, msg, verdict == CHAT_VERIFIED);

    if (ev == NULL) {
        LOG_ERROR("agent_event_lost", "id=%llu reason=\"out of memory\"",
                  (unsigned long long)ts_envelope_id(msg));
        return;
    }
    ev->verdict = verdict;
    push(arg, ev);
}
struct agent_event *agent_events_take(struct agent_events *q)
{
    struct agent_event *all;
    uint64_t count;

    (void)!read(q->fd, &count, sizeof(count));
    pthread_mutex_lock(&q->lock);
    all = q->head;
    q->head = q->tail = NULL;
    q->count = 0;
    pthread_mutex_unlock(&q->lock);
    return all;
}
