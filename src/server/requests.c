#include "server/requests.h"

#include <string.h>

#include <sodium.h>

#include "server/conn.h"

#define ACK_PREFIX "ack "

static _Thread_local struct conn *current;

void requests_handle(struct conn *c, const ts_envelope *env)
{
    ts_server *srv = c->worker->srv;

    current = c;
    srv->handler(srv, c->id, env, srv->handler_arg);
    current = NULL;
}

struct conn *requests_current(ts_client_id client)
{
    return current != NULL && current->id == client ? current : NULL;
}

static void handle_echo(ts_server *srv, ts_client_id client, const ts_envelope *req,
                        void *arg)
{
    size_t len;
    const uint8_t *payload = ts_envelope_payload(req, &len);
    const char *ctype = ts_envelope_content_type(req);

    ts_server_reply(srv, client, req, payload, len, ctype[0] != '\0' ? ctype : NULL);
}

/* "ack <hex of the request hash>": proof of which message was received. */
static void handle_ack(ts_server *srv, ts_client_id client, const ts_envelope *req,
                       void *arg)
{
    char text[sizeof(ACK_PREFIX) + 2 * TS_ENVELOPE_HASH_LEN];

    memcpy(text, ACK_PREFIX, sizeof(ACK_PREFIX) - 1);
    sodium_bin2hex(text + sizeof(ACK_PREFIX) - 1, 2 * TS_ENVELOPE_HASH_LEN + 1,
                   ts_envelope_hash(req), TS_ENVELOPE_HASH_LEN);
    ts_server_reply(srv, client, req, text, strlen(text), "text/plain; charset=utf-8");
}

ts_request_handler requests_builtin(ts_builtin_handler which)
{
    return which == TS_HANDLER_ACK ? handle_ack : handle_echo;
}
