/*
 * Accounts: register, login (password, binding this device's key), login
 * by key at connection time, logout, whoami, passwd.
 *
 * Each operation is a chain of asynchronous steps — a store read, Argon2id
 * on the work pool, a store write — that ends back on the connection's
 * worker (job_end). A job carries what the steps need and ends either in
 * success or in a refusal (reason and text); its secrets are wiped when it
 * is freed. One account operation per connection at a time.
 */
#include "service/service_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "service/names.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define WRONG_LOGIN "wrong user name or password"

enum account_op { OP_REGISTER, OP_LOGIN, OP_PASSWD, OP_LOGOUT, OP_KEY_LOGIN };

struct account_job {
    struct service *svc;
    ts_client_id client;
    uint64_t cmd_id;
    enum account_op op;
    uint8_t key[TS_PUBLIC_KEY_LEN];
    char address[64];
    char user[NAME_MAX_LEN + 1];
    char password[SERVICE_PASSWORD_MAX + 1];
    char new_password[SERVICE_PASSWORD_MAX + 1];
    char hash[STORE_PWHASH_MAX + 1];
    int64_t user_id;
    bool exists, locked;
    uint16_t fail_reason;      /* 0: success */
    char fail_text[160];
};

static void job_free(struct account_job *job)
{
    if (job != NULL) {
        sodium_memzero(job, sizeof(*job));
        free(job);
    }
}

/* The address part of the peer, for the per-address login backoff. */
static void peer_address(const struct conn *c, char *out, size_t cap)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;

    if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
}

static struct account_job *job_new(struct conn *c, uint64_t id, enum account_op op)
{
    struct account_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->svc = service_of(c);
    job->client = c->id;
    job->cmd_id = id;
    job->op = op;
    memcpy(job->key, c->identity, TS_PUBLIC_KEY_LEN);
    peer_address(c, job->address, sizeof(job->address));
    return job;
}

/* Start an operation: one at a time per connection. */
static struct account_job *job_begin(struct conn *c, uint64_t id, enum account_op op)
{
    struct account_job *job;

    if (c->session->busy) {
        service_fail(c, id, TS_REASON_TRY_LATER, "another account operation is in progress");
        return NULL;
    }
    if ((job = job_new(c, id, op)) == NULL) {
        service_fail(c, id, TS_REASON_SERVER_ERROR, "out of memory");
        return NULL;
    }
    c->session->busy = true;
    return job;
}

/* ---- the last step, on the connection's worker ---- */

void accounts_logged_in(struct conn *c, int64_t user_id, const char *user)
{
    struct session *s = c->session;

    /* A device online as another user is that user's no more. */
    if (s->online && strcmp(s->user, user) != 0)
        rooms_go_offline(c);
    s->auth = SESSION_USER;
    s->user_id = user_id;
    snprintf(s->user, sizeof(s->user), "%s", user);
    LOG_INFO("logged_in", "client=%llu peer=%s user=%s", (unsigned long long)c->id, c->peer,
             user);
}

static void end_key_login(struct conn *c, struct account_job *job)
{
    if (job->fail_reason == 0 && job->exists && !job->locked)
        accounts_logged_in(c, job->user_id, job->user);
    else
        c->session->auth = SESSION_ANONYMOUS;
    service_release_waiting(c);
}

static void end_success(struct conn *c, struct account_job *job)
{
    switch (job->op) {
    case OP_LOGOUT:
        LOG_INFO("logged_out", "client=%llu user=%s", (unsigned long long)c->id,
                 c->session->user);
        rooms_leave_all(c);
        c->session->auth = SESSION_ANONYMOUS;
        c->session->user[0] = '\0';
        service_ok(c, job->cmd_id, NULL);
        break;
    case OP_PASSWD:
        LOG_INFO("password_changed", "user=%s", c->session->user);
        service_ok(c, job->cmd_id, NULL);
        break;
    default:
        accounts_logged_in(c, job->user_id, job->user);
        service_ok(c, job->cmd_id, json_pack("{s:s}", "user", job->user));
        break;
    }
}

static void end_on_conn(struct conn *c, void *arg)
{
    struct account_job *job = arg;

    if (c != NULL && c->session != NULL && conn_is_ready(c)) {
        if (job->op == OP_KEY_LOGIN) {
            end_key_login(c, job);
        } else {
            c->session->busy = false;
            if (job->fail_reason != 0)
                service_fail(c, job->cmd_id, job->fail_reason, job->fail_text);
            else
                end_success(c, job);
        }
    }
    job_free(job);
}

/* Hand the job back to its connection (from any thread). */
static void job_end(struct account_job *job)
{
    service_on_client(job->svc, job->client, end_on_conn, job);
}

static void job_fail(struct account_job *job, uint16_t reason, const char *text)
{
    job->fail_reason = reason;
    snprintf(job->fail_text, sizeof(job->fail_text), "%s",
             text != NULL ? text : ts_reason_text(reason));
    job_end(job);
}

/* A store write finished: success, or the store's refusal. */
static void on_written(void *ctx, int rc, const struct store_row *row)
{
    struct account_job *job = ctx;

    /* Logging out a key that is no longer bound (its account was
     * deleted) still logs out. */
    if (rc == TS_OK || (rc == TS_ERR_NOT_FOUND && job->op == OP_LOGOUT))
        job_end(job);
    else if (rc == TS_ERR_EXISTS)
        job_fail(job, TS_REASON_NOT_ALLOWED,
                 "this device's key belongs to another account; log out there first");
    else if (rc == TS_ERR_LIMIT)
        job_fail(job, TS_REASON_NOT_ALLOWED, "this account has too many devices");
    else
        job_fail(job, TS_REASON_SERVER_ERROR, ts_error_detail(rc));
}

/* Queue a store call; a refused call ends the job with its reason. */
static void store_call(struct account_job *job, int rc)
{
    if (rc != TS_OK)
        job_fail(job, TS_REASON_SERVER_ERROR, ts_error_detail(rc));
}

/* ---- arguments ---- */

static bool take_password(struct conn *c, uint64_t id, json_t *args, const char *key,
                          bool is_new, char *out)
{
    const ts_server_config *cfg = server_cfg(c->worker->srv);
    size_t len = 0;
    const char *text = service_string(args, key, &len);
    char why[96];

    if (text == NULL || len == 0 || len > SERVICE_PASSWORD_MAX || strlen(text) != len) {
        snprintf(why, sizeof(why), "\"%s\" must be a non-empty string of at most %d bytes",
                 key, SERVICE_PASSWORD_MAX);
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, why);
        return false;
    }
    if (is_new && len < cfg->min_password_length) {
        snprintf(why, sizeof(why), "passwords are at least %u characters long",
                 cfg->min_password_length);
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, why);
        return false;
    }
    memcpy(out, text, len + 1);
    return true;
}

static bool take_user(struct conn *c, uint64_t id, json_t *args, char *out)
{
    size_t len = 0;
    const char *name = service_string(args, "user", &len);

    if (name == NULL) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, "\"user\" must be a string");
        return false;
    }
    if (names_check_user(name, len) != TS_OK) {
        service_fail(c, id, TS_REASON_INVALID_ARGUMENT, ts_error_detail(TS_ERR_INVALID));
        return false;
    }
    memcpy(out, name, len + 1);
    return true;
}

/* ---- Argon2id, on the work pool ---- */

static int hash_password(const struct service *svc, const char *password, char *out)
{
    const ts_server_config *cfg = server_cfg(svc->srv);
    char hash[crypto_pwhash_STRBYTES];
    int rc = TS_OK;

    if (crypto_pwhash_str(hash, password, strlen(password), cfg->password_opslimit,
                          cfg->password_memlimit) != 0)
        rc = error_set(TS_ERR_NOMEM, "Argon2id could not get its memory");
    else
        snprintf(out, STORE_PWHASH_MAX + 1, "%s", hash);
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

/* Same work whether or not the user exists: a missing user is checked
 * against a dummy hash. */
static bool password_matches(const struct service *svc, const struct account_job *job,
                             const char *password)
{
    const char *hash = job->exists && job->hash[0] != '\0' ? job->hash : svc->dummy_hash;
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;

    return ok && job->exists;
}

/* ---- register ---- */

static void register_written(void *ctx, int rc, const struct store_row *row);

static void register_hash(void *arg, bool discarded)
{
    struct account_job *job = arg;
    struct service *svc = job->svc;
    int rc;

    if (discarded) {
        job_fail(job, TS_REASON_SERVER_ERROR, "server shutting down");
        return;
    }
    if ((rc = hash_password(svc, job->password, job->hash)) != TS_OK) {
        job_fail(job, TS_REASON_SERVER_ERROR, ts_error_detail(rc));
        return;
    }
    store_call(job, svc->store->ops->user_create(svc->store, job->user, job->hash, job->key,
                                                 register_written, job));
}

/* Creation failed with TS_ERR_EXISTS: either the name is taken or this
 * key is bound to another account (one that could not log the device in:
 * locked, say); the store gives both the same code, the key's owner tells
 * them apart. */
static void register_conflict(void *ctx, int rc, const struct store_user *user)
{
    struct account_job *job = ctx;

    (void)user;
    if (rc == TS_OK)
        job_fail(job, TS_REASON_NOT_ALLOWED,
                 "this device's key is bound to another account; log out there first "
                 "or register from another device");
    else
        job_fail(job, TS_REASON_ALREADY_EXISTS, "that user name is taken");
}

static void register_created(void *ctx, int rc, const struct store_user *user)
{
    struct account_job *job = ctx;

    if (rc == TS_OK)
        job->user_id = user->id;
    job_end(job);
}

/* After creation, read the new id back so the session knows it. */
static void register_written(void *ctx, int rc, const struct store_row *row)
{
    struct account_job *job = ctx;

    if (rc == TS_ERR_EXISTS) {
        if (job->svc->store->ops->user_by_key(job->svc->store, job->key, register_conflict,
                                              job) != TS_OK)
            job_fail(job, TS_REASON_ALREADY_EXISTS, "that user name is taken");
        return;
    }
    if (rc != TS_OK) {
        on_written(ctx, rc, row);
        return;
    }
    LOG_INFO("user_registered", "user=%s", job->user);
    store_call(job, job->svc->store->ops->user_by_name(job->svc->store, job->user,
                                                       register_created, job));
}

void accounts_register(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct account_job *job;
    char user[NAME_MAX_LEN + 1];

    if (!server_cfg(c->worker->srv)->open_registration) {
        service_fail(c, id, TS_REASON_NOT_ALLOWED,
                     "registration is closed on this server; ask its operator for an account");
        return;
    }
    if (c->session->auth == SESSION_USER) {
        service_fail(c, id, TS_REASON_NOT_ALLOWED,
                     "this device is logged in already; log out first");
        return;
    }
    if (!take_user(c, id, args, user) || (job = job_begin(c, id, OP_REGISTER)) == NULL)
        return;
    memcpy(job->user, user, sizeof(job->user));
    if (!take_password(c, id, args, "password", true, job->password)) {
        c->session->busy = false;
        job_free(job);
        return;
    }
    if (workpool_submit(&svc->pool, register_hash, job) != TS_OK)
        job_fail(job, TS_REASON_TRY_LATER, "server busy; try again");
}

/* ---- login ---- */

static void login_check(void *arg, bool discarded)
{
    struct account_job *job = arg;
    struct service *svc = job->svc;
    uint64_t now = clock_mono_ms();

    if (discarded) {
        job_fail(job, TS_REASON_SERVER_ERROR, "server shutting down");
        return;
    }
    if (!password_matches(svc, job, job->password)) {
        login_guard_failure(&svc->guard, job->address, job->user, now);
        LOG_WARN("login_failed", "peer=%s user=%s", job->address, job->user);
        job_fail(job, TS_REASON_AUTH_FAILED, WRONG_LOGIN);
        return;
    }
    login_guard_success(&svc->guard, job->address, job->user);
    if (job->locked) {
        LOG_WARN("login_refused", "peer=%s user=%s reason=locked", job->address, job->user);
        job_fail(job, TS_REASON_ACCOUNT_LOCKED, "this account is locked by an operator");
        return;
    }
    store_call(job, svc->store->ops->key_bind(svc->store, job->user, job->key, on_written, job));
}

static void passwd_check(void *arg, bool discarded);

/* The user row (or its absence) is known: check the password off the
 * reader thread (for login or passwd). */
static void login_found(void *ctx, int rc, const struct store_user *user)
{
    struct account_job *job = ctx;

    if (rc != TS_OK && rc != TS_ERR_NOT_FOUND) {
        job_fail(job, TS_REASON_SERVER_ERROR, ts_error_detail(rc));
        return;
    }
    job->exists = rc == TS_OK;
    if (job->exists) {
        job->user_id = user->id;
        job->locked = user->locked;
        snprintf(job->hash, sizeof(job->hash), "%s", user->password_hash);
    }
    if (workpool_submit(&job->svc->pool, job->op == OP_PASSWD ? passwd_check : login_check,
                        job) != TS_OK)
        job_fail(job, TS_REASON_TRY_LATER, "server busy; try again");
}

/* Backoff and lockout answer before any password is checked. */
static bool login_allowed(struct conn *c, uint64_t id, const char *user)
{
    struct service *svc = service_of(c);
    char address[64], why[128];
    uint64_t retry;
    enum guard_verdict v;

    peer_address(c, address, sizeof(address));
    v = login_guard_check(&svc->guard, address, user, clock_mono_ms(), &retry);
    if (v == GUARD_ALLOW)
        return true;
    snprintf(why, sizeof(why), "%s; try again in %llu s",
             v == GUARD_LOCKED ? "too many failed logins for this account"
                               : "too many failed logins from this address",
             (unsigned long long)(retry + 999) / 1000);
    LOG_WARN("login_failed", "peer=%s user=%s reason=%s", address, user,
             v == GUARD_LOCKED ? "locked_out" : "backoff");
    service_fail(c, id, v == GUARD_LOCKED ? TS_REASON_ACCOUNT_LOCKED : TS_REASON_TRY_LATER,
                 why);
    return false;
}

void accounts_login(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct account_job *job;
    char user[NAME_MAX_LEN + 1];

    if (!take_user(c, id, args, user) || !login_allowed(c, id, user) ||
        (job = job_begin(c, id, OP_LOGIN)) == NULL)
        return;
    memcpy(job->user, user, sizeof(job->user));
    if (!take_password(c, id, args, "password", false, job->password)) {
        c->session->busy = false;
        job_free(job);
        return;
    }
    store_call(job, svc->store->ops->user_by_name(svc->store, job->user, login_found, job));
}

/* ---- login by key, at connection time ---- */

static void key_found(void *ctx, int rc, const struct store_user *user)
{
    struct account_job *job = ctx;

    /* Names are checked before they are stored; one that is somehow
     * longer is treated like an unbound key. */
    if (rc == TS_OK && strlen(user->name) <= NAME_MAX_LEN) {
        job->exists = true;
        job->user_id = user->id;
        job->locked = user->locked;
        memcpy(job->user, user->name, strlen(user->name) + 1);
    } else if (rc != TS_OK && rc != TS_ERR_NOT_FOUND) {
        LOG_ERROR("key_lookup_failed", "detail=\"%s\"", ts_error_detail(rc));
    }
    job_end(job);
}

/* A client certificate named an account (map_cn_to_account): that
 * account, when it exists and is not locked; else the key decides. */
static void cn_found(void *ctx, int rc, const struct store_user *user)
{
    struct account_job *job = ctx;

    if (rc == TS_OK && !user->locked && strlen(user->name) <= NAME_MAX_LEN) {
        LOG_INFO("cn_mapped", "user=%s", user->name);
        key_found(ctx, rc, user);
        return;
    }
    if (job->svc->store->ops->user_by_key(job->svc->store, job->key, key_found, job) != TS_OK)
        job_end(job);
}

void accounts_key_login(struct conn *c)
{
    struct service *svc = service_of(c);
    struct account_job *job = job_new(c, 0, OP_KEY_LOGIN);
    int rc = TS_ERR_NOMEM;

    if (job != NULL && c->tls_cn != NULL && server_cfg(c->worker->srv)->tls_map_cn &&
        (rc = svc->store->ops->user_by_name(svc->store, c->tls_cn, cn_found, job)) == TS_OK)
        return;
    if (job != NULL &&
        (rc = svc->store->ops->user_by_key(svc->store, c->identity, key_found, job)) == TS_OK)
        return;
    /* No lookup: treat the key as unbound rather than keep messages waiting. */
    LOG_ERROR("key_lookup_failed", "client=%llu detail=\"%s\"", (unsigned long long)c->id,
              ts_error_detail(rc));
    job_free(job);
    c->session->auth = SESSION_ANONYMOUS;
    service_release_waiting(c);
}

/* ---- logout, whoami, passwd ---- */

void accounts_logout(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct account_job *job = job_begin(c, id, OP_LOGOUT);

    if (job != NULL)
        store_call(job, svc->store->ops->key_unbind(svc->store, c->identity, on_written, job));
}

void accounts_whoami(struct conn *c, uint64_t id, json_t *args)
{
    struct session *s = c->session;
    json_t *rooms = json_array();

    for (unsigned i = 0; rooms != NULL && i < s->n_rooms; i++)
        json_array_append_new(rooms, json_string(s->rooms[i].name));
    service_ok(c, id, json_pack("{s:o, s:s, s:b, s:o, s:b}", "user",
                                s->auth == SESSION_USER ? json_string(s->user) : json_null(),
                                "fingerprint", c->fingerprint, "anonymous",
                                s->auth != SESSION_USER, "rooms", rooms, "online", s->online));
}

static void passwd_check(void *arg, bool discarded)
{
    struct account_job *job = arg;
    struct service *svc = job->svc;
    int rc;

    if (discarded) {
        job_fail(job, TS_REASON_SERVER_ERROR, "server shutting down");
        return;
    }
    if (!password_matches(svc, job, job->password)) {
        login_guard_failure(&svc->guard, job->address, job->user, clock_mono_ms());
        LOG_WARN("passwd_failed", "peer=%s user=%s", job->address, job->user);
        job_fail(job, TS_REASON_AUTH_FAILED, "wrong password");
        return;
    }
    if ((rc = hash_password(svc, job->new_password, job->hash)) != TS_OK) {
        job_fail(job, TS_REASON_SERVER_ERROR, ts_error_detail(rc));
        return;
    }
    store_call(job, svc->store->ops->user_set_password(svc->store, job->user, job->hash,
                                                       on_written, job));
}

void accounts_passwd(struct conn *c, uint64_t id, json_t *args)
{
    struct service *svc = service_of(c);
    struct account_job *job;

    if (!login_allowed(c, id, c->session->user) || (job = job_begin(c, id, OP_PASSWD)) == NULL)
        return;
    snprintf(job->user, sizeof(job->user), "%s", c->session->user);
    if (!take_password(c, id, args, "old", false, job->password) ||
        !take_password(c, id, args, "new", true, job->new_password)) {
        c->session->busy = false;
        job_free(job);
        return;
    }
    /* The same read as login, then the check and the new hash together. */
    store_call(job, svc->store->ops->user_by_name(svc->store, job->user, login_found, job));
}
