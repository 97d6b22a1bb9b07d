/*
 * Operator commands, reached through the control socket: list users, add
 * or delete one, set a password, lock or unlock. Deleting or locking an
 * account also closes its live connections.
 *
 * Each command ends by calling done(ctx, answer) exactly once, from
 * whichever thread finished it.
 */
#include "service/service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/protocol.h>

#include "service/names.h"
#include "util/error.h"
#include "util/log.h"

enum admin_op { ADMIN_ADD, ADMIN_DELETE, ADMIN_PASSWD, ADMIN_LOCK, ADMIN_UNLOCK };

struct admin_job {
    struct service *svc;
    enum admin_op op;
    service_admin_done done;
    void *ctx;
    char user[NAME_MAX_LEN + 1];
    char password[SERVICE_PASSWORD_MAX + 1];
    char hash[STORE_PWHASH_MAX + 1];
    json_t *list;
};

static json_t *fail(const char *code, const char *text)
{
    return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "error", text);
}

static void finish(struct admin_job *job, json_t *answer)
{
    job->done(job->ctx, answer);
    json_decref(job->list);
    sodium_memzero(job, sizeof(*job));
    free(job);
}

/* ---- closing an account's connections ---- */

struct kick {
    char user[NAME_MAX_LEN + 1];
    char reason[64];
};

static void kick_on_conn(struct conn *c, void *arg)
{
    struct kick *k = arg;

    if (c != NULL && c->session != NULL && c->session->auth == SESSION_USER &&
        strcmp(c->session->user, k->user) == 0)
        conn_close(c, TS_REASON_KICKED, k->reason);
    free(k);
}

static void kick_user(struct service *svc, const char *user, const char *reason)
{
    ts_client_id *ids = NULL;
    size_t n = 0;

    if (ts_server_list_clients(svc->srv, &ids, &n) != TS_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        struct kick *k = malloc(sizeof(*k));
        if (k == NULL)
            break;
        snprintf(k->user, sizeof(k->user), "%s", user);
        snprintf(k->reason, sizeof(k->reason), "%s", reason);
        server_run_on_client(svc->srv, ids[i], kick_on_conn, k);
    }
    free(ids);
}

/* ---- writes ---- */

static void admin_written(void *ctx, int rc, const struct store_row *row)
{
    struct admin_job *job = ctx;
    static const char *const done_words[] = {"user_added", "user_deleted", "password_set",
                                              "user_locked", "user_unlocked"};

    if (rc == TS_ERR_EXISTS) {
        finish(job, fail("exists", "that user name is taken"));
        return;
    }
    if (rc == TS_ERR_NOT_FOUND) {
        finish(job, fail("not_found", "no such user"));
        return;
    }
    if (rc != TS_OK) {
        finish(job, fail("failed", ts_error_detail(rc)));
        return;
    }
    LOG_INFO(done_words[job->op], "user=%s via=control", job->user);
    if (job->op == ADMIN_DELETE)
        kick_user(job->svc, job->user, "account deleted by an operator");
    if (job->op == ADMIN_LOCK)
        kick_user(job->svc, job->user, "account locked by an operator");
    /* An operator who unlocks an account means it to be usable now, also
     * when failed logins had locked its name out. */
    if (job->op == ADMIN_UNLOCK)
        login_guard_forgive(&job->svc->guard, job->user);
    finish(job, json_pack("{s:b}", "ok", 1));
}

static void admin_hash(void *arg, bool discarded)
{
    struct admin_job *job = arg;
    const ts_server_config *cfg = server_cfg(job->svc->srv);
    char hash[crypto_pwhash_STRBYTES];
    store *st = job->svc->store;
    int rc;

    if (discarded) {
        finish(job, fail("failed", "server shutting down"));
        return;
    }
    rc = crypto_pwhash_str(hash, job->password, strlen(job->password), cfg->password_opslimit,
                           cfg->password_memlimit);
    snprintf(job->hash, sizeof(job->hash), "%s", hash);
    sodium_memzero(hash, sizeof(hash));
    if (rc != 0) {
        finish(job, fail("failed", "Argon2id could not get its memory"));
        return;
    }
    rc = job->op == ADMIN_ADD
             ? st->ops->user_create(st, job->user, job->hash, NULL, admin_written, job)
             : st->ops->user_set_password(st, job->user, job->hash, admin_written, job);
    if (rc != TS_OK)
        finish(job, fail("failed", ts_error_detail(rc)));
}

static int take_password(struct admin_job *job, json_t *cmd, json_t **error)
{
    const ts_server_config *cfg = server_cfg(job->svc->srv);
    size_t len = 0;
    const char *text = service_string(cmd, "password", &len);
    char why[96];

    if (text == NULL || len > SERVICE_PASSWORD_MAX || strlen(text) != len ||
        len < cfg->min_password_length) {
        snprintf(why, sizeof(why), "passwords are %u to %d characters long",
                 cfg->min_password_length, SERVICE_PASSWORD_MAX);
        *error = fail("bad_request", why);
        return -1;
    }
    memcpy(job->password, text, len + 1);
    return 0;
}

/* Start a write; *error is set when it cannot start. */
static void start_write(struct admin_job *job, json_t *cmd, json_t **error)
{
    store *st = job->svc->store;
    int rc = TS_OK;

    switch (job->op) {
    case ADMIN_ADD:
    case ADMIN_PASSWD:
        if (take_password(job, cmd, error) != 0)
            return;
        rc = workpool_submit(&job->svc->pool, admin_hash, job);
        break;
    case ADMIN_DELETE:
        rc = st->ops->user_delete(st, job->user, admin_written, job);
        break;
    case ADMIN_LOCK:
    case ADMIN_UNLOCK:
        rc = st->ops->user_set_locked(st, job->user, job->op == ADMIN_LOCK, admin_written, job);
        break;
    }
    if (rc != TS_OK)
        *error = fail("failed", ts_error_detail(rc));
}

/* ---- users ---- */

static void users_collect(void *ctx, int rc, const struct store_user *user)
{
    struct admin_job *job = ctx;
    size_t devices;

    if (user == NULL) {
        finish(job, rc == TS_OK ? json_pack("{s:b, s:O}", "ok", 1, "users", job->list)
                                : fail("failed", ts_error_detail(rc)));
        return;
    }
    devices = job->svc->bus->ops->user_devices(job->svc->bus, user->name);
    json_array_append_new(job->list,
                          json_pack("{s:s, s:b, s:I, s:I, s:I}", "user", user->name, "locked",
                                    user->locked, "created_ms", (json_int_t)user->created_ms,
                                    "keys", (json_int_t)user->n_keys, "online",
                                    (json_int_t)devices));
}

static const struct {
    const char *name;
    enum admin_op op;
} writes[] = {
    {"useradd", ADMIN_ADD}, {"userdel", ADMIN_DELETE}, {"passwd", ADMIN_PASSWD},
    {"lock", ADMIN_LOCK},   {"unlock", ADMIN_UNLOCK},
};

static struct admin_job *admin_job_new(struct service *svc, service_admin_done done, void *ctx)
{
    struct admin_job *job = calloc(1, sizeof(*job));

    if (job != NULL) {
        job->svc = svc;
        job->done = done;
        job->ctx = ctx;
    }
    return job;
}

void service_admin(struct service *svc, json_t *cmd, service_admin_done done, void *ctx)
{
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    struct admin_job *job;
    json_t *error = NULL;
    size_t len = 0;
    const char *user;

    if (svc == NULL) {
        done(ctx, fail("failed", "this server runs without a store: no accounts"));
        return;
    }
    if (name == NULL) {
        done(ctx, fail("bad_request", "request needs a \"cmd\" string"));
        return;
    }
    if ((job = admin_job_new(svc, done, ctx)) == NULL) {
        done(ctx, fail("failed", "out of memory"));
        return;
    }
    if (strcmp(name, "users") == 0) {
        job->list = json_array();
        if (svc->store->ops->users(svc->store, users_collect, job) != TS_OK)
            finish(job, fail("failed", "server busy"));
        return;
    }
    user = service_string(cmd, "user", &len);
    if (user == NULL || names_check_user(user, len) != TS_OK) {
        finish(job, fail("bad_request", user == NULL ? "\"user\" must be a string"
                                                     : ts_error_detail(TS_ERR_INVALID)));
        return;
    }
    memcpy(job->user, user, len + 1);
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        if (strcmp(writes[i].name, name) == 0) {
            job->op = writes[i].op;
            start_write(job, cmd, &error);
            if (error != NULL)
                finish(job, error);
            return;
        }
    }
    finish(job, fail("bad_request", "unknown command"));
}
