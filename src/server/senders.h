/*
 * Per-sender sequence windows and recent results.
 *
 * Every envelope a client sends carries its sequence number; the server
 * handles each (identity, sequence) pair once, across all of that
 * identity's connections and reconnections. For the last few Requests of
 * each sender it also remembers the answer, so a client that resends a
 * request after losing its connection gets the original answer again
 * instead of a second execution.
 *
 * The table is sharded by identity with one lock per shard: a message
 * takes one uncontended lock, never a global one. Each shard keeps at most
 * SENDERS_PER_SHARD identities and forgets the least recently seen; cached
 * answers are bounded per sender (SENDER_RESULTS, RESULT_MAX_PAYLOAD) and
 * in total (RESULTS_BUDGET).
 */
#ifndef TS_SERVER_SENDERS_H
#define TS_SERVER_SENDERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <tcpseal/common.h>
#include <tcpseal/server.h>

#define SENDERS_SHARDS 64
#define SENDERS_PER_SHARD 1024
#define SENDER_RESULTS 16
#define RESULT_MAX_PAYLOAD (16u * 1024u)
#define RESULTS_BUDGET (64u * 1024u * 1024u)

struct sender_entry;

struct senders_shard {
    pthread_mutex_t lock;
    struct sender_entry **table; /* chained hash */
    size_t buckets;
    struct sender_entry *lru_head, *lru_tail; /* most recent first */
    size_t count;
};

struct senders {
    struct senders_shard shards[SENDERS_SHARDS];
    _Atomic size_t cached_bytes;
};

/* An answer as remembered (and as handed back for a repeat). */
struct sender_result {
    uint8_t type;              /* TS_MSG_RESPONSE or TS_MSG_ERROR */
    bool sign;
    char content_type[TS_ENVELOPE_MAX_NAME + 1];
    uint8_t *payload;          /* malloc'd; owner frees */
    size_t len;
    bool too_large;            /* answered, but too large to remember */
};

enum sender_verdict {
    SENDER_NEW,            /* first sight: handle it */
    SENDER_REPEAT_READY,   /* answered before: *result holds the answer */
    SENDER_REPEAT_PENDING, /* still being handled: answered when ready */
    SENDER_REPEAT_UNKNOWN, /* seen, answer not remembered: refuse as duplicate */
};

int senders_init(struct senders *s);
void senders_free(struct senders *s);

/*
 * Decide for message seq from identity on connection client. Requests
 * (remember_result) reserve a slot for their answer; other messages only
 * use the window. is_alive tells whether the connection that first sent a
 * still-pending request is still there; when it is gone the repeat is
 * handled anew (the first answer had nowhere to go). Returns 0 with
 * *verdict set, TS_ERR_INVALID (seq 0) or TS_ERR_NOMEM.
 */
int senders_admit(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                  uint64_t seq, ts_client_id client, bool remember_result,
                  bool (*is_alive)(void *ctx, ts_client_id client), void *ctx,
                  enum sender_verdict *verdict, struct sender_result *result);

/*
 * Remember the answer to (identity, seq) if a slot is waiting for it.
 * Returns the id of a connection that sent a repeat meanwhile and should
 * get the answer too, or 0.
 */
ts_client_id senders_record(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                            uint64_t seq, const struct sender_result *result,
                            ts_client_id answered);

/* Release what a result owns. */
void sender_result_clear(struct sender_result *r);

#endif /* TS_SERVER_SENDERS_H */
