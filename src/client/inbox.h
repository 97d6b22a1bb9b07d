/*
 * The inbox: envelopes received (answers and server messages), newest
 * last, bounded to a number of entries; the oldest are dropped first.
 *
 * With a store file (client_db.h) the entries live in its inbox table and
 * survive restarts; without one they are kept in memory. Entries are held
 * in their canonical encoding with the verdict of the signature check.
 * Not thread-safe: the client calls it under its lock.
 */
#ifndef TS_CLIENT_INBOX_H
#define TS_CLIENT_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client_db;

struct inbox_item {
    uint8_t *data;  /* encoded envelope, owned */
    size_t len;
    bool verified;
    uint64_t received_ms;
};

struct inbox {
    struct client_db *db;     /* NULL: in memory */
    size_t limit;             /* entries kept; 0 keeps none */
    size_t count;
    /* In memory: a ring of cap slots (growing up to limit); the oldest
     * entry is at head. */
    struct inbox_item *ring;
    size_t cap;
    size_t head;
};

/*
 * Open the inbox of db (borrowed; NULL for memory) keeping limit entries:
 * counts the stored rows and drops those over the limit. 0, TS_ERR_IO or
 * TS_ERR_NOMEM.
 */
int inbox_open(struct inbox *ib, struct client_db *db, size_t limit);

/* Add an entry (copied), dropping the oldest beyond the limit. 0,
 * TS_ERR_IO or TS_ERR_NOMEM. */
int inbox_add(struct inbox *ib, const uint8_t *data, size_t len, bool verified,
              uint64_t received_ms);

/* One listed entry; data valid during the call. Non-zero stops the
 * listing with that code. */
typedef int (*inbox_item_fn)(void *arg, const uint8_t *data, size_t len, bool verified,
                             uint64_t received_ms);

/* The newest max entries, oldest first. 0, the callback's code or
 * TS_ERR_IO. */
int inbox_list(struct inbox *ib, size_t max, inbox_item_fn fn, void *arg);

static inline size_t inbox_count(const struct inbox *ib)
{
    return ib->count;
}

/* Free the memory entries (stored rows stay). */
void inbox_close(struct inbox *ib);

#endif /* TS_CLIENT_INBOX_H */
