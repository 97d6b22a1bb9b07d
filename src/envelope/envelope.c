#include "envelope/envelope.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "envelope/utf8.h"
#include "util/error.h"

#define MS_PER_SECOND 1000u
#define NS_PER_MS 1000000u

static const char *const type_names[] = {
    [TS_MSG_REQUEST] = "Request", [TS_MSG_RESPONSE] = "Response",
    [TS_MSG_ERROR] = "Error",     [TS_MSG_CHAT] = "Chat",
    [TS_MSG_ACK] = "Ack",         [TS_MSG_EVENT] = "Event",
    [TS_MSG_COMMAND] = "Command", [TS_MSG_NOTICE] = "Notice",
};

const char *ts_msg_type_name(int type)
{
    if (type < ENVELOPE_TYPE_MIN || type > ENVELOPE_TYPE_MAX)
        return NULL;
    return type_names[type];
}

int ts_msg_type_parse(const char *name, ts_msg_type *out)
{
    if (name != NULL && out != NULL) {
        /* Case-insensitive: people type "chat" on command lines. */
        for (int t = ENVELOPE_TYPE_MIN; t <= ENVELOPE_TYPE_MAX; t++) {
            if (strcasecmp(name, type_names[t]) == 0) {
                *out = (ts_msg_type)t;
                return TS_OK;
            }
        }
    }
    return error_set(TS_ERR_INVALID,
                     "unknown message type (expected Request, Response, Error, Chat, "
                     "Ack, Event, Command or Notice)");
}

uint64_t envelope_now_ms(void)
{
    struct timespec ts;

    /* CLOCK_REALTIME cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_SECOND + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

static void name_init(struct envelope_name *name)
{
    name->len = 0;
    name->text[0] = '\0';
}

ts_envelope *envelope_alloc(uint8_t type, size_t payload_len)
{
    ts_envelope *env;

    if (payload_len > SIZE_MAX - sizeof(*env))
        return NULL;
    /* Not calloc: the name buffers need only their first byte set. */
    env = malloc(sizeof(*env) + payload_len);
    if (env == NULL)
        return NULL;
    env->id = 0;
    env->correlation_id = 0;
    env->timestamp = 0;
    env->payload = payload_len > 0 ? env->inline_payload : NULL;
    env->payload_len = payload_len;
    env->type = type;
    env->sealed = false;
    env->is_signed = false;
    name_init(&env->sender);
    name_init(&env->recipient);
    name_init(&env->content_type);
    return env;
}

int ts_envelope_new(ts_envelope **out, ts_msg_type type)
{
    ts_envelope *env;

    if (out == NULL)
        return error_set(TS_ERR_INVALID, "envelope: no output pointer");
    *out = NULL;
    if (ts_msg_type_name((int)type) == NULL)
        return error_set(TS_ERR_INVALID, "envelope: unknown message type %d", (int)type);
    env = envelope_alloc((uint8_t)type, 0);
    if (env == NULL)
        return error_set(TS_ERR_NOMEM, "envelope: out of memory");
    env->timestamp = envelope_now_ms();
    *out = env;
    return TS_OK;
}

static void payload_release(ts_envelope *env)
{
    if (env->payload != NULL) {
        sodium_memzero(env->payload, env->payload_len);
        if (env->payload != env->inline_payload)
            free(env->payload);
    }
    env->payload = NULL;
    env->payload_len = 0;
}

void ts_envelope_free(ts_envelope *env)
{
    if (env == NULL)
        return;
    payload_release(env);
    free(env);
}

void envelope_unseal(ts_envelope *env)
{
    env->sealed = false;
    env->is_signed = false;
}

void envelope_name_set(struct envelope_name *name, const void *text, uint8_t len)
{
    /* memmove: text may be this field's own getter result. */
    memmove(name->text, text, len);
    name->text[len] = '\0';
    name->len = len;
}

void ts_envelope_set_id(ts_envelope *env, uint64_t id)
{
    if (env != NULL) {
        env->id = id;
        envelope_unseal(env);
    }
}

void ts_envelope_set_correlation_id(ts_envelope *env, uint64_t id)
{
    if (env != NULL) {
        env->correlation_id = id;
        envelope_unseal(env);
    }
}

void ts_envelope_set_timestamp(ts_envelope *env, uint64_t unix_ms)
{
    if (env != NULL) {
        env->timestamp = unix_ms;
        envelope_unseal(env);
    }
}

static int set_name(ts_envelope *env, struct envelope_name *name, const char *field,
                    const char *text)
{
    size_t len;

    if (env == NULL || text == NULL)
        return error_set(TS_ERR_INVALID, "envelope %s: no envelope or text given", field);
    len = strnlen(text, TS_ENVELOPE_MAX_NAME + 1);
    if (len > TS_ENVELOPE_MAX_NAME)
        return error_set(TS_ERR_TOO_LARGE, "envelope %s is longer than %d bytes", field,
                         TS_ENVELOPE_MAX_NAME);
    if (!utf8_valid((const uint8_t *)text, len, false))
        return error_set(TS_ERR_MALFORMED, "envelope %s is not valid UTF-8", field);
    envelope_name_set(name, text, (uint8_t)len);
    envelope_unseal(env);
    return TS_OK;
}

int ts_envelope_set_sender(ts_envelope *env, const char *text)
{
    return set_name(env, env != NULL ? &env->sender : NULL, "sender", text);
}

int ts_envelope_set_recipient(ts_envelope *env, const char *text)
{
    return set_name(env, env != NULL ? &env->recipient : NULL, "recipient", text);
}

int ts_envelope_set_content_type(ts_envelope *env, const char *text)
{
    return set_name(env, env != NULL ? &env->content_type : NULL, "content type", text);
}

int ts_envelope_set_payload(ts_envelope *env, const void *data, size_t len)
{
    uint8_t *copy = NULL;

    if (env == NULL || (data == NULL && len > 0))
        return error_set(TS_ERR_INVALID, "envelope payload: no envelope or data given");
    if (len > TS_ENVELOPE_MAX_PAYLOAD)
        return error_set(TS_ERR_TOO_LARGE, "envelope payload of %zu bytes exceeds %u",
                         len, TS_ENVELOPE_MAX_PAYLOAD);
    /* Copy before releasing: data may be the current payload. */
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return error_set(TS_ERR_NOMEM, "envelope payload: out of memory");
        memcpy(copy, data, len);
    }
    payload_release(env);
    env->payload = copy;
    env->payload_len = len;
    envelope_unseal(env);
    return TS_OK;
}

ts_msg_type ts_envelope_type(const ts_envelope *env)
{
    return (ts_msg_type)env->type;
}

uint64_t ts_envelope_id(const ts_envelope *env)
{
    return env->id;
}

uint64_t ts_envelope_correlation_id(const ts_envelope *env)
{
    return env->correlation_id;
}

uint64_t ts_envelope_timestamp(const ts_envelope *env)
{
    return env->timestamp;
}

const char *ts_envelope_sender(const ts_envelope *env)
{
    return env->sender.text;
}

const char *ts_envelope_recipient(const ts_envelope *env)
{
    return env->recipient.text;
}

const char *ts_envelope_content_type(const ts_envelope *env)
{
    return env->content_type.text;
}

const uint8_t *ts_envelope_payload(const ts_envelope *env, size_t *len)
{
    if (len != NULL)
        *len = env->payload_len;
    return env->payload;
}

const uint8_t *ts_envelope_hash(const ts_envelope *env)
{
    return env->sealed ? env->hash : NULL;
}

const uint8_t *ts_envelope_signature(const ts_envelope *env)
{
    return env->sealed && env->is_signed ? env->signature : NULL;
}

bool ts_envelope_is_signed(const ts_envelope *env)
{
    return env->sealed && env->is_signed;
}
