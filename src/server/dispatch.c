#include "server/dispatch.h"

#include <stdio.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/conn.h"
#include "server/reply.h"
#include "server/requests.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

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
    return sender[0] == '\0' || strcmp(sender, c->fingerprint) == 0;
}

static bool within_rate(struct conn *c, const ts_server_config *cfg, size_t len)
{
    uint64_t now = clock_mono_ms();

    return ratelimit_take(&c->message_bucket, cfg->message_rate, cfg->message_burst, 1,
                          now) &&
           ratelimit_take(&c->byte_bucket, cfg->byte_rate, cfg->byte_burst, len, now);
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

static void route(struct conn *c, const ts_envelope *env)
{
    bool request = ts_envelope_type(env) == TS_MSG_REQUEST;
    struct sender_result answer;
    enum sender_verdict verdict;
    int rc;

    rc = senders_admit(&c->worker->srv->senders, c->identity, ts_envelope_id(env), c->id,
                       request, server_client_alive, c->worker->srv, &verdict, &answer);
    if (rc == TS_ERR_INVALID) {
        refuse(c, 0, TS_REASON_DUPLICATE, ts_error_detail(rc));
    } else if (rc != TS_OK) {
        refuse(c, ts_envelope_id(env), TS_REASON_SERVER_ERROR, NULL);
    } else if (verdict != SENDER_NEW) {
        handle_repeat(c, env, verdict, &answer);
    } else if (request) {
        counter_add(&c->worker->counters.requests_handled, 1);
        requests_handle(c, env);
    } else {
        refuse(c, ts_envelope_id(env), TS_REASON_UNSUPPORTED_TYPE, NULL);
    }
}

void dispatch_message(struct conn *c, const uint8_t *data, size_t len)
{
    const ts_server_config *cfg = server_cfg(c->worker->srv);
    const char *detail;
    ts_envelope *env;
    uint16_t reason;
    int rc;

    /* Every record pays, well-formed or not: the limit is on what the
     * client makes the server do. */
    if (!within_rate(c, cfg, len)) {
        refuse(c, 0, TS_REASON_MESSAGE_RATE, NULL);
        return;
    }
    if ((rc = ts_envelope_decode(data, len, &env)) != TS_OK) {
        refuse(c, 0, TS_REASON_BAD_ENVELOPE, ts_error_detail(rc));
        return;
    }
    reason = check_envelope(c, cfg, env, &detail);
    if (reason != 0)
        refuse(c, ts_envelope_id(env), reason, detail);
    else
        route(c, env);
    ts_envelope_free(env);
}

void dispatch_oversize(struct conn *c, uint64_t size)
{
    char detail[96];

    snprintf(detail, sizeof(detail), "message of %llu bytes exceeds the limit of %zu",
             (unsigned long long)size, server_cfg(c->worker->srv)->max_message);
    refuse(c, 0, TS_REASON_TOO_LARGE, detail);
}
