/*
 * tcp_client send / sign: one Request, its answer on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "cli/client_cli.h"
#include "cli/client_tls_opts.h"
#include "client/conn.h"

/* A hash or signature that fails is never shown as an answer; a clock
 * difference is worth a warning only (the channel already proved who
 * sent it). */
static int answer_check(const struct client_target *t, const struct client_answer *a)
{
    switch (a->verify) {
    case TS_OK:
        return EXIT_OK;
    case TS_ERR_BAD_HASH:
        cli_error(CLIENT_PROGRAM, "the answer from %s fails its hash check; not shown",
                  t->hostport);
        return EXIT_PROTOCOL;
    case TS_ERR_BAD_SIGNATURE:
        cli_error(CLIENT_PROGRAM,
                  "the answer from %s carries a signature that does not verify against "
                  "the server identity %s; not shown", t->hostport, a->server_key);
        return EXIT_PROTOCOL;
    case TS_ERR_STALE:
        cli_error(CLIENT_PROGRAM,
                  "warning: the answer's timestamp is more than %u minutes away from "
                  "this host's clock", CLIENT_DEFAULT_SKEW_MS / 60000u);
        return EXIT_OK;
    default:
        cli_error(CLIENT_PROGRAM, "the answer from %s cannot be checked: %s", t->hostport,
                  ts_strerror(a->verify));
        return EXIT_PROTOCOL;
    }
}

/* For `sign`: did the server sign its answer, and with the key the
 * handshake proved? (Shown in the JSON instead with --json.) */
static void signature_note(const struct client_answer *a)
{
    if (a->verified)
        fprintf(stderr, "%s: response signature verified (server %s)\n", CLIENT_PROGRAM,
                a->server_key);
    else
        fprintf(stderr, "%s: response is not signed\n", CLIENT_PROGRAM);
}

static int answer_show(const struct client_target *t, const char *dir,
                       const struct client_answer *a, bool sign)
{
    const uint8_t *payload;
    char *json = NULL, text[512];
    size_t len;
    int status;

    if ((status = answer_check(t, a)) != EXIT_OK)
        return status;
    if ((status = client_answer_json(a->env, a->verified, t->hostport, a->server_key,
                                     &json)) != EXIT_OK)
        return status;
    /* A failed save is reported but does not hide the answer. */
    client_answer_save(dir, json);
    payload = ts_envelope_payload(a->env, &len);
    if (t->json)
        status = client_print_payload((const uint8_t *)json, strlen(json));
    if (ts_envelope_type(a->env) == TS_MSG_ERROR) {
        client_error_text(payload, len, text, sizeof(text));
        cli_error(CLIENT_PROGRAM, "server refused the request: %s", text);
        status = EXIT_ERROR_RESPONSE;
    } else if (!t->json) {
        status = client_print_payload(payload, len);
        if (sign)
            signature_note(a);
    }
    free(json);
    return status;
}

/* No agent (or one for another server): connect, send, wait, here. */
static int send_oneshot(const struct client_target *t, const char *dir, bool sign)
{
    struct client_answer a = {0};
    ts_identity *id = NULL;
    int status;

    if (t->no_wait) {
        cli_error(CLIENT_PROGRAM, "--no-wait needs a running agent (start it with '%s "
                  "start')", CLIENT_PROGRAM);
        return EXIT_NOT_RUNNING;
    }
    if ((status = client_identity_open(dir, &id)) == EXIT_OK &&
        (status = client_exchange(t, dir, id, sign, &a)) == EXIT_OK)
        status = answer_show(t, dir, &a, sign);
    client_answer_free(&a);
    ts_identity_free(id);
    return status;
}

/* Through the agent: shown exactly as the one-shot shows it, the server
 * named as the agent names it. */
static int send_agent(const struct client_target *t, const char *dir, bool sign, int *handled)
{
    struct client_target shown = *t;
    struct client_answer a = {0};
    int status = client_agent_send(t, dir, sign, &a, shown.hostport, handled);

    if (*handled && status == EXIT_OK && a.env != NULL)
        status = answer_show(&shown, dir, &a, sign);
    client_answer_free(&a);
    return status;
}

static int send_common(const struct cli_command *cmd, int argc, char **argv, bool sign)
{
    struct client_target t;
    char *dir = NULL;
    int status, handled = 0;

    if ((status = client_target_parse(cmd, argc, argv, &t)) != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = send_agent(&t, dir, sign, &handled);
    if (!handled)
        status = send_oneshot(&t, dir, sign);
    free(dir);
    return status;
}

static int send_run(int argc, char **argv)
{
    return send_common(&client_cmd_send, argc, argv, false);
}

static int sign_run(int argc, char **argv)
{
    return send_common(&client_cmd_sign, argc, argv, true);
}

#define TARGET_USAGE                                                           \
    "[-H HOST] [-p PORT] [--server-key FINGERPRINT] [--json] [--timeout SECONDS] " \
    "[--no-wait] " CLIENT_TLS_USAGE " MESSAGE"

const struct cli_command client_cmd_send = {
    "send",
    "Send MESSAGE as a Request and print the server's Response (through the agent "
    "when one runs).",
    "send " TARGET_USAGE,
    send_run,
};

const struct cli_command client_cmd_sign = {
    "sign",
    "Like send, with the Request signed by this client's identity; says whether the "
    "Response's signature verified.",
    "sign " TARGET_USAGE,
    sign_run,
};
