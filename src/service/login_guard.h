/*
 * Failed-login defences, kept in memory:
 *   - per address: after each failure the next attempt must wait twice as
 *     long as before (250 ms doubling up to 30 s); a success resets it;
 *   - per account name (existing or not, so the answers reveal nothing):
 *     after max_failures failures within the lockout window, every login
 *     to that name is refused until the window has passed.
 * Thread-safe. Entries are bounded; the oldest are forgotten first.
 */
#ifndef TS_SERVICE_LOGIN_GUARD_H
#define TS_SERVICE_LOGIN_GUARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LOGIN_GUARD_ENTRIES 4096
#define LOGIN_BACKOFF_FIRST_MS 250
#define LOGIN_BACKOFF_MAX_MS 30000

struct guard_entry {
    char key[80];            /* "ip:ADDR" or "user:NAME" */
    uint32_t failures;
    uint64_t first_failure_ms;
    uint64_t blocked_until_ms;
    uint64_t last_used_ms;
};

struct login_guard {
    pthread_mutex_t lock;
    struct guard_entry entries[LOGIN_GUARD_ENTRIES];
    unsigned max_failures;
    uint64_t lockout_ms;
};

enum guard_verdict {
    GUARD_ALLOW,
    GUARD_WAIT,      /* this address must wait: *retry_ms says how long */
    GUARD_LOCKED,    /* this account name is locked out: *retry_ms left */
};

int login_guard_init(struct login_guard *g, unsigned max_failures, uint64_t lockout_ms);
void login_guard_free(struct login_guard *g);

/* May address try to log in to name now? */
enum guard_verdict login_guard_check(struct login_guard *g, const char *address,
                                     const char *name, uint64_t now_ms, uint64_t *retry_ms);

void login_guard_failure(struct login_guard *g, const char *address, const char *name,
                         uint64_t now_ms);
void login_guard_success(struct login_guard *g, const char *address, const char *name);

/* Lift the failed-login lockout of account name (an operator's unlock);
 * address backoffs stay. */
void login_guard_forgive(struct login_guard *g, const char *name);

#endif /* TS_SERVICE_LOGIN_GUARD_H */
