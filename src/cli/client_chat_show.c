/*
 * Chat messages and events as tcp_client shows them (client_chat_cli.h):
 * one line for people, or one JSON line for scripts. Everything a sender
 * wrote is made safe for a terminal first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tcpseal/error.h>

#include "cli/client_chat_cli.h"

const char *chat_mark(enum chat_verdict v)
{
    switch (v) {
    case CHAT_VERIFIED:
        return "\u2713";
    case CHAT_UNSIGNED:
        return "?";
    default:
        return "\u2717";
    }
}

static void put_string(FILE *out, const char *s)
{
    cli_put_text(out, (const uint8_t *)s, strlen(s));
}

static void local_clock(uint64_t unix_ms, char out[16])
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;

    if (localtime_r(&secs, &tm) == NULL || strftime(out, 16, "%H:%M:%S", &tm) == 0)
        snprintf(out, 16, "--:--:--");
}

static void event_line(FILE *out, json_t *ev)
{
    const char *kind = json_string_value(json_object_get(ev, "event"));
    const char *room = json_string_value(json_object_get(ev, "room"));
    const char *user = json_string_value(json_object_get(ev, "user"));
    json_t *users = json_object_get(ev, "users");

    if (room != NULL) {
        fputc('#', out);
        put_string(out, room);
        fputc(' ', out);
    }
    fputs("* ", out);
    put_string(out, user != NULL ? user : "someone");
    if (kind != NULL && strcmp(kind, "join") == 0)
        fputs(" joined", out);
    else if (kind != NULL && strcmp(kind, "leave") == 0)
        fputs(" left", out);
    else if (kind != NULL && strcmp(kind, "online") == 0)
        fputs(" is online", out);
    else if (kind != NULL && strcmp(kind, "offline") == 0)
        fputs(" went offline", out);
    else
        put_string(out, kind != NULL ? kind : "(event)");
    for (size_t i = 0; json_is_array(users) && i < json_array_size(users); i++) {
        fputs(i == 0 ? " (" : ", ", out);
        put_string(out, json_string_value(json_array_get(users, i)) != NULL
                            ? json_string_value(json_array_get(users, i))
                            : "?");
        if (i + 1 == json_array_size(users))
            fputc(')', out);
    }
}

static void verdict_note(FILE *out, const ts_envelope *env, enum chat_verdict v)
{
    if (v == CHAT_BAD_SIGNATURE) {
        fputs("  [signature does not verify against the registered keys of ", out);
        put_string(out, ts_envelope_sender(env));
        fputc(']', out);
    } else if (v == CHAT_UNCHECKED) {
        fputs("  [signature not checked: the keys of ", out);
        put_string(out, ts_envelope_sender(env));
        fputs(" could not be looked up]", out);
    }
}

static void chat_line(FILE *out, const ts_envelope *env, enum chat_verdict v)
{
    const char *room = chat_room_of(env);
    const uint8_t *payload;
    size_t len;

    if (room != NULL) {
        fputc('#', out);
        put_string(out, room);
        fputc(' ', out);
    }
    fprintf(out, "%s ", chat_mark(v));
    put_string(out, ts_envelope_sender(env));
    if (room == NULL) {
        fputs(" \u2192 ", out);
        put_string(out, ts_envelope_recipient(env));
    }
    fputs(": ", out);
    payload = ts_envelope_payload(env, &len);
    cli_put_text(out, payload, len);
    verdict_note(out, env, v);
}

void chat_show_line(FILE *out, const ts_envelope *env, enum chat_verdict verdict,
                    int64_t stored_id, const char *stored_at)
{
    char when[16];
    const uint8_t *payload;
    json_t *ev;
    size_t len;

    if (stored_id != 0) {
        fprintf(out, "%lld %s ", (long long)stored_id, stored_at);
    } else {
        local_clock(ts_envelope_timestamp(env), when);
        fprintf(out, "%s ", when);
    }
    if (ts_envelope_type(env) == TS_MSG_CHAT) {
        chat_line(out, env, verdict);
    } else if ((ev = chat_event_object(env)) != NULL) {
        event_line(out, ev);
        json_decref(ev);
    } else {
        fputs(ts_envelope_type(env) == TS_MSG_NOTICE ? "! notice from the server: "
                                                     : "! from the server: ",
              out);
        payload = ts_envelope_payload(env, &len);
        cli_put_text(out, payload, len);
    }
    fputc('\n', out);
    fflush(out);
}

static json_t *verified_value(const ts_envelope *env, enum chat_verdict v)
{
    if (!ts_envelope_is_signed(env))
        return json_null();
    return json_boolean(v == CHAT_VERIFIED);
}

void chat_show_json(FILE *out, const ts_envelope *env, enum chat_verdict verdict,
                    int64_t stored_id, const char *stored_at)
{
    const char *room = chat_room_of(env);
    char *view = NULL, *line;
    json_t *obj = NULL, *ev;

    if (ts_envelope_to_json(env, &view) != TS_OK || (obj = json_loads(view, 0, NULL)) == NULL) {
        cli_error(CLIENT_PROGRAM, "cannot render a message as JSON");
        free(view);
        return;
    }
    free(view);
    if (ts_envelope_type(env) == TS_MSG_CHAT) {
        json_object_set_new(obj, "room", room != NULL ? json_string(room) : json_null());
        json_object_set_new(obj, "signed", json_boolean(ts_envelope_is_signed(env)));
        json_object_set_new(obj, "verified", verified_value(env, verdict));
        json_object_set_new(obj, "verdict", json_string(chat_verdict_name(verdict)));
    } else if ((ev = chat_event_object(env)) != NULL) {
        json_object_set_new(obj, "event", ev);
    }
    if (stored_id != 0) {
        json_object_set_new(obj, "stored_id", json_integer(stored_id));
        json_object_set_new(obj, "stored_at", json_string(stored_at));
    }
    if ((line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
        fprintf(out, "%s\n", line);
        free(line);
    }
    fflush(out);
    json_decref(obj);
}

int chat_print_json(json_t *value)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int status = EXIT_OK;

    if (text == NULL || printf("%s\n", text) < 0 || fflush(stdout) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot write the output");
        status = EXIT_FAILURE_GENERIC;
    }
    free(text);
    return status;
}

enum chat_verdict chat_verdict_parse(const char *name, enum chat_verdict fallback)
{
    static const enum chat_verdict all[] = {CHAT_UNSIGNED, CHAT_VERIFIED, CHAT_BAD_SIGNATURE,
                                            CHAT_UNCHECKED};

    for (size_t i = 0; name != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, chat_verdict_name(all[i])) == 0)
            return all[i];
    }
    return fallback;
}

enum chat_verdict chat_verdict_from(json_t *msg, const ts_envelope *env)
{
    enum chat_verdict fallback =
        chat_verdict_of(env, json_is_true(json_object_get(msg, "verified")));

    return chat_verdict_parse(json_string_value(json_object_get(msg, "verdict")), fallback);
}

bool chat_listen_wants(const char *room, const ts_envelope *env)
{
    const char *to, *kind, *ev_room;
    json_t *ev;
    bool wanted;

    switch (ts_envelope_type(env)) {
    case TS_MSG_CHAT:
        to = chat_room_of(env);
        return to == NULL || room == NULL || strcmp(to, room) == 0;
    case TS_MSG_NOTICE:
        return true;
    case TS_MSG_EVENT:
        if ((ev = chat_event_object(env)) == NULL)
            return false;
        kind = json_string_value(json_object_get(ev, "event"));
        ev_room = json_string_value(json_object_get(ev, "room"));
        /* Presence is for everyone; joins and leaves for their room. */
        wanted = kind != NULL &&
                 (ev_room == NULL || room == NULL || strcmp(ev_room, room) == 0);
        json_decref(ev);
        return wanted;
    default:
        return false;
    }
}
