#include "request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <tcpseal/protocol.h>

#include "chat_plan.h"
#include "util/clock.h"

#define REQUEST_CONTENT_TYPE_JSON "application/json"
#define REQUEST_CONTENT_TYPE_TEXT "text/plain; charset=utf-8"

int request_thread_init(struct bench_thread *th)
{
    size_t n = th->opt->payload;

    if (th->opt->window == 0)
        return 0;
    th->encbuf_cap = (n > REQUEST_COMMAND_MAX ? n : REQUEST_COMMAND_MAX) +
                     REQUEST_ENVELOPE_OVERHEAD;
    th->encbuf = malloc(th->encbuf_cap);
    th->payload = malloc(n > 0 ? n : 1);
    if (th->encbuf == NULL || th->payload == NULL)
        return -1;
    /* Printable bytes, so the JSON views of these messages stay text. */
    for (size_t i = 0; i < n; i++)
        th->payload[i] = (uint8_t)('a' + i % 26);
    return 0;
}

void request_thread_free(struct bench_thread *th)
{
    free(th->encbuf);
    free(th->payload);
    th->encbuf = NULL;
    th->payload = NULL;
}

/* A new envelope of type with these fields (recipient and content type
 * may be NULL). 0 or an error code. */
static int envelope_make(ts_envelope **out, ts_msg_type type, const char *sender,
                         const char *recipient, const char *content_type)
{
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_new(&env, type)) != TS_OK)
        return rc;
    if ((rc = ts_envelope_set_sender(env, sender)) != TS_OK ||
        (recipient != NULL && (rc = ts_envelope_set_recipient(env, recipient)) != TS_OK) ||
        (content_type != NULL && (rc = ts_envelope_set_content_type(env, content_type)) != TS_OK)) {
        ts_envelope_free(env);
        return rc;
    }
    *out = env;
    return TS_OK;
}

int request_set_chat(struct bench_conn *c, const char *user, const char *room)
{
    char to[CHAT_NAME_MAX + 2];
    ts_envelope *env;
    int rc;

    snprintf(to, sizeof(to), "#%s", room);
    if ((rc = envelope_make(&env, TS_MSG_CHAT, user, to, REQUEST_CONTENT_TYPE_TEXT)) != TS_OK)
        return rc;
    ts_envelope_free(c->req);
    c->req = env;
    return TS_OK;
}

/* The template's payload for this message: fixed for a Request; for a
 * Chat message the thread's bytes behind a fresh time stamp. */
static int template_ready(struct bench_conn *c, uint64_t due_us)
{
    struct bench_thread *th = c->th;
    int rc;

    if (c->req == NULL) {
        if ((rc = envelope_make(&c->req, TS_MSG_REQUEST, c->key->fingerprint, NULL, NULL)) !=
            TS_OK)
            return rc;
        return ts_envelope_set_payload(c->req, th->payload, th->opt->payload);
    }
    if (ts_envelope_type(c->req) != TS_MSG_CHAT)
        return TS_OK;
    chat_stamp_write(th->payload, due_us);
    return ts_envelope_set_payload(c->req, th->payload, th->opt->payload);
}

/* Number, stamp, seal and encode env into the thread's buffer, send it
 * and put it in flight. 0, 1 (window full) or -1 (dropped). */
static int envelope_send(struct bench_conn *c, ts_envelope *env, uint64_t due_us, size_t *len)
{
    struct bench_thread *th = c->th;
    struct inflight *q = &c->inflight;
    uint64_t id = c->key->next_id;
    int rc;

    *len = 0;
    if (q->count >= q->cap) {
        tally_add(&th->stats.errors, "backlog_full", 1);
        return 1;
    }
    ts_envelope_set_id(env, id);
    ts_envelope_set_timestamp(env, clock_wall_ms());
    if ((rc = ts_envelope_seal(env, th->opt->sign ? c->key->id : NULL)) != TS_OK ||
        (rc = ts_envelope_encode_to(env, th->encbuf, th->encbuf_cap, len)) != TS_OK) {
        loop_note_error(th, ts_error_detail(rc));
        conn_finish(c, "encode_failed");
        return -1;
    }
    if (conn_send(c, th->encbuf, *len) != 0)
        return -1;
    c->key->next_id++;
    q->ids[(q->head + q->count) % q->cap] = id;
    q->sent_us[(q->head + q->count) % q->cap] = due_us;
    q->count++;
    if (bench_in_window(th->run, due_us))
        th->stats.requests++;
    return 0;
}

int request_send(struct bench_conn *c, uint64_t due_us)
{
    size_t len;
    int rc;

    if ((rc = template_ready(c, due_us)) != TS_OK) {
        loop_note_error(c->th, ts_error_detail(rc));
        conn_finish(c, "encode_failed");
        return -1;
    }
    return envelope_send(c, c->req, due_us, &len);
}

int request_send_command(struct bench_conn *c, const char *json, size_t len, uint64_t now)
{
    ts_envelope *env = NULL;
    size_t sent = 0;
    int rc;

    if (len > REQUEST_COMMAND_MAX ||
        (rc = envelope_make(&env, TS_MSG_COMMAND, c->key->fingerprint, NULL,
                            REQUEST_CONTENT_TYPE_JSON)) != TS_OK ||
        (rc = ts_envelope_set_payload(env, json, len)) != TS_OK) {
        loop_note_error(c->th, len > REQUEST_COMMAND_MAX ? "command too long"
                                                          : ts_error_detail(rc));
        ts_envelope_free(env);
        conn_finish(c, "encode_failed");
        return -1;
    }
    rc = envelope_send(c, env, now, &sent);
    sodium_memzero(c->th->encbuf, sent);
    ts_envelope_free(env);
    return rc;
}

/* Take the in-flight message with this id: its due time, or 0 when
 * there is none. Answers normally come in order, so the oldest is
 * checked first. */
static uint64_t inflight_take(struct inflight *q, uint64_t id)
{
    uint64_t due;

    for (unsigned k = 0; k < q->count; k++) {
        unsigned at = (q->head + k) % q->cap;

        if (q->ids[at] != id)
            continue;
        due = q->sent_us[at];
        /* Close the gap by moving the older entries up one place. */
        for (unsigned j = k; j > 0; j--) {
            unsigned to = (q->head + j) % q->cap, from = (q->head + j - 1) % q->cap;
            q->ids[to] = q->ids[from];
            q->sent_us[to] = q->sent_us[from];
        }
        q->head = (q->head + 1) % q->cap;
        q->count--;
        return due != 0 ? due : 1;
    }
    return 0;
}

/* Count an Error envelope by the stable reason name in its JSON payload
 * (protocol 6.4); its text becomes the first error's detail. */
static void count_refusal(struct bench_thread *th, const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *obj = json_loadb((const char *)p, len, 0, NULL);
    const char *reason = json_string_value(json_object_get(obj, "reason"));
    const char *text = json_string_value(json_object_get(obj, "message"));
    char detail[160];

    reason = reason != NULL ? reason : "unknown";
    tally_add2(&th->stats.errors, "error", reason, 1);
    snprintf(detail, sizeof(detail), "the server refused a message: %s (%s)",
             text != NULL ? text : "no reason given", reason);
    loop_note_error(th, detail);
    json_decref(obj);
}

static void count_answer(struct bench_conn *c, const ts_envelope *env, uint64_t due,
                         uint64_t now)
{
    struct bench_thread *th = c->th;
    size_t len;

    if (bench_in_window(th->run, now)) {
        (void)ts_envelope_payload(env, &len);
        th->stats.responses++;
        th->stats.payload_bytes += th->opt->payload + len;
    }
    if (bench_in_window(th->run, due))
        histogram_record(&th->stats.latency, now > due ? now - due : 0);
}

static bool is_answer(int type)
{
    return type == TS_MSG_RESPONSE || type == TS_MSG_ACK || type == TS_MSG_ERROR;
}

/* An answer whose hash checked out: match it to what is in flight. */
static enum request_outcome take_answer(struct bench_conn *c, const ts_envelope *env,
                                        uint64_t now)
{
    struct bench_thread *th = c->th;
    uint64_t due = inflight_take(&c->inflight, ts_envelope_correlation_id(env));

    /* A refusal of something we cannot name (correlation 0: the server
     * could not read it) still says why. */
    if (ts_envelope_type(env) == TS_MSG_ERROR) {
        count_refusal(th, env);
        return due != 0 ? REQUEST_REFUSED : REQUEST_OTHER;
    }
    if (due == 0) {
        tally_add(&th->stats.errors, "wrong_correlation", 1);
        return REQUEST_OTHER;
    }
    count_answer(c, env, due, now);
    return REQUEST_ANSWERED;
}

enum request_outcome request_receive(struct bench_conn *c, const uint8_t *data, size_t len,
                                     uint64_t now, ts_envelope **other)
{
    struct bench_thread *th = c->th;
    ts_verify_opts check = {0}; /* the hash only */
    enum request_outcome outcome = REQUEST_OTHER;
    ts_envelope *env;
    int type, rc;

    if (other != NULL)
        *other = NULL;
    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK) {
        loop_note_error(th, ts_error_detail(rc));
        tally_add(&th->stats.errors, "bad_message", 1);
        return REQUEST_OTHER;
    }
    type = (int)ts_envelope_type(env);
    if (!is_answer(type)) {
        if (other != NULL) {
            *other = env;
            return REQUEST_OTHER;
        }
        tally_add2(&th->stats.errors, "unexpected", ts_msg_type_name(type), 1);
    } else if (ts_envelope_verify(env, &check) != TS_OK) {
        tally_add(&th->stats.errors, "bad_response_hash", 1);
    } else {
        outcome = take_answer(c, env, now);
    }
    ts_envelope_free(env);
    return outcome;
}

void request_abandon(struct bench_conn *c)
{
    struct inflight *q = &c->inflight;

    for (unsigned k = 0; k < q->count; k++) {
        if (bench_in_window(c->th->run, q->sent_us[(q->head + k) % q->cap]))
            tally_add(&c->th->stats.errors, "unanswered", 1);
    }
    q->head = q->count = 0;
}
