/*
 * tcp_client response: show the last answer received again; with a
 * running agent, from its inbox, which also lists every message
 * (--all) and streams new ones (--follow).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_cli.h"
#include "client/state_file.h"

/* The saved answer is one envelope JSON line, a few times its payload. */
#define LAST_RESPONSE_MAX (4u * TS_ENVELOPE_MAX_PAYLOAD)

/* The file's text, or NULL: *status says whether that is "none yet". */
static char *saved_read(const char *path, size_t *len, int *status)
{
    char *text = NULL;
    int fd = -1, rc;

    rc = state_file_open_locked(path, O_RDONLY, LOCK_SH, &fd);
    if (rc == TS_OK)
        rc = state_file_read_all(fd, path, LAST_RESPONSE_MAX, &text, len);
    if (fd >= 0)
        close(fd);
    if (rc == TS_ERR_NOT_FOUND) {
        cli_error(CLIENT_PROGRAM, "no response received yet (send one with '%s send "
                  "MESSAGE')", CLIENT_PROGRAM);
        *status = EXIT_FAILURE_GENERIC;
    } else if (rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot read the last response: %s", ts_error_detail(rc));
        *status = EXIT_LOCAL_STATE;
    }
    return text;
}

/* The payload bytes of the saved envelope (base64 when it was not UTF-8). */
static int payload_get(json_t *doc, uint8_t **out, size_t *len)
{
    const char *payload = json_string_value(json_object_get(doc, "payload"));
    const char *encoding = json_string_value(json_object_get(doc, "payload_encoding"));
    size_t n;

    *out = NULL;
    *len = 0;
    if (payload == NULL)
        return encoding == NULL && json_object_get(doc, "payload") == NULL ? 0 : -1;
    n = json_string_length(json_object_get(doc, "payload"));
    if (encoding == NULL) {
        if ((*out = malloc(n + 1)) == NULL)
            return -1;
        memcpy(*out, payload, n);
        *len = n;
        return 0;
    }
    if (strcmp(encoding, "base64") != 0 || (*out = malloc(n + 1)) == NULL)
        return -1;
    if (sodium_base642bin(*out, n + 1, payload, n, NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* With -H or -p: the saved answer must come from that server. */
static int server_matches(const struct client_simple *o, json_t *doc)
{
    const char *server = json_string_value(json_object_get(doc, "server"));

    if (!o->server_given || (server != NULL && strcasecmp(server, o->hostport) == 0))
        return EXIT_OK;
    cli_error(CLIENT_PROGRAM, "no response from %s saved (the last one came from %s)",
              o->hostport, server != NULL ? server : "an unknown server");
    return EXIT_FAILURE_GENERIC;
}

/* Replay the answer as send showed it: payload, or the Error's text; the
 * saved JSON line with --json. */
static int saved_show(const struct client_simple *o, const char *path, const char *text,
                      size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(doc, "type"));
    uint8_t *payload = NULL;
    size_t plen = 0;
    char msg[512];
    int status;

    if (type == NULL || payload_get(doc, &payload, &plen) != 0) {
        cli_error(CLIENT_PROGRAM, "%s is damaged (not a saved response)", path);
        status = EXIT_LOCAL_STATE;
    } else if ((status = server_matches(o, doc)) != EXIT_OK) {
        /* reported */
    } else if (o->json) {
        status = client_print_payload((const uint8_t *)text, len);
    } else if (strcmp(type, "Error") == 0) {
        client_error_text(payload, plen, msg, sizeof(msg));
        cli_error(CLIENT_PROGRAM, "server refused the request: %s", msg);
        status = EXIT_ERROR_RESPONSE;
    } else {
        status = client_print_payload(payload, plen);
    }
    free(payload);
    json_decref(doc);
    return status;
}

static const char response_options[] =
    "      --json          print the answer as one JSON line (with --all and\n"
    "                      --follow: one line per message)\n"
    "      --all           every answer and server message in the agent's inbox,\n"
    "                      oldest first\n"
    "      --follow        then (or, without --all, only) new ones as they arrive,\n"
    "                      until interrupted\n"
    "  -H, --host HOST     only an answer from this server (as send named it)\n"
    "  -p, --port PORT     ... and port (8080)\n"
    "  -h, --help          show this help\n";

/* No agent: the answer saved by the last send. */
static int response_saved(const struct client_simple *o, const char *dir)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    int status = EXIT_LOCAL_STATE;

    if ((path = client_state_path(dir, CLIENT_LAST_RESPONSE_FILE)) == NULL ||
        (text = saved_read(path, &len, &status)) == NULL)
        goto done;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    status = saved_show(o, path, text, len);
done:
    free(text);
    free(path);
    return status;
}

static int response_run(int argc, char **argv)
{
    struct client_simple o = {.allow_json = true, .allow_server = true, .allow_list = true};
    char *dir = NULL;
    int status, handled = 0;

    status = client_simple_parse(&client_cmd_response, response_options, argc, argv, &o);
    if (status != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = client_response_agent(&o, dir, &handled);
    if (!handled)
        status = o.all || o.follow ? agent_not_running(false) : response_saved(&o, dir);
    free(dir);
    return status;
}

const struct cli_command client_cmd_response = {
    "response",
    "Print the last response received again (its payload, or with --json the whole "
    "envelope); with the agent, --all lists its inbox and --follow streams new messages.",
    "response [-H HOST] [-p PORT] [--all] [--follow] [--json]",
    response_run,
};
