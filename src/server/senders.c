#include "server/senders.h"

#include <stdlib.h>
#include <string.h>

#include <tcpseal/envelope.h>

#include "util/error.h"

#define SENDERS_BUCKETS 512

struct sender_entry {
    struct sender_entry *chain;
    struct sender_entry *lru_prev, *lru_next;
    uint8_t identity[TS_PUBLIC_KEY_LEN];
    ts_replay_window window;
};

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

void senders_free(struct senders *s)
{
    for (size_t i = 0; i < SENDERS_SHARDS; i++) {
        struct senders_shard *sh = &s->shards[i];
        struct sender_entry *e, *next;

        for (e = sh->lru_head; e != NULL; e = next) {
            next = e->lru_next;
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

static struct sender_entry *entry_get(struct senders_shard *sh, const uint8_t *identity)
{
    size_t b = key_word(identity, 8) % sh->buckets;
    struct sender_entry *e;

    for (e = sh->table[b]; e != NULL; e = e->chain) {
        if (memcmp(e->identity, identity, TS_PUBLIC_KEY_LEN) == 0) {
            lru_unlink(sh, e);
            lru_push_front(sh, e);
            return e;
        }
    }
    if (sh->count >= SENDERS_PER_SHARD) {
        /* Reuse the least recently seen entry. Its window is lost, so a
         * very old message of that sender could be accepted again; the
         * timestamp window bounds how old. */
        e = sh->lru_tail;
        lru_unlink(sh, e);
        chain_remove(sh, e);
        sh->count--;
    } else if ((e = malloc(sizeof(*e))) == NULL) {
        return NULL;
    }
    memcpy(e->identity, identity, TS_PUBLIC_KEY_LEN);
    ts_replay_window_init(&e->window);
    e->chain = sh->table[b];
    sh->table[b] = e;
    e->lru_prev = e->lru_next = NULL;
    lru_push_front(sh, e);
    sh->count++;
    return e;
}

int senders_accept(struct senders *s, const uint8_t identity[TS_PUBLIC_KEY_LEN],
                   uint64_t seq)
{
    struct senders_shard *sh = &s->shards[key_word(identity, 0) % SENDERS_SHARDS];
    struct sender_entry *e;
    int rc;

    if (seq == 0)
        return error_set(TS_ERR_INVALID, "sequence number 0 is not allowed");
    pthread_mutex_lock(&sh->lock);
    e = entry_get(sh, identity);
    rc = e != NULL ? ts_replay_window_accept(&e->window, seq) : TS_ERR_NOMEM;
    pthread_mutex_unlock(&sh->lock);
    return rc;
}
