#include "server/senders.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/envelope.h>

#include "util/error.h"

#define SENDERS_BUCKETS 512

enum slot_state { SLOT_EMPTY, SLOT_PENDING, SLOT_READY };

struct result_slot {
    uint64_t seq;
    enum slot_state state;
    ts_client_id origin;   /* connection the request came on */
    ts_client_id waiter;   /* connection that repeated it while pending */
    struct sender_result result;
};

struct sender_entry {
    struct sender_entry *chain;
    struct sender_entry *lru_prev, *lru_next;
    uint8_t identity[TS_PUBLIC_KEY_LEN];
    ts_replay_window window;
    struct result_slot slots[SENDER_RESULTS];
    unsigned next_slot;
};

void sender_result_clear(struct sender_result *r)
{
    free(r->payload);
    memset(r, 0, sizeof(*r));
}

int senders_init(struct senders *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < SENDERS_SHARDS; i++) {
        struct senders_shard *sh = &s->shards[i];
        if (pthread_mutex_init(&sh->lock, NULL) != 0)
            return TS_ERR_NOMEM;
        sh->table = calloc(SENDERS_BUCKETS, sizeof(*sh->table));
        if (sh->table == NULL)
            return TS_ERR_NOMEM;
        sh->buckets = SENDERS_BUCKETS;
    }
    return TS_OK;
}

static void slot_clear(struct senders *s, struct result_slot *slot)
{
    atomic_fetch_sub(&s->cached_bytes, slot->result.len);
    sender_result_clear(&slot->result);
    memset(slot, 0, sizeof(*slot));
}

static void entry_clear_slots(struct senders *s, struct sender_entry *e)
{
    for (size_t i = 0; i < SENDER_RESULTS; i++)
        slot_clear(s, &e->slots[i]);
}

void senders_free(struct senders *s)
{
    for (size_t i = 0; i < SENDERS_SHARDS; i++) {
        struct senders_shard *sh = &s->shards[i];
        struct sender_entry *e, *next;

        for (e = sh->lru_head; e != NULL; e = next) {
            next = e->lru_next;
            entry_clear_slots(s, e);
            free(e);
        }
        free(sh->table);
        sh->table = NULL;
        pthread_mutex_destroy(&sh->lock);
    }
}

/* Public keys are uniformly random: their bytes are a good hash. */
static uint64_t key_word(const uint8_t *identity, size_t at)
{
    uint64_t w;
    memcpy(&w, identity + at, sizeof(w));
    return w;
}

static struct senders_shard *shard_of(struct senders *s, const uint8_t *identity)
{
    return &s->shards[key_word(identity, 0) % SENDERS_SHARDS];
}

static void lru_unlink(struct senders_shard *sh, struct sender_entry *e)
{
    if (e->lru_prev != NULL)
        e->lru_prev->lru_next = e->lru_next;
    else
        sh->lru_head = e->lru_next;
    if (e->lru_next != NULL)
        e->lru_next->lru_prev = e->lru_prev;
    else
        sh->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct senders_shard *sh, struct sender_entry *e)
{
    e->lru_next = sh->lru_head;
    if (sh->lru_head != NULL)
        sh->lru_head->lru_prev = e;
    sh->lru_head = e;
    if (sh->lru_tail == NULL)
        sh->lru_tail = e;
}

static void chain_remove(struct senders_shard *sh, struct sender_entry *e)
{
    size_t b = key_word(e->identity, 8) % sh->buckets;
    struct sender_entry **link = &sh->table[b];

    while (*link != e)
        link = &(*link)->chain;
    *link = e->chain;
}

static struct sender_entry *entry_find(struct senders_shard *sh, const uint8_t *identity)
{
    struct sender_entry *e = sh->table[key_word(identity, 8) % sh->buckets];

    for (; e != NULL; e = e->chain) {
        if (memcmp(e->identity, identity, TS_PUBLIC_KEY_LEN) == 0)
            return e;
    }
    return NULL;
}

/* Find or make the entry, most recently used first. Caller holds the lock. */
static struct sender_entry *entry_get(struct senders *s, struct senders_shard *sh,
                                      const uint8_t *identity)
{
    size_t b = key_word(identity, 8) % sh->buckets;
    struct sender_entry *e = entry_find(sh, identity);

    if (e != NULL) {
        lru_unlink(sh, e);
        lru_push_front(sh, e);
        return e;
    }
    if (sh->count >= SENDERS_PER_SHARD) {
        /* Reuse the least recently seen entry. Its window is lost, so a
         * very old message of that sender could be accepted again; the
         * timestamp window bounds how old. */
        e = sh->lru_tail;
        lru_unlink(sh, e);
        chain_remove(sh, e);
        entry_clear_slots(s, e);
        sh->count--;
    } else if ((e = malloc(sizeof(*e))) == NULL) {
        return NULL;
    }
    memset(e, 0, sizeof(*e));
    memcpy(e->identity, identity, TS_PUBLIC_KEY_LEN);
    ts_replay_window_init(&e->window);
    e->chain = sh->table[b];
    sh->table[b] = e;
    lru_push_front(sh, e);
    sh->count++;
    return e;
}

static struct result_slot *slot_find(struct sender_entry *e, uint64_t seq)
{
    for (size_t i = 0; i < SENDER_RESULTS; i++) {
        if (e->slots[i].state != SLOT_EMPTY && e->slots[i].seq == seq)
            return &e->slots[i];
    }
    return NULL;
}

static bool copy_result(const struct sender_result *from, struct sender_result *to)
{
    *to = *from;
    to->payload = NULL;
    if (from->len == 0)
        return true;
    to->payload = malloc(from->len);
    if (to->payload == NULL)
        return false;
    memcpy(to->payload, from->payload, from->len);
    return true;
}

/* What to do with a sequence number the window has seen before. */
static enum sender_verdict repeat_verdict(struct sender_entry *e, uint64_t seq,
                                          ts_client_id client,
                                          bool (*is_alive)(void *, ts_client_id), void *ctx,
                                          struct sender_result *result)
{
    struct result_slot *slot = slot_find(e, seq);

    if (slot == NULL)
        return SENDER_REPEAT_UNKNOWN;
    if (slot->state == SLOT_READY) {
        if (slot->result.too_large || !copy_result(&slot->result, result))
            return SENDER_REPEAT_UNKNOWN;
        return SENDER_REPEAT_READY;
    }
    /* Pending: the answer will come on the connection the request came
     * on; a repeat on another connection waits for it too, unless that
     * first connection is gone and the answer with it: then handle the
     * request again here. */
    if (slot->origin == client)
        return SENDER_REPEAT_PENDING;
    if (is_alive(ctx, slot->origin)) {
        slot->waiter = client;
        return SENDER_REPEAT_PENDING;
    }
    slot->origin = client;
    return SENDER_NEW;
}

static void reserve_slot(struct senders *s, struct sender_entry *e, uint64_t seq,
                         ts_client_id client)
{
    struct result_slot *slot = &e->slots[e->next_slot];

    e->next_slot = (e->next_slot + 1) % SENDER_RESULTS;
    slot_clear(s, slot);
    slot->seq = seq;
    slot->state = SLOT_PENDING;
    slot->origin = client;
}

int senders_admit(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                  uint64_t seq, ts_client_id client, bool remember_result,
                  bool (*is_alive)(void *ctx, ts_client_id client), void *ctx,
                  enum sender_verdict *verdict, struct sender_result *result)
{
    struct senders_shard *sh = shard_of(s, identity);
    struct sender_entry *e;
    int rc = TS_OK;

    memset(result, 0, sizeof(*result));
    if (seq == 0)
        return error_set(TS_ERR_INVALID, "sequence number 0 is not allowed");
    pthread_mutex_lock(&sh->lock);
    e = entry_get(s, sh, identity);
    if (e == NULL) {
        rc = TS_ERR_NOMEM;
    } else if (ts_replay_window_accept(&e->window, seq) == TS_OK) {
        *verdict = SENDER_NEW;
        if (remember_result)
            reserve_slot(s, e, seq, client);
    } else {
        *verdict = repeat_verdict(e, seq, client, is_alive, ctx, result);
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

/* Keep the answer, within the per-answer and overall budgets. */
static void slot_fill(struct senders *s, struct result_slot *slot,
                      const struct sender_result *result)
{
    size_t len = result->len;

    slot->state = SLOT_READY;
    if (len > RESULT_MAX_PAYLOAD ||
        atomic_fetch_add(&s->cached_bytes, len) + len > RESULTS_BUDGET) {
        if (len <= RESULT_MAX_PAYLOAD)
            atomic_fetch_sub(&s->cached_bytes, len);
        slot->result.too_large = true;
        return;
    }
    if (!copy_result(result, &slot->result)) {
        atomic_fetch_sub(&s->cached_bytes, len);
        slot->result.len = 0;
        slot->result.too_large = true;
    }
}

ts_client_id senders_record(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                            uint64_t seq, const struct sender_result *result,
                            ts_client_id answered)
{
    struct senders_shard *sh = shard_of(s, identity);
    struct result_slot *slot;
    struct sender_entry *e;
    ts_client_id waiter = 0;

    pthread_mutex_lock(&sh->lock);
    e = entry_find(sh, identity);
    slot = e != NULL ? slot_find(e, seq) : NULL;
    if (slot != NULL && slot->state == SLOT_PENDING) {
        slot_fill(s, slot, result);
        if (slot->waiter != 0 && slot->waiter != answered)
            waiter = slot->waiter;
        slot->waiter = 0;
    }
    pthread_mutex_unlock(&sh->lock);
    return waiter;
}
