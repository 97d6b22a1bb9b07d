/*
 * Status and connection listings as JSON values (docs/control.md), for
 * the control socket and the public *_json functions.
 */
#ifndef TS_SERVER_STATUS_H
#define TS_SERVER_STATUS_H

#include <jansson.h>

#include <tcpseal/server.h>

/* New references; NULL when out of memory. */
json_t *status_object(ts_server *srv);
json_t *connections_array(ts_server *srv);

#endif /* TS_SERVER_STATUS_H */
