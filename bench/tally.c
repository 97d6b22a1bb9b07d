#include "tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TALLY_OTHER "other"

void tally_init(struct tally *t)
{
    memset(t, 0, sizeof(*t));
}

static struct tally_entry *tally_find(struct tally *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strncmp(t->entries[i].name, name, TALLY_NAME_MAX - 1) == 0)
            return &t->entries[i];
    }
    /* The last slot is kept for "other" so a flood of distinct names
     * still adds up. */
    if (t->n < TALLY_MAX - 1 || (t->n < TALLY_MAX && strcmp(name, TALLY_OTHER) == 0)) {
        struct tally_entry *e = &t->entries[t->n++];
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->count = 0;
        return e;
    }
    return strcmp(name, TALLY_OTHER) == 0 ? NULL : tally_find(t, TALLY_OTHER);
}

void tally_add(struct tally *t, const char *name, uint64_t n)
{
    struct tally_entry *e = tally_find(t, name);

    if (e != NULL)
        e->count += n;
    t->total += n;
}

void tally_add2(struct tally *t, const char *prefix, const char *name, uint64_t n)
{
    char full[TALLY_NAME_MAX];

    snprintf(full, sizeof(full), "%s:%s", prefix, name);
    tally_add(t, full, n);
}

void tally_merge(struct tally *dst, const struct tally *src)
{
    for (size_t i = 0; i < src->n; i++)
        tally_add(dst, src->entries[i].name, src->entries[i].count);
}

static int by_count_desc(const void *a, const void *b)
{
    const struct tally_entry *x = a, *y = b;

    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

void tally_sort(struct tally *t)
{
    qsort(t->entries, t->n, sizeof(t->entries[0]), by_count_desc);
}
