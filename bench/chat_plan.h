/*
 * What a chat or fanout run is made of, decided before it starts: the
 * parameters, which connection plays which role, the names of its users
 * and rooms, and the time stamp each chat message carries.
 *
 * Every connection is a user of its own, registered and joined to a room
 * before the clock starts. Users and rooms are named after a run tag
 * ("k3x9qa-17", room "k3x9qa"), so runs against the same server never
 * collide with accounts made by earlier runs.
 *
 * A chat message's payload starts with the sending time (this process's
 * monotonic clock in microseconds, CHAT_STAMP_LEN hex digits), so a
 * member that receives it knows the delivery latency without asking the
 * sender: both are this program.
 */
#ifndef TS_BENCH_CHAT_PLAN_H
#define TS_BENCH_CHAT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* Longest user or room name the server accepts (protocol 10.1). */
#define CHAT_NAME_MAX 32
#define CHAT_STAMP_LEN 16

enum chat_role {
    CHAT_READER, /* joins and reads */
    CHAT_SENDER, /* joins, reads and sends */
    CHAT_SLOW,   /* joins, then stops reading once the load starts */
};

/*
 * Check and complete the options of a chat or fanout run whose check has
 * set senders, slow and rooms: payload big enough for the time stamp, at
 * least one sender, no more senders and slow members than connections,
 * rooms from 1 to the connections. Sets opt->window (the pipeline).
 * 0, or -1 after printing why.
 */
int chat_plan_check(struct bench_options *opt);

/* The role of the connection with run-wide index i: the first
 * opt->senders send, the last opt->slow are slow, the rest read. */
enum chat_role chat_plan_role(const struct bench_options *opt, unsigned i);

/* A fresh run tag: a letter, then letters and digits. */
void chat_plan_tag(char tag[BENCH_TAG_LEN + 1]);

/* The user name of connection i: "TAG-I". */
void chat_plan_user(const char *tag, unsigned i, char out[CHAT_NAME_MAX + 1]);

/* The room of connection i: "TAG" when every member shares one room,
 * else "TAG-R" with R = i modulo opt->rooms. */
void chat_plan_room(const struct bench_options *opt, const char *tag, unsigned i,
                    char out[CHAT_NAME_MAX + 1]);

/* Write the time stamp us at the start of p (CHAT_STAMP_LEN bytes). */
void chat_stamp_write(uint8_t *p, uint64_t us);

/* Read a time stamp from a payload of len bytes: 0, or -1 when it does
 * not start with one. */
int chat_stamp_read(const uint8_t *p, size_t len, uint64_t *us);

#endif /* TS_BENCH_CHAT_PLAN_H */
