/*
 * Admission: the limits checked when a connection arrives, before any
 * cryptographic work — concurrent connections for the server and per
 * remote address, and new connections per second per address. Decided on
 * the accepting thread; released by whichever worker closes the
 * connection.
 */
#ifndef TS_SERVER_ADMISSION_H
#define TS_SERVER_ADMISSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <tcpseal/server.h>

struct address_entry;

struct admission {
    pthread_mutex_t lock;          /* guards the address table */
    struct address_entry **table;  /* chained hash by address */
    size_t buckets;
    size_t entries;
    _Atomic uint64_t current;      /* admitted and not yet closed */
    _Atomic uint64_t peak;
    _Atomic uint64_t total;        /* admitted since start */
    _Atomic uint64_t rejected[8];  /* by ts_reason 1..7 */
};

int admission_init(struct admission *a);
void admission_free(struct admission *a);

/* Decide for a new connection from addr: 0 (admitted and counted) or the
 * ts_reason to refuse it with. shutting_down refuses everything. */
uint16_t admission_enter(struct admission *a, const ts_server_config *cfg,
                         const struct sockaddr *addr, int shutting_down,
                         uint64_t now_ms);

/* Release what admission_enter() counted for addr. */
void admission_leave(struct admission *a, const struct sockaddr *addr);

/* Count a refusal decided elsewhere (e.g. a bad hello). */
void admission_count_rejection(struct admission *a, uint16_t reason);

/* Drop address entries that hold no connection and a full rate bucket. */
void admission_sweep(struct admission *a, const ts_server_config *cfg, uint64_t now_ms);

#endif /* TS_SERVER_ADMISSION_H */
