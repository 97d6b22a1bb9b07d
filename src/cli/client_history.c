/*
 * tcp_client history [--room R] [-n N] [--before ID]: stored messages of
 * a room, oldest first, each with the verdict on its signature (checked
 * against its sender's registered keys). More than one page of the
 * server's (500) is read page by page.
 */
#include <stdio.h>
#include <stdlib.h>

#include <tcpseal/error.h>

#include "cli/client_chat_cli.h"

static const char options[] =
    "      --room ROOM         the room (lobby)\n"
    "  -n N                    the newest N messages (50)\n"
    "      --before ID         only messages stored before message ID (paging)\n"
    "      --json              one JSON line per message\n";

struct pages {
    json_t *items;       /* oldest first */
    bool more;           /* older ones exist */
};

/* One page older than before (0: the newest), put in front. */
static int page(struct route *r, const struct chat_opts *o, int64_t before, size_t want,
                struct pages *p)
{
    json_t *cmd = json_pack("{s:s, s:s, s:I}", "cmd", "history", "room", o->room, "limit",
                            (json_int_t)want);
    json_t *obj = NULL, *items;
    int status;

    if (cmd != NULL && before > 0)
        json_object_set_new(cmd, "before", json_integer(before));
    if ((status = route_ask(r, "history", cmd, &obj)) != EXIT_OK)
        return status;
    items = json_object_get(obj, "messages");
    p->more = json_is_true(json_object_get(obj, "more"));
    if (json_is_array(items)) {
        json_array_extend(items, p->items);
        json_array_clear(p->items);
        json_array_extend(p->items, items);
    }
    json_decref(obj);
    return EXIT_OK;
}

static int collect(struct route *r, const struct chat_opts *o, struct pages *p)
{
    int64_t before = o->before;
    size_t want, had;
    int status;

    p->more = true;
    while (p->more && json_array_size(p->items) < o->limit) {
        want = o->limit - json_array_size(p->items);
        had = json_array_size(p->items);
        if ((status = page(r, o, before, want < CHAT_HISTORY_PAGE_MAX ? want
                                                                      : CHAT_HISTORY_PAGE_MAX,
                           p)) != EXIT_OK)
            return status;
        if (json_array_size(p->items) == had)
            break;
        before = (int64_t)json_integer_value(json_object_get(json_array_get(p->items, 0), "id"));
    }
    return EXIT_OK;
}

static int show(struct route *r, const struct chat_opts *o, const struct pages *p)
{
    struct chat_item it;
    enum chat_verdict v;
    int rc;

    for (size_t i = 0; i < json_array_size(p->items); i++) {
        if ((rc = chat_item_decode(json_array_get(p->items, i), &it)) != TS_OK) {
            cli_error(CLIENT_PROGRAM, "skipped: %s", ts_error_detail(rc));
            continue;
        }
        v = route_check(r, it.env);
        if (o->json)
            chat_show_json(stdout, it.env, v, it.id, it.time);
        else
            chat_show_line(stdout, it.env, v, it.id, it.time);
        chat_item_clear(&it);
    }
    if (p->more && !o->json && json_array_size(p->items) > 0)
        fprintf(stderr, "%s: older messages: %s history --room %s --before %lld\n",
                CLIENT_PROGRAM, CLIENT_PROGRAM, o->room,
                (long long)json_integer_value(
                    json_object_get(json_array_get(p->items, 0), "id")));
    return ferror(stdout) || fflush(stdout) != 0 ? EXIT_FAILURE_GENERIC : EXIT_OK;
}

static int history_run(int argc, char **argv)
{
    struct chat_opts o;
    struct pages p = {0};
    struct route r;
    int status;

    if ((status = chat_opts_parse(&client_cmd_history, options,
                                  CO_JSON | CO_ROOM | CO_LIMIT | CO_BEFORE, 0, 0, argc, argv,
                                  &o)) != -1)
        return status;
    if ((p.items = json_array()) == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    if ((status = route_init(&r, &o, NULL)) == EXIT_OK &&
        (status = collect(&r, &o, &p)) == EXIT_OK)
        status = show(&r, &o, &p);
    json_decref(p.items);
    route_close(&r);
    return status;
}

const struct cli_command client_cmd_history = {
    "history",
    "Show a room's stored messages, oldest first, with their signatures checked.",
    "history [-H HOST] [-p PORT] [--server-key FP] [--room ROOM] [-n N] [--before ID] "
    "[--json]",
    history_run,
};
