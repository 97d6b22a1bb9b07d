/*
 * The engine of the chat and fanout scenarios: users that register,
 * join a room and exchange Chat messages (docs/protocol.md section 10).
 *
 * Set-up, before the clock starts: every connection registers its own
 * user (a Command the server answers after Argon2id, so all connections
 * register at once and the server's work pool runs them side by side),
 * then joins its room. A connection counts as opened once both are
 * answered; one whose set-up is refused or not answered within
 * CHAT_SETUP_TIMEOUT_US counts as failed.
 *
 * Load: senders keep --pipeline Chat messages in flight each and send
 * the next when the server acknowledges one (an Ack comes after the
 * message was committed to the store), so acknowledged messages per
 * second is the durable ingest rate and the Ack latency its cost. Every
 * member counts the Chat messages relayed to it and their latency from
 * the time stamp in the payload. Slow members (fanout --slow) stop
 * reading when the load starts and read again once the window is over,
 * to find out how the server ended their connection.
 */
#ifndef TS_BENCH_CHAT_H
#define TS_BENCH_CHAT_H

#include <stdint.h>

#include "bench.h"

/* Registration waits for Argon2id on the server; with its default cost
 * hundreds of users take tens of seconds (docs/bench.md). */
#define CHAT_SETUP_TIMEOUT_US (120u * 1000u * 1000u)
/* A slow member's receive buffer: small, so that the server's queue,
 * not the kernel's buffers, holds what it does not read. */
#define CHAT_SLOW_RCVBUF (64 * 1024)
/* After the window, slow members read their backlog for at most this
 * long to learn how the server ended them (it may linger a little before
 * closing a connection it cut). */
#define CHAT_SLOW_DRAIN_US (5u * 1000u * 1000u)

/* The scenario hooks (see struct scenario). */
unsigned chat_keys(const struct bench_options *opt);
int chat_prepare(struct bench_run *run);
int chat_thread_start(struct bench_thread *th);
uint64_t chat_tick(struct bench_thread *th, uint64_t now);
void chat_ready(struct bench_conn *c, uint64_t now);
int chat_message(struct bench_conn *c, uint8_t *data, size_t len, uint64_t now);
void chat_closed(struct bench_conn *c, const char *failure, uint64_t now);

#endif /* TS_BENCH_CHAT_H */
