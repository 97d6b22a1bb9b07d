#include "util/idmap.h"

#include <stdlib.h>

#include <tcpseal/error.h>

#define IDMAP_MIN_CAP 16

/* Ids are mostly sequential; a multiplicative hash spreads them. */
static size_t slot_of(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void idmap_init(struct idmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

static void place(struct idmap_slot *slots, size_t cap, uint64_t id, void *value)
{
    size_t i = slot_of(id, cap);

    while (slots[i].id != 0 && slots[i].id != id)
        i = (i + 1) & (cap - 1);
    slots[i].id = id;
    slots[i].value = value;
}

static int grow(struct idmap *m)
{
    size_t cap = m->cap == 0 ? IDMAP_MIN_CAP : m->cap * 2;
    struct idmap_slot *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return TS_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].id != 0)
            place(slots, cap, m->slots[i].id, m->slots[i].value);
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return TS_OK;
}

int idmap_put(struct idmap *m, uint64_t id, void *value)
{
    /* Keep the load under 3/4 so probe sequences stay short. */
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != TS_OK)
        return TS_ERR_NOMEM;
    if (idmap_get(m, id) == NULL)
        m->count++;
    place(m->slots, m->cap, id, value);
    return TS_OK;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
    size_t i;

    if (m->cap == 0)
        return NULL;
    for (i = slot_of(id, m->cap); m->slots[i].id != 0; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].id == id)
            return m->slots[i].value;
    }
    return NULL;
}

void idmap_remove(struct idmap *m, uint64_t id)
{
    size_t mask = m->cap - 1, i, j, home;

    if (m->cap == 0)
        return;
    for (i = slot_of(id, m->cap); m->slots[i].id != id; i = (i + 1) & mask) {
        if (m->slots[i].id == 0)
            return;
    }
    /* Backward-shift: move later entries of the run into the hole when
     * their home slot does not lie cyclically between hole and them. */
    for (j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
        home = slot_of(m->slots[j].id, m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].id = 0;
    m->slots[i].value = NULL;
    m->count--;
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    idmap_init(m);
}
