/*
 * A map from 64-bit ids to pointers (open addressing, linear probing,
 * backward-shift deletion). Ids must be non-zero. Not thread-safe: the
 * owner serialises access.
 */
#ifndef TS_UTIL_IDMAP_H
#define TS_UTIL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
    uint64_t id; /* 0 = empty */
    void *value;
};

struct idmap {
    struct idmap_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t count;
};

void idmap_init(struct idmap *m);

/* Insert or replace: 0 or TS_ERR_NOMEM. */
int idmap_put(struct idmap *m, uint64_t id, void *value);

/* The value for id, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t id);

/* Remove id if present. */
void idmap_remove(struct idmap *m, uint64_t id);

void idmap_free(struct idmap *m);

#endif /* TS_UTIL_IDMAP_H */
