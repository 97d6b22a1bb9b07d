/*
 * Requests: handing a verified Request to the server's handler, and the
 * built-in handlers (echo, ack).
 */
#ifndef TS_SERVER_REQUESTS_H
#define TS_SERVER_REQUESTS_H

#include <tcpseal/server.h>

struct conn;

/* Run the handler for env, received on c. */
void requests_handle(struct conn *c, const ts_envelope *env);

/* The connection whose request this thread is handling right now, if its
 * id is client: lets a handler's immediate reply skip every lookup. */
struct conn *requests_current(ts_client_id client);

/* The built-in handler for a configuration value. */
ts_request_handler requests_builtin(ts_builtin_handler which);

#endif /* TS_SERVER_REQUESTS_H */
