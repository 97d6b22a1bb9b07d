#include "server/dispatch.h"

#include <stdio.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/conn.h"
#include "server/reply.h"
#include "server/requests.h"
#include "service/service.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* Room for the text of a rate refusal, numbers included. */
#define RATE_DETAIL_MAX 128

/* Refuse one message: log once with the peer, answer with an Error. */
static void refuse(struct conn *c, uint64_t id, uint16_t reason, const char *detail)
{
    LOG_INFO("message_refused", "client=%llu peer=%s id=%llu reason=%s detail=\"%s\"",
             (unsigned long long)c->id, c->peer, (unsigned long long)id,
             ts_reason_name(reason), detail != NULL ? detail : ts_reason_text(reason));
    reply_error(c, id, reason, detail);
}

static uint16_t verify_reason(int rc)
{
    switch (rc) {
    case TS_ERR_BAD_HASH:
        return TS_REASON_BAD_HASH;
    case TS_ERR_BAD_SIGNATURE:
        return TS_REASON_BAD_SIGNATURE;
    case TS_ERR_STALE:
        return TS_REASON_STALE_TIMESTAMP;
    default:
        return TS_REASON_BAD_ENVELOPE;
    }
}

/* The sender field names the authenticated client (its fingerprint) or is
 * left empty; anything else would let a client speak for another. */
static bool sender_matches(const struct conn *c, const ts_envelope *env)
{
    const char *sender = ts_envelope_sender(env);

    if (sender[0] == '\0' || strcmp(sender, c->fingerprint) == 0)
        return true;
    /* A logged-in user may sign with the account name (chat does). */
    return c->session != NULL && c->session->auth == SESSION_USER &&
           strcmp(sender, c->session->user) == 0;
}

/* Take this record's share of the client's message and byte budgets;
 * NULL when within both, else which limit it broke (the refusal says so,
 * so a client can tell a count limit from a volume limit). */
static const char *rate_refusal(struct conn *c, const ts_server_config *cfg, size_t len,
                                char *detail, size_t cap)
{
    uint64_t now = clock_mono_ms();

    if (!ratelimit_take(&c->message_bucket, cfg->message_rate, cfg->message_burst, 1, now)) {
        snprintf(detail, cap, "message rate limit exceeded (rate %u/s, burst %u)",
                 cfg->message_rate, cfg->message_burst);
        return detail;
    }
    if (!ratelimit_take(&c->byte_bucket, cfg->byte_rate, cfg->byte_burst, len, now)) {
        snprintf(detail, cap, "byte rate limit exceeded (rate %llu bytes/s, burst %llu bytes)",
                 (unsigned long long)cfg->byte_rate, (unsigned long long)cfg->byte_burst);
        return detail;
    }
    return NULL;
}

/* The checks of the message itself; 0 or the reason. */
static uint16_t check_envelope(struct conn *c, const ts_server_config *cfg,
                               const ts_envelope *env, const char **detail)
{
    ts_verify_opts opts = {.public_key = c->identity,
                           .max_skew_ms = cfg->timestamp_skew_ms};
    int rc;

    *detail = NULL;
    if ((rc = ts_envelope_verify(env, &opts)) != TS_OK) {
        *detail = ts_error_detail(rc);
        return verify_reason(rc);
    }
    if (!sender_matches(c, env))
        return TS_REASON_BAD_SENDER;
    return 0;
}

/* A message seen before: answer a repeated request as the first time, or
 * refuse. */
static void handle_repeat(struct conn *c, const ts_envelope *env, enum sender_verdict verdict,
                          struct sender_result *answer)
{
    uint64_t id = ts_envelope_id(env);

    if (verdict == SENDER_REPEAT_READY) {
        counter_add(&c->worker->counters.requests_repeated, 1);
        LOG_DEBUG("request_repeated", "client=%llu id=%llu answer=remembered",
                  (unsigned long long)c->id, (unsigned long long)id);
        reply_answer(c, id, answer);
    } else if (verdict == SENDER_REPEAT_PENDING) {
        counter_add(&c->worker->counters.requests_repeated, 1);
        LOG_DEBUG("request_repeated", "client=%llu id=%llu answer=pending",
                  (unsigned long long)c->id, (unsigned long long)id);
    } else {
        refuse(c, id, TS_REASON_DUPLICATE, NULL);
    }
    sender_result_clear(answer);
}

/* Requests and Commands pass the sender's window (a repeat gets the first
 * answer); Chat messages are deduplicated by the store instead, which
 * also knows the first acknowledgement. */
static void route(struct conn *c, const ts_envelope *env, const uint8_t *raw, size_t len)
{
    ts_msg_type type = ts_envelope_type(env);
    struct sender_result answer;
    enum sender_verdict verdict;
    int rc;

    if (type == TS_MSG_CHAT) {
        service_message(c, env, raw, len);
        return;
    }
    if (type != TS_MSG_REQUEST && type != TS_MSG_COMMAND) {
        refuse(c, ts_envelope_id(env), TS_REASON_UNSUPPORTED_TYPE, NULL);
        return;
    }
    rc = senders_admit(&c->worker->srv->senders, c->identity, ts_envelope_id(env), c->id,
                       true, server_client_alive, c->worker->srv, &verdict, &answer);
    if (rc == TS_ERR_INVALID) {
        refuse(c, 0, TS_REASON_DUPLICATE, ts_error_detail(rc));
    } else if (rc != TS_OK) {
        refuse(c, ts_envelope_id(env), TS_REASON_SERVER_ERROR, NULL);
    } else if (verdict != SENDER_NEW) {
        handle_repeat(c, env, verdict, &answer);
    } else if (type == TS_MSG_COMMAND) {
        service_message(c, env, raw, len);
    } else if (service_admit_request(c, env)) {
        counter_add(&c->worker->counters.requests_handled, 1);
        requests_handle(c, env);
    }
}

/* Decoded, checked and routed; a non-NULL rate_detail refuses it as over
 * the rate (after decoding, so the refusal names the message). */
static void dispatch_decoded(struct conn *c, const uint8_t *data, size_t len,
                             const char *rate_detail)
{
    const ts_server_config *cfg = server_cfg(c->worker->srv);
    const char *detail;
    ts_envelope *env;
    uint16_t reason;
    int rc;

    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK) {
        if (rate_detail != NULL)
            refuse(c, 0, TS_REASON_MESSAGE_RATE, rate_detail);
        else
            refuse(c, 0, TS_REASON_BAD_ENVELOPE, ts_error_detail(rc));
        return;
    }
    if (rate_detail != NULL) {
        refuse(c, ts_envelope_id(env), TS_REASON_MESSAGE_RATE, rate_detail);
    } else if (!service_holds(c, data, len, ts_envelope_id(env))) {
        /* Held messages are checked when they are handled: who the sender
         * is may depend on the key lookup they wait for. */
        reason = check_envelope(c, cfg, env, &detail);
        if (reason != 0)
            refuse(c, ts_envelope_id(env), reason, detail);
        else
            route(c, env, data, len);
    }
    ts_envelope_free(env);
}

void dispatch_envelope(struct conn *c, const uint8_t *data, size_t len)
{
    dispatch_decoded(c, data, len, NULL);
}

void dispatch_message(struct conn *c, const uint8_t *data, size_t len)
{
    char detail[RATE_DETAIL_MAX];

    /* Every record pays, well-formed or not: the limit is on what the
     * client makes the server do. */
    dispatch_decoded(c, data, len,
                     rate_refusal(c, server_cfg(c->worker->srv), len, detail, sizeof(detail)));
}

void dispatch_oversize(struct conn *c, uint64_t size)
{
    char detail[96];

    snprintf(detail, sizeof(detail), "message of %llu bytes exceeds the limit of %zu",
             (unsigned long long)size, server_cfg(c->worker->srv)->max_message);
    refuse(c, 0, TS_REASON_TOO_LARGE, detail);
}
