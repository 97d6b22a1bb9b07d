#include "server/reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/conn.h"
#include "util/error.h"
#include "util/log.h"

#define JSON_CONTENT_TYPE "application/json"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"

/* Seal and encode env into the worker's scratch buffer, then send. */
static int send_envelope(struct conn *c, ts_envelope *env, bool sign)
{
    ts_server *srv = c->worker->srv;
    struct dbuf *scratch = &c->worker->scratch;
    size_t need, len;
    uint8_t *out;
    int rc;

    ts_envelope_set_id(env, c->next_seq++);
    if ((rc = ts_envelope_set_sender(env, srv->fingerprint)) != TS_OK ||
        (rc = ts_envelope_set_recipient(env, c->fingerprint)) != TS_OK ||
        (rc = ts_envelope_seal(env, sign ? srv->identity : NULL)) != TS_OK)
        return rc;
    need = ts_envelope_encoded_size(env);
    dbuf_reset(scratch);
    if ((out = dbuf_reserve(scratch, need)) == NULL)
        return error_set(TS_ERR_NOMEM, "no memory for a %zu-byte reply", need);
    if ((rc = ts_envelope_encode_to(env, out, need, &len)) != TS_OK)
        return rc;
    return conn_send(c, out, len);
}

int reply_answer(struct conn *c, uint64_t id, const struct sender_result *answer)
{
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_new(&env, (ts_msg_type)answer->type)) != TS_OK)
        return rc;
    ts_envelope_set_correlation_id(env, id);
    if ((answer->content_type[0] == '\0' ||
         (rc = ts_envelope_set_content_type(env, answer->content_type)) == TS_OK) &&
        (rc = ts_envelope_set_payload(env, answer->payload, answer->len)) == TS_OK)
        rc = send_envelope(c, env, answer->sign);
    ts_envelope_free(env);
    return rc;
}

void reply_describe_response(ts_server *srv, bool request_signed, const void *payload,
                             size_t len, const char *content_type,
                             struct sender_result *out)
{
    memset(out, 0, sizeof(*out));
    out->type = TS_MSG_RESPONSE;
    out->sign = request_signed || server_cfg(srv)->sign_responses;
    if (content_type != NULL)
        snprintf(out->content_type, sizeof(out->content_type), "%s", content_type);
    out->payload = (uint8_t *)payload;
    out->len = len;
}

int reply_describe_error(ts_server *srv, uint16_t reason, const char *text,
                         struct sender_result *out)
{
    json_t *obj = json_pack("{s:i, s:s, s:s}", "code", (int)reason, "reason",
                            ts_reason_name(reason), "message",
                            text != NULL ? text : ts_reason_text(reason));
    char *payload = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
                                : NULL;

    json_decref(obj);
    memset(out, 0, sizeof(*out));
    if (payload == NULL)
        return TS_ERR_NOMEM;
    out->type = TS_MSG_ERROR;
    out->sign = server_cfg(srv)->sign_responses;
    snprintf(out->content_type, sizeof(out->content_type), "%s", JSON_CONTENT_TYPE);
    out->payload = (uint8_t *)payload;
    out->len = strlen(payload);
    return TS_OK;
}

int reply_error(struct conn *c, uint64_t id, uint16_t reason, const char *text)
{
    struct sender_result answer;
    int rc;

    if ((rc = reply_describe_error(c->worker->srv, reason, text, &answer)) != TS_OK)
        return rc;
    rc = reply_answer(c, id, &answer);
    sender_result_clear(&answer);
    return rc;
}

/* A server-originated message: Notices are signed (they carry the
 * operator's word), Events follow sign_responses. */
static int reply_server_message(struct conn *c, ts_msg_type type, const char *content_type,
                                const void *payload, size_t len, bool sign)
{
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_new(&env, type)) != TS_OK)
        return rc;
    if ((rc = ts_envelope_set_content_type(env, content_type)) == TS_OK &&
        (rc = ts_envelope_set_payload(env, payload, len)) == TS_OK)
        rc = send_envelope(c, env, sign);
    ts_envelope_free(env);
    return rc;
}

int reply_event(struct conn *c, const void *json, size_t len)
{
    return reply_server_message(c, TS_MSG_EVENT, JSON_CONTENT_TYPE, json, len,
                                server_cfg(c->worker->srv)->sign_responses);
}

int reply_notice(struct conn *c, const void *payload, size_t len)
{
    return reply_server_message(c, TS_MSG_NOTICE, TEXT_CONTENT_TYPE, payload, len, true);
}
