/*
 * Counts of named events (errors and failures by reason), kept per thread
 * and merged at the end. Names are short snake_case tokens such as
 * "rejected:server_full" or "connect:ECONNREFUSED"; the table is fixed
 * so counting never allocates, and names beyond its size share "other".
 */
#ifndef TS_BENCH_TALLY_H
#define TS_BENCH_TALLY_H

#include <stddef.h>
#include <stdint.h>

#define TALLY_MAX 32
#define TALLY_NAME_MAX 48

struct tally_entry {
    char name[TALLY_NAME_MAX];
    uint64_t count;
};

struct tally {
    struct tally_entry entries[TALLY_MAX];
    size_t n;
    uint64_t total;
};

void tally_init(struct tally *t);

/* Add n to the count of name (truncated to TALLY_NAME_MAX - 1 bytes). */
void tally_add(struct tally *t, const char *name, uint64_t n);

/* Add "prefix:name" (e.g. "rejected" and "server_full"). */
void tally_add2(struct tally *t, const char *prefix, const char *name, uint64_t n);

/* Add every count of src to dst. */
void tally_merge(struct tally *dst, const struct tally *src);

/* Sort by count, largest first (for printing). */
void tally_sort(struct tally *t);

#endif /* TS_BENCH_TALLY_H */
