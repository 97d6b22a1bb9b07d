#include "envelope/envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "envelope/utf8.h"
#include "util/dbuf.h"
#include "util/error.h"

/*
 * The object is assembled here in the documented key order, with jansson
 * escaping every string value. Numbers are written directly because
 * jansson's integers are signed 64-bit and envelope ids are unsigned.
 */

#define JSON_B64 sodium_base64_VARIANT_ORIGINAL
#define JSON_DUMP_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT)
/* Quoted "+YYYYYYYYY-MM-DDTHH:MM:SS.mmmZ" (years reach 9 digits), with
 * room to spare so the compiler can prove nothing is cut. */
#define JSON_TIME_MAX 64
#define JSON_U64_MAX 21
#define MS_PER_DAY 86400000u
#define MS_PER_HOUR 3600000u
#define MS_PER_MINUTE 60000u
#define MS_PER_SECOND 1000u
#define LAST_4_DIGIT_YEAR 9999

/* Output with a sticky error, so the builder checks once at the end. */
struct json_out {
    struct dbuf b;
    int rc;
};

static void put_raw(struct json_out *o, const char *s, size_t n)
{
    if (o->rc == TS_OK)
        o->rc = dbuf_append(&o->b, s, n);
}

static void put_text(struct json_out *o, const char *s)
{
    put_raw(o, s, strlen(s));
}

/* A JSON string of n bytes of valid UTF-8 (NUL allowed: it becomes \u0000). */
static void put_string(struct json_out *o, const char *s, size_t n)
{
    json_t *str;
    size_t need;
    uint8_t *dst;

    if (o->rc != TS_OK)
        return;
    str = json_stringn_nocheck(s, n);
    if (str == NULL) {
        o->rc = TS_ERR_NOMEM;
        return;
    }
    need = json_dumpb(str, NULL, 0, JSON_DUMP_FLAGS);
    dst = need > 0 ? dbuf_reserve(&o->b, need) : NULL;
    if (dst == NULL || json_dumpb(str, (char *)dst, need, JSON_DUMP_FLAGS) != need)
        o->rc = TS_ERR_NOMEM;
    else
        dbuf_commit(&o->b, need);
    json_decref(str);
}

static void put_key(struct json_out *o, const char *key)
{
    put_text(o, ",\"");
    put_text(o, key);
    put_text(o, "\":");
}

static void put_u64(struct json_out *o, uint64_t v)
{
    char text[JSON_U64_MAX];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    put_text(o, text);
}

/* A quoted base64 string of n bytes, encoded straight into the output. */
static void put_base64(struct json_out *o, const uint8_t *bin, size_t n)
{
    size_t size = sodium_base64_ENCODED_LEN(n, JSON_B64);
    char *dst;

    put_text(o, "\"");
    if (o->rc != TS_OK)
        return;
    dst = (char *)dbuf_reserve(&o->b, size);
    if (dst == NULL) {
        o->rc = TS_ERR_NOMEM;
        return;
    }
    sodium_bin2base64(dst, size, bin, n, JSON_B64);
    dbuf_commit(&o->b, size - 1); /* not the NUL */
    put_text(o, "\"");
}

/* Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
 * civil_from_days), exact for every u64 millisecond timestamp, where
 * gmtime() would overflow. */
static void civil_from_days(uint64_t days, uint64_t *year, unsigned *month,
                            unsigned *day)
{
    const uint64_t z = days + 719468;
    const uint64_t era = z / 146097;
    const uint64_t doe = z - era * 146097;
    const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const uint64_t mp = (5 * doy + 2) / 153;

    *day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

static void put_timestamp(struct json_out *o, uint64_t ms)
{
    char text[JSON_TIME_MAX];
    uint64_t year, rem = ms % MS_PER_DAY;
    unsigned month, day;

    civil_from_days(ms / MS_PER_DAY, &year, &month, &day);
    /* ISO 8601 writes years past 9999 with an explicit sign. */
    snprintf(text, sizeof(text), "\"%s%04" PRIu64 "-%02u-%02uT%02u:%02u:%02u.%03uZ\"",
             year > LAST_4_DIGIT_YEAR ? "+" : "", year, month, day,
             (unsigned)(rem / MS_PER_HOUR), (unsigned)(rem % MS_PER_HOUR / MS_PER_MINUTE),
             (unsigned)(rem % MS_PER_MINUTE / MS_PER_SECOND),
             (unsigned)(rem % MS_PER_SECOND));
    put_text(o, text);
}

static void put_payload(struct json_out *o, const ts_envelope *env)
{
    put_key(o, "payload");
    if (utf8_valid(env->payload, env->payload_len, true)) {
        /* jansson refuses a NULL pointer even for an empty string. */
        put_string(o, env->payload_len > 0 ? (const char *)env->payload : "",
                   env->payload_len);
        return;
    }
    put_base64(o, env->payload, env->payload_len);
    put_key(o, "payload_encoding");
    put_text(o, "\"base64\"");
}

static void put_hash(struct json_out *o, const uint8_t hash[TS_ENVELOPE_HASH_LEN])
{
    char hex[TS_ENVELOPE_HASH_LEN * 2 + 1];

    sodium_bin2hex(hex, sizeof(hex), hash, TS_ENVELOPE_HASH_LEN);
    put_key(o, "hash");
    put_text(o, "\"");
    put_text(o, hex);
    put_text(o, "\"");
}

static void put_envelope(struct json_out *o, const ts_envelope *env)
{
    put_text(o, "{\"type\":");
    put_string(o, ts_msg_type_name(env->type), strlen(ts_msg_type_name(env->type)));
    put_key(o, "id");
    put_u64(o, env->id);
    if (env->correlation_id != 0) {
        put_key(o, "correlation_id");
        put_u64(o, env->correlation_id);
    }
    put_key(o, "timestamp");
    put_timestamp(o, env->timestamp);
    put_key(o, "sender");
    put_string(o, env->sender.text, env->sender.len);
    if (env->recipient.len > 0) {
        put_key(o, "recipient");
        put_string(o, env->recipient.text, env->recipient.len);
    }
    if (env->content_type.len > 0) {
        put_key(o, "content_type");
        put_string(o, env->content_type.text, env->content_type.len);
    }
    put_payload(o, env);
    if (env->sealed)
        put_hash(o, env->hash);
    if (env->sealed && env->is_signed) {
        put_key(o, "signature");
        put_base64(o, env->signature, sizeof(env->signature));
    }
    put_raw(o, "}", 2); /* with the terminating NUL */
}

int ts_envelope_to_json(const ts_envelope *env, char **out)
{
    struct json_out o;

    if (env == NULL || out == NULL)
        return error_set(TS_ERR_INVALID, "envelope JSON: missing argument");
    *out = NULL;
    /* The payload bounds the size; dbuf's limit is not needed here. */
    dbuf_init(&o.b, SIZE_MAX);
    o.rc = TS_OK;
    put_envelope(&o, env);
    if (o.rc != TS_OK) {
        dbuf_free(&o.b);
        return error_set(TS_ERR_NOMEM, "envelope JSON: out of memory");
    }
    /* Never consumed from the front, so data is the malloc'd start. */
    *out = (char *)o.b.data;
    return TS_OK;
}
