/*
 * The store's accounts: users, passwords, locking and device keys.
 */
#include "test_store.h"

#include <tcpseal/error.h>

#define PWHASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"

struct fixture {
    char *dir;
    char path[TEST_PATH_MAX];
    store *s;
    uint8_t k1[TS_PUBLIC_KEY_LEN];
    uint8_t k2[TS_PUBLIC_KEY_LEN];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->dir = test_tmpdir();
    test_db_path(f->path, f->dir);
    f->s = test_open(f->path);
    memset(f->k1, 0x11, sizeof(f->k1));
    memset(f->k2, 0x22, sizeof(f->k2));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_close(f->s);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static int create(store *s, const char *name, const char *pw, const uint8_t *key)
{
    struct test_sync t;

    return test_sync_end(&t, s->ops->user_create(s, name, pw, key, test_ack_done,
                                                 test_sync_begin(&t)));
}

static int bind_key(store *s, const char *name, const uint8_t *key)
{
    struct test_sync t;

    return test_sync_end(&t,
                         s->ops->key_bind(s, name, key, test_ack_done, test_sync_begin(&t)));
}

static int unbind_key(store *s, const uint8_t *key)
{
    struct test_sync t;

    return test_sync_end(&t, s->ops->key_unbind(s, key, test_ack_done, test_sync_begin(&t)));
}

static int delete_user(store *s, const char *name)
{
    struct test_sync t;

    return test_sync_end(&t,
                         s->ops->user_delete(s, name, test_ack_done, test_sync_begin(&t)));
}

static void test_create_and_lookup(void **state)
{
    struct fixture *f = *state;
    struct store_user u, by_key;

    assert_int_equal(create(f->s, "alice", PWHASH, f->k1), TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_true(u.id > 0);
    assert_string_equal(u.name, "alice");
    assert_string_equal(u.password_hash, PWHASH);
    assert_false(u.locked);
    assert_true(u.created_ms > 0);
    assert_int_equal(u.n_keys, 1);
    assert_memory_equal(u.keys[0], f->k1, TS_PUBLIC_KEY_LEN);

    assert_int_equal(test_user_sync(f->s, NULL, f->k1, &by_key), TS_OK);
    assert_int_equal(by_key.id, u.id);
    assert_string_equal(by_key.name, "alice");
    assert_int_equal(test_user_sync(f->s, NULL, f->k2, &by_key), TS_ERR_NOT_FOUND);
    assert_int_equal(test_user_sync(f->s, "bob", NULL, &by_key), TS_ERR_NOT_FOUND);
    /* Names compare byte for byte. */
    assert_int_equal(test_user_sync(f->s, "Alice", NULL, &by_key), TS_ERR_NOT_FOUND);
}

static void test_duplicates(void **state)
{
    struct fixture *f = *state;
    struct store_user u;

    assert_int_equal(create(f->s, "alice", NULL, f->k1), TS_OK);
    assert_int_equal(create(f->s, "alice", PWHASH, NULL), TS_ERR_EXISTS);
    /* Taking alice's key fails the whole creation: no half-made bob. */
    assert_int_equal(create(f->s, "bob", PWHASH, f->k1), TS_ERR_EXISTS);
    assert_int_equal(test_user_sync(f->s, "bob", NULL, &u), TS_ERR_NOT_FOUND);
    assert_int_equal(create(f->s, "Alice", NULL, NULL), TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_string_equal(u.password_hash, "");
}

static void test_password_and_lock(void **state)
{
    struct fixture *f = *state;
    struct test_sync t;
    struct store_user u;

    assert_int_equal(create(f->s, "alice", NULL, NULL), TS_OK);
    assert_int_equal(test_sync_end(&t, f->s->ops->user_set_password(
                                           f->s, "alice", PWHASH, test_ack_done,
                                           test_sync_begin(&t))),
                     TS_OK);
    assert_int_equal(test_sync_end(&t, f->s->ops->user_set_locked(f->s, "alice", true,
                                                                  test_ack_done,
                                                                  test_sync_begin(&t))),
                     TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_string_equal(u.password_hash, PWHASH);
    assert_true(u.locked);
    assert_int_equal(test_sync_end(&t, f->s->ops->user_set_locked(f->s, "alice", false,
                                                                  test_ack_done,
                                                                  test_sync_begin(&t))),
                     TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_false(u.locked);
    assert_int_equal(test_sync_end(&t, f->s->ops->user_set_password(
                                           f->s, "nobody", PWHASH, test_ack_done,
                                           test_sync_begin(&t))),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(test_sync_end(&t, f->s->ops->user_set_locked(f->s, "nobody", true,
                                                                  test_ack_done,
                                                                  test_sync_begin(&t))),
                     TS_ERR_NOT_FOUND);
}

static void test_key_binding(void **state)
{
    struct fixture *f = *state;
    struct store_user u;

    assert_int_equal(create(f->s, "alice", NULL, f->k1), TS_OK);
    assert_int_equal(create(f->s, "bob", NULL, NULL), TS_OK);
    /* Again to the same user: nothing to do. */
    assert_int_equal(bind_key(f->s, "alice", f->k1), TS_OK);
    assert_int_equal(bind_key(f->s, "bob", f->k1), TS_ERR_EXISTS);
    assert_int_equal(bind_key(f->s, "bob", f->k2), TS_OK);
    assert_int_equal(bind_key(f->s, "nobody", f->k2), TS_ERR_NOT_FOUND);
    assert_int_equal(test_user_sync(f->s, NULL, f->k2, &u), TS_OK);
    assert_string_equal(u.name, "bob");
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_int_equal(u.n_keys, 1);

    assert_int_equal(unbind_key(f->s, f->k2), TS_OK);
    assert_int_equal(test_user_sync(f->s, NULL, f->k2, &u), TS_ERR_NOT_FOUND);
    assert_int_equal(unbind_key(f->s, f->k2), TS_ERR_NOT_FOUND);
    /* Unbound, the key may go to someone else. */
    assert_int_equal(bind_key(f->s, "alice", f->k2), TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_int_equal(u.n_keys, 2);
}

static void test_key_limit(void **state)
{
    struct fixture *f = *state;
    uint8_t key[TS_PUBLIC_KEY_LEN];
    struct store_user u;

    assert_int_equal(create(f->s, "alice", NULL, NULL), TS_OK);
    for (int i = 0; i < STORE_MAX_KEYS_PER_USER; i++) {
        memset(key, 0x40 + i, sizeof(key));
        assert_int_equal(bind_key(f->s, "alice", key), TS_OK);
    }
    memset(key, 0x7f, sizeof(key));
    assert_int_equal(bind_key(f->s, "alice", key), TS_ERR_LIMIT);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_OK);
    assert_int_equal(u.n_keys, STORE_MAX_KEYS_PER_USER);
}

static void test_delete_cascades(void **state)
{
    struct fixture *f = *state;
    struct store_user u;

    assert_int_equal(create(f->s, "alice", PWHASH, f->k1), TS_OK);
    assert_int_equal(bind_key(f->s, "alice", f->k2), TS_OK);
    assert_int_equal(delete_user(f->s, "alice"), TS_OK);
    assert_int_equal(test_user_sync(f->s, "alice", NULL, &u), TS_ERR_NOT_FOUND);
    assert_int_equal(test_user_sync(f->s, NULL, f->k1, &u), TS_ERR_NOT_FOUND);
    assert_int_equal(test_user_sync(f->s, NULL, f->k2, &u), TS_ERR_NOT_FOUND);
    assert_int_equal(delete_user(f->s, "alice"), TS_ERR_NOT_FOUND);
    /* The keys are free again. */
    assert_int_equal(create(f->s, "bob", NULL, f->k1), TS_OK);
}

struct listing {
    struct test_wait wait;
    int rc;
    unsigned n;
    char names[4][STORE_NAME_MAX + 1];
    unsigned keys[4];
};

static void list_done(void *ctx, int rc, const struct store_user *user)
{
    struct listing *l = ctx;

    if (user != NULL) {
        assert_true(l->n < 4);
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", user->name);
        l->keys[l->n++] = user->n_keys;
        return;
    }
    l->rc = rc;
    test_wait_signal(&l->wait);
}

static void test_listing(void **state)
{
    struct fixture *f = *state;
    struct listing l = {0};

    assert_int_equal(create(f->s, "carol", NULL, NULL), TS_OK);
    assert_int_equal(create(f->s, "alice", NULL, f->k1), TS_OK);
    assert_int_equal(create(f->s, "bob", NULL, f->k2), TS_OK);
    assert_int_equal(bind_key(f->s, "carol", (const uint8_t *)"0123456789abcdef0123456789abcdef"),
                     TS_OK);
    assert_int_equal(delete_user(f->s, "bob"), TS_OK);
    test_wait_init(&l.wait);
    assert_int_equal(f->s->ops->users(f->s, list_done, &l), TS_OK);
    test_wait_until(&l.wait, 1);
    test_wait_destroy(&l.wait);
    assert_int_equal(l.rc, TS_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.names[0], "alice");
    assert_string_equal(l.names[1], "carol");
    assert_int_equal(l.keys[0], 1);
    assert_int_equal(l.keys[1], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_and_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
    };

    /* The store logs its opening and closing at info. */
    ts_log_set_level(TS_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
