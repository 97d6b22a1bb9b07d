/*
 * What a typed line does in the interactive chat (client_chat_tty.h), and
 * how the answers are shown. Commands never wait: each is sent with a
 * callback, and its answer comes back through the feed, so messages keep
 * arriving while the server works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_chat_tty.h"
#include "client/server_error.h"

static const char help_text[] =
    "TEXT               send TEXT to the current room\n"
    "/join ROOM         join ROOM (created on first join) and make it current\n"
    "/leave [ROOM]      leave ROOM (the current room)\n"
    "/users [ROOM]      members of ROOM (the current room); /users * for everyone online\n"
    "/msg USER TEXT     a direct message to USER\n"
    "/history [N]       the last N messages of the current room (20)\n"
    "/sign on|off       sign the messages you send (on)\n"
    "/quit, exit        leave the chat";

/* Show server-chosen text safely (names, errors). */
static void put(const char *s)
{
    cli_put_text(stdout, (const uint8_t *)s, strlen(s));
}

static void send_command(struct chat_tty *t, enum tty_what what, const char *arg, json_t *cmd)
{
    void *p = tty_pending_new(t, what, arg);
    int rc;

    if (p == NULL || cmd == NULL) {
        json_decref(cmd);
        free(p);
        tty_note(t, "out of memory");
        return;
    }
    if ((rc = chat_command_send(t->chat, cmd, tty_on_answer, p, NULL)) != TS_OK) {
        free(p);
        tty_note(t, "cannot send: %s", ts_error_detail(rc));
    }
}

static void send_text(struct chat_tty *t, enum tty_what what, const char *to, const char *text)
{
    void *p = tty_pending_new(t, what, to);
    int rc;

    if (p == NULL) {
        tty_note(t, "out of memory");
        return;
    }
    rc = chat_say(t->chat, to, text, strlen(text), t->sign, tty_on_answer, p, NULL);
    if (rc != TS_OK) {
        free(p);
        tty_note(t, "not sent: %s", ts_error_detail(rc));
    }
}

/* A room named by a command: "#room" and "room" both work. */
static const char *room_arg(const char *arg)
{
    return arg[0] == '#' ? arg + 1 : arg;
}

static void cmd_join(struct chat_tty *t, const char *arg)
{
    if (arg[0] == '\0') {
        tty_note(t, "usage: /join ROOM");
        return;
    }
    send_command(t, TTY_JOIN, room_arg(arg),
                 json_pack("{s:s, s:s}", "cmd", "join", "room", room_arg(arg)));
}

static void cmd_leave(struct chat_tty *t, const char *arg)
{
    const char *room = arg[0] != '\0' ? room_arg(arg) : t->room;

    if (room[0] == '\0') {
        tty_note(t, "usage: /leave ROOM (you are in no room)");
        return;
    }
    send_command(t, TTY_LEAVE, room, json_pack("{s:s, s:s}", "cmd", "leave", "room", room));
}

static void cmd_users(struct chat_tty *t, const char *arg)
{
    const char *room = arg[0] != '\0' ? room_arg(arg) : t->room;

    if (strcmp(room, "*") == 0 || room[0] == '\0')
        send_command(t, TTY_USERS, "", json_pack("{s:s}", "cmd", "users"));
    else
        send_command(t, TTY_USERS, room, json_pack("{s:s, s:s}", "cmd", "users", "room", room));
}

static void cmd_msg(struct chat_tty *t, const char *arg)
{
    const char *space = strchr(arg, ' ');
    char user[CHAT_NAME_MAX + 1];

    if (space == NULL || space == arg || space[1] == '\0' ||
        (size_t)(space - arg) > CHAT_NAME_MAX) {
        tty_note(t, "usage: /msg USER TEXT");
        return;
    }
    snprintf(user, sizeof(user), "%.*s", (int)(space - arg), arg);
    send_text(t, TTY_MSG, user, space + 1);
}

static void cmd_history(struct chat_tty *t, const char *arg)
{
    uint64_t n = CHAT_TTY_HISTORY;

    if (t->room[0] == '\0') {
        tty_note(t, "join a room first (/join ROOM)");
        return;
    }
    if (arg[0] != '\0' && (cli_parse_uint(arg, CHAT_HISTORY_PAGE_MAX, &n) != 0 || n == 0)) {
        tty_note(t, "usage: /history [N] (1-%d)", CHAT_HISTORY_PAGE_MAX);
        return;
    }
    send_command(t, TTY_HISTORY, t->room,
                 json_pack("{s:s, s:s, s:I}", "cmd", "history", "room", t->room, "limit",
                           (json_int_t)n));
}

static void cmd_sign(struct chat_tty *t, const char *arg)
{
    if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0)
        t->sign = strcmp(arg, "on") == 0;
    else if (arg[0] != '\0') {
        tty_note(t, "usage: /sign on|off");
        return;
    }
    tty_note(t, "messages you send are %s", t->sign ? "signed" : "not signed");
}

static const struct {
    const char *name;
    void (*run)(struct chat_tty *t, const char *arg);
} slash[] = {
    {"join", cmd_join},   {"leave", cmd_leave},     {"users", cmd_users},
    {"msg", cmd_msg},     {"history", cmd_history}, {"sign", cmd_sign},
};

static void slash_command(struct chat_tty *t, const char *line)
{
    size_t len = strcspn(line, " ");
    const char *arg = line + len;

    while (*arg == ' ')
        arg++;
    if ((len == 4 && strncmp(line, "quit", 4) == 0) || (len == 4 && strncmp(line, "exit", 4) == 0)) {
        t->quit = true;
        return;
    }
    if (len == 4 && strncmp(line, "help", 4) == 0) {
        tty_note(t, "\n%s", help_text);
        return;
    }
    for (size_t i = 0; i < sizeof(slash) / sizeof(slash[0]); i++) {
        if (strlen(slash[i].name) == len && strncmp(line, slash[i].name, len) == 0) {
            slash[i].run(t, arg);
            return;
        }
    }
    tty_note(t, "unknown command /%.*s (/help lists them)", (int)len, line);
}

void tty_line(struct chat_tty *t, const char *line)
{
    char to[CHAT_NAME_MAX + 2];

    if (line[0] == '\0')
        return;
    if (line[0] == '/') {
        slash_command(t, line + 1);
        return;
    }
    if (strcmp(line, "exit") == 0) {
        t->quit = true;
        return;
    }
    if (t->room[0] == '\0') {
        tty_note(t, "you are in no room: /join ROOM, or /msg USER TEXT");
        return;
    }
    snprintf(to, sizeof(to), "#%s", t->room);
    send_text(t, TTY_SAY, to, line);
}

/* ---- answers ---- */

static void show_names(json_t *names)
{
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *name = json_string_value(json_array_get(names, i));

        fputs(i == 0 ? "" : ", ", stdout);
        put(name != NULL ? name : "?");
    }
}

static void show_items(struct chat_tty *t, json_t *items)
{
    struct chat_item it;

    for (size_t i = 0; i < json_array_size(items); i++) {
        if (chat_item_decode(json_array_get(items, i), &it) != TS_OK)
            continue;
        chat_show_line(stdout, it.env, chat_check(t->chat, it.env, (uint32_t)t->o->timeout_ms),
                       it.id, it.time);
        chat_item_clear(&it);
    }
}

static void joined(struct chat_tty *t, const char *room, json_t *obj)
{
    snprintf(t->room, sizeof(t->room), "%s", room);
    fputs("-- joined #", stdout);
    put(room);
    fputs(" (", stdout);
    show_names(json_object_get(obj, "users"));
    fputs(")\n", stdout);
    show_items(t, json_object_get(obj, "history"));
}

static void left(struct chat_tty *t, const char *room)
{
    char rooms[CHAT_MAX_ROOMS][CHAT_NAME_MAX + 1];
    unsigned n;

    fputs("-- left #", stdout);
    put(room);
    fputc('\n', stdout);
    if (strcmp(room, t->room) != 0)
        return;
    /* Plain text goes to another room still joined, if any. */
    n = chat_rooms(t->chat, rooms, CHAT_MAX_ROOMS);
    snprintf(t->room, sizeof(t->room), "%s", n > 0 ? rooms[n - 1] : "");
}

static void show_success(struct chat_tty *t, enum tty_what what, const char *arg, json_t *obj)
{
    switch (what) {
    case TTY_JOIN:
        joined(t, arg, obj);
        break;
    case TTY_LEAVE:
        left(t, arg);
        break;
    case TTY_USERS:
        fputs(arg[0] != '\0' ? "-- in #" : "-- online: ", stdout);
        if (arg[0] != '\0') {
            put(arg);
            fputs(": ", stdout);
        }
        show_names(json_object_get(obj, "users"));
        fputc('\n', stdout);
        break;
    case TTY_HISTORY:
        show_items(t, json_object_get(obj, "messages"));
        break;
    default:
        break;
    }
}

static void show_error(const ts_envelope *answer)
{
    const uint8_t *payload;
    char text[512];
    size_t len;

    payload = ts_envelope_payload(answer, &len);
    client_error_text(payload, len, text, sizeof(text));
    put(text);
}

void tty_answer_show(struct chat_tty *t, enum tty_what what, const char *arg, int status,
                     const ts_envelope *answer, const char *detail)
{
    json_t *obj = status == TS_OK && answer != NULL ? chat_answer_object(answer) : NULL;

    /* An acknowledged message is already on the screen as typed. */
    if ((what == TTY_SAY || what == TTY_MSG) && status == TS_OK)
        return;
    tty_print_begin(t);
    if (obj != NULL) {
        show_success(t, what, arg, obj);
    } else {
        fputs("-- ", stdout);
        put(arg);
        fputs(": ", stdout);
        if (status == TS_ERR_SERVER && answer != NULL)
            show_error(answer);
        else
            put(detail[0] != '\0' ? detail : "no answer");
        fputc('\n', stdout);
    }
    if (what == TTY_JOIN || what == TTY_LEAVE)
        tty_prompt_update(t);
    tty_print_end(t);
    json_decref(obj);
}

int tty_join_first(struct chat_tty *t, const char *room)
{
    ts_envelope *answer = NULL;
    int rc = chat_command(t->chat, json_pack("{s:s, s:s}", "cmd", "join", "room", room),
                          (uint32_t)t->o->timeout_ms, &answer);
    int status = EXIT_OK;

    if (rc != TS_OK && rc != TS_ERR_SERVER)
        status = oneshot_failure("join", rc, ts_error_detail(rc));
    else if ((status = route_refused("join", answer, false)) == EXIT_OK)
        tty_answer_show(t, TTY_JOIN, room, rc, answer, "");
    ts_envelope_free(answer);
    return status;
}
