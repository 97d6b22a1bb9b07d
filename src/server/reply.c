#include "server/reply.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "server/conn.h"
#include "util/error.h"
#include "util/log.h"

#define ERROR_CONTENT_TYPE "application/json"
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

int reply_response(struct conn *c, uint64_t request_id, bool request_signed,
                   const void *payload, size_t len, const char *content_type)
{
    bool sign = request_signed || server_cfg(c->worker->srv)->sign_responses;
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_new(&env, TS_MSG_RESPONSE)) != TS_OK)
        return rc;
    ts_envelope_set_correlation_id(env, request_id);
    if ((content_type == NULL ||
         (rc = ts_envelope_set_content_type(env, content_type)) == TS_OK) &&
        (rc = ts_envelope_set_payload(env, payload, len)) == TS_OK)
        rc = send_envelope(c, env, sign);
    ts_envelope_free(env);
    return rc;
}

/* {"code":N,"reason":"name","message":"text"} */
static char *error_payload(uint16_t reason, const char *text)
{
    json_t *obj = json_pack("{s:i, s:s, s:s}", "code", (int)reason, "reason",
                            ts_reason_name(reason), "message",
                            text != NULL ? text : ts_reason_text(reason));
    char *out = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(obj);
    return out;
}

int reply_error(struct conn *c, uint64_t id, uint16_t reason, const char *text)
{
    bool sign = server_cfg(c->worker->srv)->sign_responses;
    char *payload = error_payload(reason, text);
    ts_envelope *env = NULL;
    int rc;

    if (payload == NULL)
        return TS_ERR_NOMEM;
    if ((rc = ts_envelope_new(&env, TS_MSG_ERROR)) == TS_OK) {
        ts_envelope_set_correlation_id(env, id);
        if ((rc = ts_envelope_set_content_type(env, ERROR_CONTENT_TYPE)) == TS_OK &&
            (rc = ts_envelope_set_payload(env, payload, strlen(payload))) == TS_OK)
            rc = send_envelope(c, env, sign);
    }
    ts_envelope_free(env);
    free(payload);
    return rc;
}

int reply_notice(struct conn *c, const void *payload, size_t len)
{
    ts_envelope *env;
    int rc;

    if ((rc = ts_envelope_new(&env, TS_MSG_NOTICE)) != TS_OK)
        return rc;
    if ((rc = ts_envelope_set_content_type(env, TEXT_CONTENT_TYPE)) == TS_OK &&
        (rc = ts_envelope_set_payload(env, payload, len)) == TS_OK)
        rc = send_envelope(c, env, true);
    ts_envelope_free(env);
    return rc;
}
