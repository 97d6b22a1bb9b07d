/*
 * Per-sender sequence windows. Every envelope a client sends carries its
 * sequence number; the server accepts each (identity, sequence) pair once,
 * across all of that identity's connections and reconnections, so a
 * resent or replayed message is never processed twice.
 *
 * The table is sharded by identity with one lock per shard: a message
 * takes one uncontended lock, never a global one. Each shard keeps at most
 * SENDERS_PER_SHARD identities and forgets the least recently seen.
 */
#ifndef TS_SERVER_SENDERS_H
#define TS_SERVER_SENDERS_H

#include <pthread.h>
#include <stdint.h>

#include <tcpseal/common.h>

#define SENDERS_SHARDS 64
#define SENDERS_PER_SHARD 1024

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
};

int senders_init(struct senders *s);
void senders_free(struct senders *s);

/* Accept seq from identity: 0, TS_ERR_DUPLICATE (seen, or too old to
 * tell), TS_ERR_INVALID (seq 0) or TS_ERR_NOMEM. */
int senders_accept(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                   uint64_t seq);

#endif /* TS_SERVER_SENDERS_H */
