/*
 * A session of the command's own: the client library with no store file
 * (the one-shot client keeps nothing but the shared files: identity,
 * known servers, sequence), the chat layer on top, one connection whose
 * handshake logs the device in by its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_chat_cli.h"
#include "client/known_servers.h"
#include "client/sequence.h"
#include "util/error.h"

int oneshot_failure(const char *what, int rc, const char *detail)
{
    int status = client_exit_status(rc, detail);
    const char *sep = what[0] != '\0' ? ": " : "";

    if (status == EXIT_KEY_MISMATCH)
        cli_error(CLIENT_PROGRAM, "WARNING: %s", detail);
    else if (status == EXIT_NOT_RUNNING && strstr(detail, "Connection refused") != NULL)
        cli_error(CLIENT_PROGRAM, "%s%s%s — is tcp_server running?", what, sep, detail);
    else
        cli_error(CLIENT_PROGRAM, "%s%s%s", what, sep, detail);
    return status;
}

static int client_make(struct oneshot *s, const struct chat_opts *o, const char *dir)
{
    char *known = client_state_path(dir, KNOWN_SERVERS_FILE);
    char *seq = client_state_path(dir, SEQUENCE_FILE);
    ts_client_config cfg;
    int rc, status = EXIT_LOCAL_STATE;

    if (known == NULL || seq == NULL)
        goto done;
    ts_client_config_init(&cfg);
    cfg.host = o->host;
    cfg.port = o->port;
    cfg.identity = s->id;
    cfg.server_key = o->server_key;
    cfg.known_servers_path = known;
    cfg.sequence_path = seq;
    cfg.connect_timeout_ms = (uint32_t)o->timeout_ms;
    /* Nothing is kept between runs: the server has the history. */
    cfg.inbox_limit = 0;
    client_tls_apply(&o->tls, &cfg);
    if ((rc = ts_client_new(&s->client, &cfg)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot set up the client: %s", ts_error_detail(rc));
        status = rc == TS_ERR_CONFIG ? EXIT_USAGE : EXIT_LOCAL_STATE;
        goto done;
    }
    status = EXIT_OK;
done:
    free(known);
    free(seq);
    return status;
}

/* Connect; a server seen for the first time is announced as the one-shot
 * client announces it. */
static int session_connect(struct oneshot *s, const struct chat_opts *o, const char *dir)
{
    char *known = client_state_path(dir, KNOWN_SERVERS_FILE);
    char fp[TS_FINGERPRINT_MAX];
    ts_client_status st;
    bool first_use;
    int rc;

    if (known == NULL)
        return EXIT_LOCAL_STATE;
    first_use = o->server_key == NULL &&
                known_servers_lookup(known, o->hostport, fp) == TS_ERR_NOT_FOUND;
    free(known);
    if ((rc = ts_client_connect(s->client, (uint32_t)o->timeout_ms)) != TS_OK)
        return oneshot_failure("", rc, ts_client_last_error(s->client));
    ts_client_get_status(s->client, &st);
    if (first_use)
        fprintf(stderr, "%s: added %s (%s) to known servers\n", CLIENT_PROGRAM, o->hostport,
                st.server_fingerprint);
    return EXIT_OK;
}

int oneshot_open(struct oneshot *s, const struct chat_opts *o, const char *dir,
                 const struct chat_callbacks *cb)
{
    ts_envelope *answer = NULL;
    int status, rc;

    memset(s, 0, sizeof(*s));
    if ((status = client_identity_open(dir, &s->id)) != EXIT_OK ||
        (status = client_make(s, o, dir)) != EXIT_OK)
        goto fail;
    if ((rc = chat_new(&s->chat, s->client, cb)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot set up the chat: %s", ts_error_detail(rc));
        status = EXIT_FAILURE_GENERIC;
        goto fail;
    }
    if ((status = session_connect(s, o, dir)) != EXIT_OK)
        goto fail;
    /* Who the handshake logged us in as (the key decides). */
    rc = chat_sync(s->chat, (uint32_t)o->timeout_ms, &answer);
    ts_envelope_free(answer);
    if (rc != TS_OK) {
        status = oneshot_failure("whoami", rc, ts_error_detail(rc));
        goto fail;
    }
    return EXIT_OK;
fail:
    oneshot_close(s);
    return status;
}

void oneshot_close(struct oneshot *s)
{
    if (s->client != NULL) {
        /* Tells the server why we leave; nothing to do when never up. */
        (void)ts_client_shutdown(s->client);
        ts_client_free(s->client);
    }
    chat_free(s->chat);
    ts_identity_free(s->id);
    memset(s, 0, sizeof(*s));
}
