#include "client/server_error.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <tcpseal/error.h>
#include <tcpseal/protocol.h>

#include "util/error.h"

#define REASON_CODE_MAX 0xffff

/* Server text goes to terminals and logs: no control characters. */
static void copy_printable(char *out, size_t cap, const char *text, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    out[n] = '\0';
}

static void copy_json_string(char *out, size_t cap, json_t *value)
{
    copy_printable(out, cap, json_string_value(value), json_string_length(value));
}

static int fields_read(json_t *doc, struct server_error *out)
{
    json_t *code = json_object_get(doc, "code");
    json_t *reason = json_object_get(doc, "reason");
    json_t *message = json_object_get(doc, "message");

    if (!json_is_object(doc) || (code != NULL && !json_is_integer(code)) ||
        (reason != NULL && !json_is_string(reason)) ||
        (message != NULL && !json_is_string(message)) ||
        (code == NULL && reason == NULL && message == NULL))
        return TS_ERR_MALFORMED;
    if (code != NULL) {
        json_int_t v = json_integer_value(code);
        if (v < 0 || v > REASON_CODE_MAX)
            return TS_ERR_MALFORMED;
        out->code = (uint16_t)v;
    }
    if (reason != NULL)
        copy_json_string(out->reason, sizeof(out->reason), reason);
    else if (out->code != 0)
        snprintf(out->reason, sizeof(out->reason), "%s", ts_reason_name(out->code));
    if (message != NULL)
        copy_json_string(out->message, sizeof(out->message), message);
    else
        snprintf(out->message, sizeof(out->message), "%s", ts_reason_text(out->code));
    return TS_OK;
}

int server_error_parse(const uint8_t *payload, size_t len, struct server_error *out)
{
    json_t *doc;
    int rc;

    memset(out, 0, sizeof(*out));
    doc = len > 0 ? json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL)
                  : NULL;
    rc = doc != NULL ? fields_read(doc, out) : TS_ERR_MALFORMED;
    json_decref(doc);
    if (rc != TS_OK) {
        memset(out, 0, sizeof(*out));
        copy_printable(out->message, sizeof(out->message), (const char *)payload, len);
        return error_set(TS_ERR_MALFORMED, "Error payload is not the documented JSON");
    }
    return TS_OK;
}

void server_error_describe(const struct server_error *e, char *out, size_t cap)
{
    if (e->reason[0] != '\0')
        snprintf(out, cap, "%s (%s)", e->message, e->reason);
    else
        snprintf(out, cap, "%s", e->message);
}
