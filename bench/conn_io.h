/*
 * Inside a connection (conn.h): the parts of conn.c (life cycle,
 * channel events) and conn_io.c (bytes between the transport and the
 * channel) that call each other. Not for the scenarios.
 */
#ifndef TS_BENCH_CONN_IO_H
#define TS_BENCH_CONN_IO_H

#include "conn.h"

/* Write what is queued for c: its backlog, then the thread's staging
 * buffer if c owns it. 0, or -1 with c->why naming the failure. */
int conn_write(struct bench_conn *c);

/* Read what the transport has (a bounded number of reads), hand every
 * whole unit to the channel, then write and settle. */
void conn_read(struct bench_conn *c);

/* Register the epoll events c needs now: what the transport waits for,
 * without reading while paused. 0, or -1 (errno set). */
int conn_update_events(struct bench_conn *c);

/* The sink a channel of c encrypts into (the thread's staging buffer). */
struct channel_sink conn_sink(struct bench_conn *c);

/* Close c at once: failure names the reason (counted), NULL for a
 * normal close, which says goodbye to the server first. */
void conn_teardown(struct bench_conn *c, const char *failure);

/* Carry out a close requested inside a channel call, once none runs. */
void conn_settle(struct bench_conn *c);

/* A channel call failed with rc: name the failure, flush what the
 * channel queued for the server (a CLOSE with the reason) and drop c. */
void conn_channel_failed(struct bench_conn *c, int rc);

/* ECONNREFUSED for ECONNREFUSED: for failure names. */
const char *conn_errno_name(int err);

/* "connecting", "handshake", "ready": for failure names. */
const char *conn_phase_name(enum conn_phase p);

#endif /* TS_BENCH_CONN_IO_H */
