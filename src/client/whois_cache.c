/*
 * Registered keys of chat senders (whois_cache.h).
 */
#include "client/whois_cache.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <tcpseal/error.h>

#include "util/error.h"

int whois_cache_init(struct whois_cache *wc, size_t cap)
{
    memset(wc, 0, sizeof(*wc));
    wc->cap = cap != 0 ? cap : WHOIS_CACHE_USERS;
    if ((wc->entries = calloc(wc->cap, sizeof(*wc->entries))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    return TS_OK;
}

void whois_cache_free(struct whois_cache *wc)
{
    free(wc->entries);
    memset(wc, 0, sizeof(*wc));
}

const struct whois_entry *whois_cache_find(struct whois_cache *wc, const char *user)
{
    for (size_t i = 0; i < wc->n; i++) {
        if (strcmp(wc->entries[i].user, user) == 0) {
            wc->entries[i].used = ++wc->tick;
            return &wc->entries[i];
        }
    }
    return NULL;
}

/* The slot for user: its own, a free one, or the least recently used. */
static struct whois_entry *slot_for(struct whois_cache *wc, const char *user)
{
    struct whois_entry *oldest = NULL;

    for (size_t i = 0; i < wc->n; i++) {
        if (strcmp(wc->entries[i].user, user) == 0)
            return &wc->entries[i];
        if (oldest == NULL || wc->entries[i].used < oldest->used)
            oldest = &wc->entries[i];
    }
    if (wc->n < wc->cap)
        return &wc->entries[wc->n++];
    return oldest;
}

int whois_cache_put(struct whois_cache *wc, const char *user,
                    const uint8_t (*keys)[TS_PUBLIC_KEY_LEN], unsigned n_keys,
                    uint64_t now_ms)
{
    size_t len = strlen(user);
    struct whois_entry *e;

    if (len == 0 || len > WHOIS_NAME_MAX)
        return error_set(TS_ERR_INVALID, "'%.40s' is not a user name", user);
    e = slot_for(wc, user);
    memset(e, 0, sizeof(*e));
    memcpy(e->user, user, len + 1);
    e->n_keys = n_keys < WHOIS_MAX_KEYS ? n_keys : WHOIS_MAX_KEYS;
    if (e->n_keys > 0)
        memcpy(e->keys, keys, e->n_keys * sizeof(e->keys[0]));
    e->fetched_ms = now_ms;
    e->used = ++wc->tick;
    return TS_OK;
}

/* One base64 key of the answer; false when it is not 32 bytes. */
static bool key_decode(json_t *item, uint8_t out[TS_PUBLIC_KEY_LEN])
{
    const char *text = json_string_value(item);
    size_t n = 0;

    return text != NULL &&
           sodium_base642bin(out, TS_PUBLIC_KEY_LEN, text, strlen(text), NULL, &n, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           n == TS_PUBLIC_KEY_LEN;
}

int whois_cache_put_answer(struct whois_cache *wc, const uint8_t *payload, size_t len,
                           uint64_t now_ms, char *user)
{
    uint8_t keys[WHOIS_MAX_KEYS][TS_PUBLIC_KEY_LEN];
    json_t *doc = json_loadb((const char *)payload, len, 0, NULL);
    json_t *list = json_object_get(doc, "keys");
    const char *name = json_string_value(json_object_get(doc, "user"));
    unsigned n = 0;
    int rc = TS_ERR_MALFORMED;

    if (json_is_true(json_object_get(doc, "ok")) && name != NULL && json_is_array(list)) {
        for (size_t i = 0; i < json_array_size(list) && n < WHOIS_MAX_KEYS; i++) {
            /* A key that does not decode is left out: it could not
             * verify anything. */
            if (key_decode(json_array_get(list, i), keys[n]))
                n++;
        }
        rc = whois_cache_put(wc, name, (const uint8_t(*)[TS_PUBLIC_KEY_LEN])keys, n, now_ms);
        if (rc == TS_OK && user != NULL)
            memcpy(user, name, strlen(name) + 1);
    }
    json_decref(doc);
    if (rc == TS_ERR_MALFORMED)
        return error_set(rc, "the whois answer is not {\"ok\":true,\"user\":...,\"keys\":[...]}");
    return rc;
}

static bool verifies(const struct whois_entry *e, const ts_envelope *env)
{
    for (unsigned i = 0; i < e->n_keys; i++) {
        ts_verify_opts opts = {.public_key = e->keys[i], .require_signature = true};

        if (ts_envelope_verify(env, &opts) == TS_OK)
            return true;
    }
    return false;
}

enum whois_verdict whois_cache_check(struct whois_cache *wc, const ts_envelope *env,
                                     uint64_t now_ms, bool final)
{
    const struct whois_entry *e;

    if (!ts_envelope_is_signed(env))
        return WHOIS_UNSIGNED;
    /* A sender that is no user name has no keys to look up. */
    if (strlen(ts_envelope_sender(env)) - 1 >= WHOIS_NAME_MAX)
        return WHOIS_MISMATCH;
    if ((e = whois_cache_find(wc, ts_envelope_sender(env))) == NULL)
        return final ? WHOIS_MISMATCH : WHOIS_NEED_KEYS;
    if (verifies(e, env))
        return WHOIS_VERIFIED;
    /* A clock reading older than the fetch (taken on another thread
     * just before it) means the keys are fresh. */
    if (!final && now_ms >= e->fetched_ms && now_ms - e->fetched_ms >= WHOIS_REFRESH_MS)
        return WHOIS_NEED_KEYS;
    return WHOIS_MISMATCH;
}
