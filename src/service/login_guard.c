#include "service/login_guard.h"

#include <stdio.h>
#include <string.h>

#include <tcpseal/error.h>

int login_guard_init(struct login_guard *g, unsigned max_failures, uint64_t lockout_ms)
{
    memset(g, 0, sizeof(*g));
    g->max_failures = max_failures;
    g->lockout_ms = lockout_ms;
    return pthread_mutex_init(&g->lock, NULL) == 0 ? TS_OK : TS_ERR_NOMEM;
}

void login_guard_free(struct login_guard *g)
{
    pthread_mutex_destroy(&g->lock);
}

/* The entry for key; with create, the least recently used slot is taken
 * over. Caller holds the lock. */
static struct guard_entry *entry(struct login_guard *g, const char *key, bool create,
                                 uint64_t now_ms)
{
    struct guard_entry *oldest = &g->entries[0];

    for (size_t i = 0; i < LOGIN_GUARD_ENTRIES; i++) {
        struct guard_entry *e = &g->entries[i];
        if (e->key[0] != '\0' && strcmp(e->key, key) == 0) {
            e->last_used_ms = now_ms;
            return e;
        }
        if (e->last_used_ms < oldest->last_used_ms)
            oldest = e;
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof(*oldest));
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    oldest->last_used_ms = now_ms;
    return oldest;
}

static void keys(const char *address, const char *name, char ip[80], char user[80])
{
    snprintf(ip, 80, "ip:%s", address);
    snprintf(user, 80, "user:%s", name);
}

enum guard_verdict login_guard_check(struct login_guard *g, const char *address,
                                     const char *name, uint64_t now_ms, uint64_t *retry_ms)
{
    char ip_key[80], user_key[80];
    enum guard_verdict v = GUARD_ALLOW;
    struct guard_entry *e;

    keys(address, name, ip_key, user_key);
    *retry_ms = 0;
    pthread_mutex_lock(&g->lock);
    e = entry(g, user_key, false, now_ms);
    if (e != NULL && e->blocked_until_ms > now_ms) {
        v = GUARD_LOCKED;
        *retry_ms = e->blocked_until_ms - now_ms;
    } else if ((e = entry(g, ip_key, false, now_ms)) != NULL && e->blocked_until_ms > now_ms) {
        v = GUARD_WAIT;
        *retry_ms = e->blocked_until_ms - now_ms;
    }
    pthread_mutex_unlock(&g->lock);
    return v;
}

void login_guard_failure(struct login_guard *g, const char *address, const char *name,
                         uint64_t now_ms)
{
    char ip_key[80], user_key[80];
    struct guard_entry *ip, *user;
    uint64_t backoff;

    keys(address, name, ip_key, user_key);
    pthread_mutex_lock(&g->lock);
    ip = entry(g, ip_key, true, now_ms);
    ip->failures++;
    backoff = LOGIN_BACKOFF_FIRST_MS;
    for (uint32_t i = 1; i < ip->failures && backoff < LOGIN_BACKOFF_MAX_MS; i++)
        backoff *= 2;
    ip->blocked_until_ms = now_ms + (backoff < LOGIN_BACKOFF_MAX_MS ? backoff
                                                                      : LOGIN_BACKOFF_MAX_MS);
    user = entry(g, user_key, true, now_ms);
    /* Failures count within one window; an old streak starts over. */
    if (user->failures == 0 || now_ms - user->first_failure_ms > g->lockout_ms) {
        user->failures = 0;
        user->first_failure_ms = now_ms;
    }
    if (++user->failures >= g->max_failures && g->max_failures > 0)
        user->blocked_until_ms = now_ms + g->lockout_ms;
    pthread_mutex_unlock(&g->lock);
}

void login_guard_success(struct login_guard *g, const char *address, const char *name)
{
    char ip_key[80], user_key[80];
    struct guard_entry *e;

    keys(address, name, ip_key, user_key);
    pthread_mutex_lock(&g->lock);
    if ((e = entry(g, ip_key, false, 0)) != NULL)
        memset(e, 0, sizeof(*e));
    if ((e = entry(g, user_key, false, 0)) != NULL)
        memset(e, 0, sizeof(*e));
    pthread_mutex_unlock(&g->lock);
}

void login_guard_forgive(struct login_guard *g, const char *name)
{
    char ip_key[80], user_key[80];
    struct guard_entry *e;

    keys("", name, ip_key, user_key);
    pthread_mutex_lock(&g->lock);
    if ((e = entry(g, user_key, false, 0)) != NULL)
        memset(e, 0, sizeof(*e));
    pthread_mutex_unlock(&g->lock);
}
