/*
 * Reading chat answers, items and events (chat_answer.h).
 */
#include "client/chat_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "util/error.h"

static json_t *payload_object(const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *doc = len > 0 ? json_loadb((const char *)p, len, 0, NULL) : NULL;

    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *chat_answer_object(const ts_envelope *env)
{
    json_t *doc;

    if (ts_envelope_type(env) != TS_MSG_RESPONSE || (doc = payload_object(env)) == NULL)
        return NULL;
    if (!json_is_true(json_object_get(doc, "ok"))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *chat_event_object(const ts_envelope *env)
{
    return ts_envelope_type(env) == TS_MSG_EVENT ? payload_object(env) : NULL;
}

/* A short string field copied into out (capacity cap); false when absent
 * or too long. */
static bool copy_string(json_t *obj, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (s == NULL || strlen(s) >= cap)
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

/* A time as the server writes it ("2026-11-21T10:00:00.123Z"): callers
 * print it as it is, so nothing but visible ASCII may pass. */
static bool copy_time(json_t *obj, const char *key, char out[CHAT_TIME_MAX])
{
    if (!copy_string(obj, key, out, CHAT_TIME_MAX) || out[0] == '\0')
        return false;
    for (const char *p = out; *p != '\0'; p++) {
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    }
    return true;
}

int chat_ack_parse(const ts_envelope *env, int64_t *id, char time[CHAT_TIME_MAX])
{
    json_t *doc = ts_envelope_type(env) == TS_MSG_ACK ? payload_object(env) : NULL;
    json_t *v = json_object_get(doc, "id");
    /* Stored ids start at 1 (docs/store.md, "The hash chain"). */
    bool ok = json_is_integer(v) && json_integer_value(v) > 0 && copy_time(doc, "time", time);

    *id = ok ? (int64_t)json_integer_value(v) : 0;
    json_decref(doc);
    return ok ? TS_OK
              : error_set(TS_ERR_MALFORMED, "the acknowledgement is not {\"id\":N,\"time\":...}");
}

int chat_item_decode(json_t *item, struct chat_item *out)
{
    const char *b64 = json_string_value(json_object_get(item, "envelope"));
    json_t *id = json_object_get(item, "id");
    ts_verify_opts opts = {0};
    uint8_t *raw = NULL;
    size_t len = 0, n = b64 != NULL ? strlen(b64) : 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!json_is_integer(id) || json_integer_value(id) <= 0 || b64 == NULL ||
        !copy_time(item, "time", out->time) ||
        !copy_string(item, "sender", out->sender, sizeof(out->sender)))
        return error_set(TS_ERR_MALFORMED, "a history item lacks id, time, sender or envelope");
    out->id = (int64_t)json_integer_value(id);
    if ((raw = malloc(n + 1)) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    rc = sodium_base642bin(raw, n + 1, b64, n, NULL, &len, NULL,
                           sodium_base64_VARIANT_ORIGINAL) == 0
             ? ts_envelope_decode(raw, len, &out->env)
             : TS_ERR_MALFORMED;
    free(raw);
    if (rc != TS_OK)
        return error_set(TS_ERR_MALFORMED, "history item %lld holds no readable envelope",
                         (long long)out->id);
    if ((rc = ts_envelope_verify(out->env, &opts)) != TS_OK) {
        chat_item_clear(out);
        return error_set(rc, "history item %lld fails its hash check", (long long)out->id);
    }
    return TS_OK;
}

void chat_item_clear(struct chat_item *it)
{
    ts_envelope_free(it->env);
    memset(it, 0, sizeof(*it));
}

const char *chat_room_of(const ts_envelope *env)
{
    const char *to = ts_envelope_recipient(env);

    return to[0] == '#' ? to + 1 : NULL;
}
