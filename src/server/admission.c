#include "server/admission.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "util/error.h"
#include "util/ratelimit.h"

#define ADMISSION_BUCKETS 4096
#define ADDRESS_KEY_LEN 17 /* family byte + 16 address bytes */

struct address_entry {
    struct address_entry *next;
    uint8_t key[ADDRESS_KEY_LEN];
    uint32_t connections;
    struct ratelimit attempts;
};

int admission_init(struct admission *a)
{
    memset(a, 0, sizeof(*a));
    if (pthread_mutex_init(&a->lock, NULL) != 0)
        return TS_ERR_NOMEM;
    a->table = calloc(ADMISSION_BUCKETS, sizeof(*a->table));
    if (a->table == NULL)
        return TS_ERR_NOMEM;
    a->buckets = ADMISSION_BUCKETS;
    return TS_OK;
}

void admission_free(struct admission *a)
{
    struct address_entry *e, *next;

    for (size_t i = 0; i < a->buckets; i++) {
        for (e = a->table[i]; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(a->table);
    a->table = NULL;
    pthread_mutex_destroy(&a->lock);
}

/* The address without the port; IPv4-mapped IPv6 counts as IPv4 so one
 * client cannot double its quota by switching forms. */
static void address_key(const struct sockaddr *sa, uint8_t key[ADDRESS_KEY_LEN])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(key, 0, ADDRESS_KEY_LEN);
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (memcmp(s6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
            key[0] = AF_INET;
            memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            key[0] = AF_INET6;
            memcpy(key + 1, s6->sin6_addr.s6_addr, 16);
        }
    } else if (sa->sa_family == AF_INET) {
        key[0] = AF_INET;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
}

static size_t key_hash(const uint8_t *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < ADDRESS_KEY_LEN; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)h;
}

/* Find (or with create, add) the entry for key. Caller holds the lock. */
static struct address_entry *entry_find(struct admission *a, const uint8_t *key,
                                        int create, uint64_t burst, uint64_t now_ms)
{
    size_t b = key_hash(key) % a->buckets;
    struct address_entry *e;

    for (e = a->table[b]; e != NULL; e = e->next) {
        if (memcmp(e->key, key, ADDRESS_KEY_LEN) == 0)
            return e;
    }
    if (!create || (e = calloc(1, sizeof(*e))) == NULL)
        return NULL;
    memcpy(e->key, key, ADDRESS_KEY_LEN);
    ratelimit_init(&e->attempts, burst, now_ms);
    e->next = a->table[b];
    a->table[b] = e;
    a->entries++;
    return e;
}

void admission_count_rejection(struct admission *a, uint16_t reason)
{
    size_t n = sizeof(a->rejected) / sizeof(a->rejected[0]);
    if (reason > 0 && reason < n)
        atomic_fetch_add_explicit(&a->rejected[reason], 1, memory_order_relaxed);
}

static uint16_t decide(struct admission *a, const ts_server_config *cfg,
                       const uint8_t *key, uint64_t now_ms)
{
    uint64_t burst = cfg->connect_rate;
    struct address_entry *e = entry_find(a, key, 1, burst, now_ms);

    if (e == NULL)
        return TS_REASON_SERVER_FULL;
    if (!ratelimit_take(&e->attempts, cfg->connect_rate, burst, 1, now_ms))
        return TS_REASON_RATE_LIMITED;
    if (cfg->max_clients != 0 && atomic_load(&a->current) >= cfg->max_clients)
        return TS_REASON_SERVER_FULL;
    if (cfg->max_per_address != 0 && e->connections >= cfg->max_per_address)
        return TS_REASON_TOO_MANY_FROM_ADDRESS;
    e->connections++;
    return 0;
}

uint16_t admission_enter(struct admission *a, const ts_server_config *cfg,
                         const struct sockaddr *addr, int shutting_down,
                         uint64_t now_ms)
{
    uint8_t key[ADDRESS_KEY_LEN];
    uint64_t current, peak;
    uint16_t reason;

    if (shutting_down) {
        admission_count_rejection(a, TS_REASON_SHUTTING_DOWN);
        return TS_REASON_SHUTTING_DOWN;
    }
    address_key(addr, key);
    pthread_mutex_lock(&a->lock);
    reason = decide(a, cfg, key, now_ms);
    pthread_mutex_unlock(&a->lock);
    if (reason != 0) {
        admission_count_rejection(a, reason);
        return reason;
    }
    current = atomic_fetch_add(&a->current, 1) + 1;
    atomic_fetch_add(&a->total, 1);
    peak = atomic_load(&a->peak);
    while (current > peak && !atomic_compare_exchange_weak(&a->peak, &peak, current)) {
    }
    return 0;
}

void admission_leave(struct admission *a, const struct sockaddr *addr)
{
    uint8_t key[ADDRESS_KEY_LEN];
    struct address_entry *e;

    address_key(addr, key);
    pthread_mutex_lock(&a->lock);
    e = entry_find(a, key, 0, 0, 0);
    if (e != NULL && e->connections > 0)
        e->connections--;
    pthread_mutex_unlock(&a->lock);
    atomic_fetch_sub(&a->current, 1);
}

void admission_sweep(struct admission *a, const ts_server_config *cfg, uint64_t now_ms)
{
    struct address_entry **link, *e;
    uint64_t burst = cfg->connect_rate;

    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->buckets; i++) {
        for (link = &a->table[i]; (e = *link) != NULL;) {
            /* Refill first so an idle address's bucket reads as full. */
            ratelimit_take(&e->attempts, cfg->connect_rate, burst, 0, now_ms);
            if (e->connections == 0 &&
                (cfg->connect_rate == 0 || e->attempts.tokens >= (double)burst)) {
                *link = e->next;
                free(e);
                a->entries--;
            } else {
                link = &e->next;
            }
        }
    }
    pthread_mutex_unlock(&a->lock);
}
