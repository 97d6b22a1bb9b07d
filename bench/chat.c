/*
 * Users, rooms and Chat traffic for the chat and fanout scenarios (see
 * chat.h).
 */
#include "chat.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <tcpseal/protocol.h>

#include "chat_plan.h"
#include "request.h"
#include "scenario.h"

enum chat_step {
    STEP_NONE,     /* not connected yet */
    STEP_REGISTER, /* register sent */
    STEP_JOIN,     /* join sent */
    STEP_READY,    /* in the room */
};

static unsigned conn_index(const struct bench_conn *c)
{
    return c->th->first_conn + (unsigned)(c - c->th->conns);
}

unsigned chat_keys(const struct bench_options *opt)
{
    /* Each user's key is bound to its own account. */
    return opt->connections;
}

int chat_prepare(struct bench_run *run)
{
    uint8_t secret[BENCH_PASSWORD_LEN / 2];

    chat_plan_tag(run->tag);
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(run->password, sizeof(run->password), secret, sizeof(secret));
    sodium_memzero(secret, sizeof(secret));
    return 0;
}

int chat_thread_start(struct bench_thread *th)
{
    for (unsigned i = 0; i < th->n_conns; i++) {
        struct bench_conn *c = &th->conns[i];

        c->role = (uint8_t)chat_plan_role(th->opt, conn_index(c));
        if (c->role == CHAT_SLOW)
            c->rcvbuf = CHAT_SLOW_RCVBUF;
    }
    return 0;
}

/* ---- set-up ---- */

/* Send the Command json (n bytes, as snprintf into a buffer of cap
 * returned it: user and room names and the hex password need no JSON
 * escaping), then wipe it: it may hold the password. */
static void send_command(struct bench_conn *c, uint64_t now, char *json, size_t cap, int n)
{
    if (n < 0 || (size_t)n >= cap)
        conn_finish(c, "command_too_long");
    else
        (void)request_send_command(c, json, (size_t)n, now);
    sodium_memzero(json, cap);
}

void chat_ready(struct bench_conn *c, uint64_t now)
{
    char user[CHAT_NAME_MAX + 1], json[REQUEST_COMMAND_MAX];
    int n;

    chat_plan_user(c->th->run->tag, conn_index(c), user);
    c->step = STEP_REGISTER;
    c->delivered = 0;
    c->setup_deadline_us = now + CHAT_SETUP_TIMEOUT_US;
    n = snprintf(json, sizeof(json), "{\"cmd\":\"register\",\"user\":\"%s\",\"password\":\"%s\"}",
                 user, c->th->run->password);
    send_command(c, now, json, sizeof(json), n);
}

/* Take part in the load: from its start, or at once when set-up
 * finished late. */
static void chat_start_load(struct bench_conn *c, uint64_t now)
{
    if (c->role == CHAT_SLOW) {
        c->slow = true;
        conn_pause(c, true);
    } else if (c->role == CHAT_SENDER && now < atomic_load(&c->th->run->end_us)) {
        scenario_fill_window(c, now);
    }
}

static void joined(struct bench_conn *c, uint64_t now)
{
    struct bench_thread *th = c->th;
    char user[CHAT_NAME_MAX + 1], room[CHAT_NAME_MAX + 1];
    int rc;

    chat_plan_user(th->run->tag, conn_index(c), user);
    chat_plan_room(th->opt, th->run->tag, conn_index(c), room);
    if ((rc = request_set_chat(c, user, room)) != TS_OK) {
        loop_note_error(th, ts_error_detail(rc));
        conn_finish(c, "encode_failed");
        return;
    }
    c->step = STEP_READY;
    c->setup_deadline_us = 0;
    atomic_fetch_add(&th->run->opened, 1);
    if (th->begun)
        chat_start_load(c, now);
}

/* An answer to the set-up command in flight. */
static void setup_next(struct bench_conn *c, enum request_outcome outcome, uint64_t now)
{
    char room[CHAT_NAME_MAX + 1], json[REQUEST_COMMAND_MAX];
    int n;

    if (outcome == REQUEST_REFUSED) {
        /* The refusal is counted by its reason; the connection is of no
         * use without its account or room. */
        conn_finish(c, NULL);
    } else if (c->step == STEP_REGISTER) {
        chat_plan_room(c->th->opt, c->th->run->tag, conn_index(c), room);
        c->step = STEP_JOIN;
        n = snprintf(json, sizeof(json), "{\"cmd\":\"join\",\"room\":\"%s\"}", room);
        send_command(c, now, json, sizeof(json), n);
    } else if (c->step == STEP_JOIN) {
        joined(c, now);
    }
}

/* ---- traffic ---- */

/* A Chat message relayed to this member. */
static void delivered(struct bench_conn *c, const ts_envelope *env, uint64_t now)
{
    struct bench_thread *th = c->th;
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    uint64_t sent;

    /* A slow member reads its backlog after the window: not a delivery
     * the server managed, only the way to learn how it ended. */
    if (c->slow)
        return;
    if (chat_stamp_read(p, len, &sent) != 0) {
        tally_add(&th->stats.errors, "bad_delivery", 1);
        return;
    }
    if (bench_in_window(th->run, now)) {
        th->stats.deliveries++;
        c->delivered++;
    }
    if (bench_in_window(th->run, sent))
        histogram_record(&th->stats.delivery, now > sent ? now - sent : 0);
}

/*
 * Relayed envelopes are decoded (the decoder checks every length) but
 * their hash is not recomputed: the server forwards the sender's bytes
 * unchanged, the sender is this program, and hashing every delivery
 * would measure the load generator rather than the server. Events (joins,
 * leaves, presence) and operator notices are expected and not counted.
 */
static void other_message(struct bench_conn *c, const ts_envelope *env, uint64_t now)
{
    ts_msg_type type = ts_envelope_type(env);

    if (type == TS_MSG_CHAT)
        delivered(c, env, now);
    else if (type != TS_MSG_EVENT && type != TS_MSG_NOTICE)
        tally_add2(&c->th->stats.errors, "unexpected", ts_msg_type_name(type), 1);
}

int chat_message(struct bench_conn *c, uint8_t *data, size_t len, uint64_t now)
{
    struct bench_thread *th = c->th;
    ts_envelope *other;
    enum request_outcome outcome = request_receive(c, data, len, now, &other);

    if (other != NULL) {
        other_message(c, other, now);
        ts_envelope_free(other);
    } else if (outcome != REQUEST_OTHER && c->step != STEP_READY) {
        setup_next(c, outcome, now);
    } else if (outcome != REQUEST_OTHER && c->role == CHAT_SENDER && th->begun &&
               !th->stopping && now < atomic_load(&th->run->end_us)) {
        scenario_fill_window(c, now);
    }
    return 0;
}

void chat_closed(struct bench_conn *c, const char *failure, uint64_t now)
{
    struct bench_run *run = c->th->run;

    if (c->th->stopping)
        return;
    if (c->step != STEP_READY)
        atomic_fetch_add(&run->open_failed, 1);
    else if (failure != NULL && !c->slow)
        atomic_fetch_add(&run->dropped, 1);
    c->step = STEP_NONE;
}

/* ---- the phases, on each loop thread ---- */

static void chat_begin(struct bench_thread *th, uint64_t now)
{
    th->begun = true;
    for (unsigned i = 0; i < th->n_conns; i++) {
        struct bench_conn *c = &th->conns[i];

        if (c->phase == CONN_READY && c->step == STEP_READY)
            chat_start_load(c, now);
    }
}

/* The window closed: note how evenly the members that kept reading were
 * served, and let the slow ones read again to learn how they ended. */
static void chat_end(struct bench_thread *th)
{
    struct bench_stats *s = &th->stats;

    th->ended = true;
    for (unsigned i = 0; i < th->n_conns; i++) {
        struct bench_conn *c = &th->conns[i];

        if (c->slow && c->phase != CONN_FREE)
            conn_pause(c, false);
        if (c->role != CHAT_READER || c->phase != CONN_READY || c->step != STEP_READY)
            continue;
        s->members++;
        if (c->delivered < s->member_min)
            s->member_min = c->delivered;
        if (c->delivered > s->member_max)
            s->member_max = c->delivered;
    }
}

/* Slow members still connected: a server that has not cut them yet. */
static unsigned slow_open(const struct bench_thread *th)
{
    unsigned n = 0;

    for (unsigned i = 0; i < th->n_conns; i++)
        n += th->conns[i].slow && th->conns[i].phase != CONN_FREE;
    return n;
}

uint64_t chat_tick(struct bench_thread *th, uint64_t now)
{
    struct bench_run *run = th->run;
    uint64_t go = atomic_load(&run->go_us), end, wake;

    wake = loop_open_more(th, now, scenario_open_window(th));
    if (go == 0 || now < go)
        return go != 0 && go < wake ? go : wake;
    if (!th->begun)
        chat_begin(th, now);
    if (!th->ended && now >= atomic_load(&run->end_us))
        chat_end(th);
    end = atomic_load(&run->end_us);
    if (now < end)
        return end;
    /* Answers get the usual drain; slow members, longer to read their
     * backlog and the end the server gave them. */
    if ((loop_in_flight(th) == 0 || now - end >= SCENARIO_DRAIN_US) &&
        (slow_open(th) == 0 || now - end >= CHAT_SLOW_DRAIN_US)) {
        if (slow_open(th) > 0)
            tally_add(&th->stats.slow_ends, "not_cut", slow_open(th));
        th->done = true;
    }
    return now + 1000;
}
