/*
 * Commands that read the store file directly, with the server running or
 * not: verify-db (recompute hashes, signatures and the chain) and history
 * (show stored messages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <tcpseal/envelope.h>

#include "cli/cli_common.h"
#include "cli/cli_text.h"
#include "cli/server_cmds.h"
#include "cli/server_ctl.h"
#include "cli/server_paths.h"
#include "store/store.h"

#define STORE_FILE "tcpseal.db"

struct store_opts {
    const char *store;   /* --store FILE */
    const char *room;    /* --room ROOM */
    const char *limit;   /* -n N */
};


static void put_string(const char *s)
{
    cli_put_text(stdout, (const uint8_t *)s, strlen(s));
}

/* --store FILE, or tcpseal.db in the state directory. */
static char *store_path(const struct store_opts *so, const struct server_paths *p)
{
    return so->store != NULL ? strdup(so->store) : cli_path_join(p->dir, STORE_FILE);
}

static int verify_print(const struct store_verify_result *r, bool json)
{
    char head[2 * STORE_CHAIN_LEN + 1];
    json_t *out;

    sodium_bin2hex(head, sizeof(head), r->head, STORE_CHAIN_LEN);
    if (json) {
        out = r->ok ? json_pack("{s:b, s:I, s:s}", "ok", 1, "rows", (json_int_t)r->rows,
                                "head", head)
                    : json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "rows", (json_int_t)r->rows,
                                "bad_row", (json_int_t)r->bad_row, "problem", r->problem);
        ctl_print_json(out);
        json_decref(out);
    } else if (r->ok) {
        printf("verified %llu messages: hashes, signatures and chain are intact\n"
               "chain head %s\n", (unsigned long long)r->rows, head);
    } else {
        printf("row %lld does not match: %s\n(%llu row%s before it %s intact)\n",
               (long long)r->bad_row, r->problem, (unsigned long long)r->rows,
               r->rows == 1 ? "" : "s", r->rows == 1 ? "is" : "are");
    }
    return r->ok ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

static int verify_run(int argc, char **argv)
{
    struct store_opts so = {0};
    struct server_paths p = {0};
    struct store_verify_result r;
    struct ctl_opts o;
    char *path = NULL;
    int status, rc;

    if (cli_take_option(SERVER_PROGRAM, &argc, argv, "--store", &so.store) != 0)
        return EXIT_USAGE;
    status = ctl_begin(&server_cmd_verify_db, CTL_ALLOW_JSON, argc, argv, 0, 0, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    if ((path = store_path(&so, &p)) == NULL) {
        status = EXIT_FAILURE_GENERIC;
        goto out;
    }
    if ((rc = store_verify_sync(path, &r)) != TS_OK) {
        cli_error(SERVER_PROGRAM, "cannot verify %s: %s", path, ts_error_detail(rc));
        status = EXIT_LOCAL_STATE;
        goto out;
    }
    status = verify_print(&r, o.json);
out:
    free(path);
    server_paths_free(&p);
    return status;
}

/* One row: JSON (the envelope's own view plus where it was stored) or a
 * line for people. */
static int print_row(void *ctx, const struct store_row *row)
{
    bool json = *(bool *)ctx;
    ts_envelope *env = NULL;
    char when[32], *view = NULL;
    const uint8_t *payload;
    size_t len = 0;

    cli_format_time(row->stored_ms, when);
    if (ts_envelope_decode(row->envelope, row->envelope_len, &env) != TS_OK) {
        if (json) {
            json_t *obj = json_pack("{s:I, s:s, s:s, s:b}", "stored_id", (json_int_t)row->id,
                                    "stored_at", when, "sender", row->sender, "undecodable", 1);
            ctl_print_json(obj);
            json_decref(obj);
        } else {
            printf("%-6lld %s  ", (long long)row->id, when);
            put_string(row->sender);
            fputs(" (undecodable envelope)\n", stdout);
        }
        return 0;
    }
    if (json && ts_envelope_to_json(env, &view) == TS_OK) {
        json_t *obj = json_loads(view, 0, NULL);
        json_object_set_new(obj, "stored_id", json_integer(row->id));
        json_object_set_new(obj, "stored_at", json_string(when));
        ctl_print_json(obj);
        json_decref(obj);
    } else if (!json) {
        payload = ts_envelope_payload(env, &len);
        printf("%-6lld %s  ", (long long)row->id, when);
        put_string(row->sender);
        fputs(row->room[0] != '\0' ? " -> #" : " -> ", stdout);
        put_string(row->room[0] != '\0' ? row->room : row->recipient);
        fputs(": ", stdout);
        cli_put_text(stdout, payload, len);
        putchar('\n');
    }
    free(view);
    ts_envelope_free(env);
    return 0;
}

static int history_run(int argc, char **argv)
{
    struct store_opts so = {0};
    struct server_paths p = {0};
    struct ctl_opts o;
    uint64_t limit = 50;
    char *path = NULL;
    int status, rc;

    if (cli_take_option(SERVER_PROGRAM, &argc, argv, "--store", &so.store) != 0 ||
        cli_take_option(SERVER_PROGRAM, &argc, argv, "--room", &so.room) != 0 ||
        cli_take_option(SERVER_PROGRAM, &argc, argv, "-n", &so.limit) != 0)
        return EXIT_USAGE;
    if (so.limit != NULL && cli_parse_uint(so.limit, 1000000, &limit) != 0) {
        cli_error(SERVER_PROGRAM, "bad -n '%s': expected a number", so.limit);
        return EXIT_USAGE;
    }
    status = ctl_begin(&server_cmd_history, CTL_ALLOW_JSON, argc, argv, 0, 0, &o, &p);
    if (status != CTL_CONTINUE)
        goto out;
    if ((path = store_path(&so, &p)) == NULL) {
        status = EXIT_FAILURE_GENERIC;
        goto out;
    }
    rc = store_history_sync(path, so.room != NULL ? so.room : "", (unsigned)limit, print_row,
                            &o.json);
    if (rc != TS_OK) {
        cli_error(SERVER_PROGRAM, "cannot read %s: %s", path, ts_error_detail(rc));
        status = EXIT_LOCAL_STATE;
    } else {
        status = ferror(stdout) || fflush(stdout) != 0 ? EXIT_FAILURE_GENERIC : EXIT_OK;
    }
out:
    free(path);
    server_paths_free(&p);
    return status;
}

const struct cli_command server_cmd_verify_db = {
    "verify-db",
    "Recompute every stored message's hash and signature and the hash chain; name the "
    "first row that does not match. Works with the server running or stopped.",
    "verify-db [--json] [--store FILE] [-c FILE] [--state-dir DIR]", verify_run,
};

const struct cli_command server_cmd_history = {
    "history",
    "Show stored messages, oldest first: the last N (50) of ROOM, or of every room and "
    "direct conversation.",
    "history [--room ROOM] [-n N] [--json] [--store FILE] [-c FILE] [--state-dir DIR]",
    history_run,
};
