/*
 * The chat senders' key cache (src/client/whois_cache.h): recording keys
 * and `whois` answers, hostile answers (not JSON, wrong shapes, bad
 * base64, keys of the wrong length, over-long names, too many keys),
 * signature verdicts, the refresh throttle, and least-recently-used
 * eviction.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "client/whois_cache.h"

#define T0 1000000u  /* an arbitrary clock reading, in ms */
#define ANSWER_MAX 8192

struct fixture {
    struct whois_cache wc;
    ts_identity *alice;
    ts_identity *mallory;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(whois_cache_init(&f->wc, 0), TS_OK);
    assert_int_equal(ts_identity_generate(&f->alice), TS_OK);
    assert_int_equal(ts_identity_generate(&f->mallory), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    whois_cache_free(&f->wc);
    ts_identity_free(f->alice);
    ts_identity_free(f->mallory);
    free(f);
    return 0;
}

/* A Chat from sender, signed by signer (NULL: unsigned). */
static ts_envelope *chat(const char *sender, const ts_identity *signer)
{
    ts_envelope *env;

    assert_int_equal(ts_envelope_new(&env, TS_MSG_CHAT), TS_OK);
    ts_envelope_set_id(env, 7);
    assert_int_equal(ts_envelope_set_sender(env, sender), TS_OK);
    assert_int_equal(ts_envelope_set_recipient(env, "#lobby"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, "hello", 5), TS_OK);
    assert_int_equal(ts_envelope_seal(env, signer), TS_OK);
    return env;
}

/* The same Chat with one payload byte changed after sealing: its hash no
 * longer matches, so its signature cannot verify against any key. */
static ts_envelope *tampered(const char *sender, const ts_identity *signer)
{
    ts_envelope *env = chat(sender, signer), *out;
    uint8_t *bytes;
    size_t len;
    uint8_t *at;

    assert_int_equal(ts_envelope_encode(env, &bytes, &len), TS_OK);
    ts_envelope_free(env);
    at = memmem(bytes, len, "hello", 5);
    assert_non_null(at);
    at[0] = 'j';
    assert_int_equal(ts_envelope_decode(bytes, len, &out), TS_OK);
    free(bytes);
    return out;
}

static void b64(const uint8_t *p, size_t len, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
}

static int put_answer(struct whois_cache *wc, const char *json, uint64_t now, char *user)
{
    return whois_cache_put_answer(wc, (const uint8_t *)json, strlen(json), now, user);
}

static void put_key(struct whois_cache *wc, const char *user, const ts_identity *id,
                    uint64_t now)
{
    const uint8_t(*keys)[TS_PUBLIC_KEY_LEN] =
        (const uint8_t(*)[TS_PUBLIC_KEY_LEN])ts_identity_public_key(id);

    assert_int_equal(whois_cache_put(wc, user, keys, 1, now), TS_OK);
}

/* ---- recording ---- */

static void test_put_and_find(void **state)
{
    struct fixture *f = *state;
    char name32[WHOIS_NAME_MAX + 1], name33[WHOIS_NAME_MAX + 2];
    const struct whois_entry *e;

    assert_null(whois_cache_find(&f->wc, "alice"));
    put_key(&f->wc, "alice", f->alice, T0);
    e = whois_cache_find(&f->wc, "alice");
    assert_non_null(e);
    assert_string_equal(e->user, "alice");
    assert_int_equal(e->n_keys, 1);
    assert_memory_equal(e->keys[0], ts_identity_public_key(f->alice), TS_PUBLIC_KEY_LEN);
    assert_int_equal(e->fetched_ms, T0);

    /* Replacing: the new keys only. */
    put_key(&f->wc, "alice", f->mallory, T0 + 1);
    e = whois_cache_find(&f->wc, "alice");
    assert_int_equal(e->n_keys, 1);
    assert_memory_equal(e->keys[0], ts_identity_public_key(f->mallory), TS_PUBLIC_KEY_LEN);
    assert_int_equal(f->wc.n, 1);

    /* Names: 1 to 32 bytes. */
    memset(name32, 'a', WHOIS_NAME_MAX);
    name32[WHOIS_NAME_MAX] = '\0';
    memset(name33, 'a', WHOIS_NAME_MAX + 1);
    name33[WHOIS_NAME_MAX + 1] = '\0';
    assert_int_equal(whois_cache_put(&f->wc, name32, NULL, 0, T0), TS_OK);
    assert_int_equal(whois_cache_put(&f->wc, name33, NULL, 0, T0), TS_ERR_INVALID);
    assert_int_equal(whois_cache_put(&f->wc, "", NULL, 0, T0), TS_ERR_INVALID);
    assert_null(whois_cache_find(&f->wc, name33));
    assert_int_equal(f->wc.n, 2);
}

static void test_too_many_keys_cut(void **state)
{
    struct fixture *f = *state;
    uint8_t keys[WHOIS_MAX_KEYS + 4][TS_PUBLIC_KEY_LEN];
    const struct whois_entry *e;

    for (size_t i = 0; i < WHOIS_MAX_KEYS + 4; i++)
        memset(keys[i], (int)i + 1, TS_PUBLIC_KEY_LEN);
    assert_int_equal(whois_cache_put(&f->wc, "bob", (const uint8_t(*)[TS_PUBLIC_KEY_LEN])keys,
                                     WHOIS_MAX_KEYS + 4, T0),
                     TS_OK);
    e = whois_cache_find(&f->wc, "bob");
    assert_int_equal(e->n_keys, WHOIS_MAX_KEYS);
    assert_memory_equal(e->keys[WHOIS_MAX_KEYS - 1], keys[WHOIS_MAX_KEYS - 1],
                        TS_PUBLIC_KEY_LEN);
}

/* ---- whois answers ---- */

static void test_answer_recorded(void **state)
{
    struct fixture *f = *state;
    char k1[64], k2[64], json[256], user[WHOIS_NAME_MAX + 1] = "";
    const struct whois_entry *e;

    b64(ts_identity_public_key(f->alice), TS_PUBLIC_KEY_LEN, k1, sizeof(k1));
    b64(ts_identity_public_key(f->mallory), TS_PUBLIC_KEY_LEN, k2, sizeof(k2));
    snprintf(json, sizeof(json),
             "{\"ok\":true,\"user\":\"alice\",\"keys\":[\"%s\",\"%s\"],"
             "\"fingerprints\":[\"x\",\"y\"]}",
             k1, k2);
    assert_int_equal(put_answer(&f->wc, json, T0, user), TS_OK);
    assert_string_equal(user, "alice");
    e = whois_cache_find(&f->wc, "alice");
    assert_non_null(e);
    assert_int_equal(e->n_keys, 2);
    assert_memory_equal(e->keys[1], ts_identity_public_key(f->mallory), TS_PUBLIC_KEY_LEN);

    /* A user the server does not know: recorded with no keys. */
    assert_int_equal(put_answer(&f->wc, "{\"ok\":true,\"user\":\"ghost\",\"keys\":[]}", T0,
                                NULL),
                     TS_OK);
    assert_int_equal(whois_cache_find(&f->wc, "ghost")->n_keys, 0);
}

static void test_answer_bad_keys_left_out(void **state)
{
    struct fixture *f = *state;
    uint8_t short_key[TS_PUBLIC_KEY_LEN - 1] = {1}, long_key[TS_PUBLIC_KEY_LEN + 1] = {2};
    char good[64], s[64], l[64], json[512];
    const struct whois_entry *e;

    b64(ts_identity_public_key(f->alice), TS_PUBLIC_KEY_LEN, good, sizeof(good));
    b64(short_key, sizeof(short_key), s, sizeof(s));
    b64(long_key, sizeof(long_key), l, sizeof(l));
    /* Not base64, base64 of 31 and 33 bytes, URL-safe alphabet, embedded
     * space, a number, null, an object, and the one good key last. */
    snprintf(json, sizeof(json),
             "{\"ok\":true,\"user\":\"alice\",\"keys\":[\"!!!not base64!!!\",\"%s\",\"%s\","
             "\"____________________________________________\",\"%.20s %s\",42,null,{},"
             "\"\",\"%s\"]}",
             s, l, good, good + 20, good);
    assert_int_equal(put_answer(&f->wc, json, T0, NULL), TS_OK);
    e = whois_cache_find(&f->wc, "alice");
    assert_non_null(e);
    assert_int_equal(e->n_keys, 1);
    assert_memory_equal(e->keys[0], ts_identity_public_key(f->alice), TS_PUBLIC_KEY_LEN);
}

static void test_answer_more_keys_than_kept(void **state)
{
    struct fixture *f = *state;
    char json[ANSWER_MAX], key[64];
    size_t used;
    uint8_t raw[TS_PUBLIC_KEY_LEN];

    used = (size_t)snprintf(json, sizeof(json), "{\"ok\":true,\"user\":\"many\",\"keys\":[");
    for (int i = 0; i < 3 * WHOIS_MAX_KEYS; i++) {
        memset(raw, i, sizeof(raw));
        b64(raw, sizeof(raw), key, sizeof(key));
        used += (size_t)snprintf(json + used, sizeof(json) - used, "%s\"%s\"", i ? "," : "",
                                 key);
    }
    snprintf(json + used, sizeof(json) - used, "]}");
    assert_int_equal(put_answer(&f->wc, json, T0, NULL), TS_OK);
    assert_int_equal(whois_cache_find(&f->wc, "many")->n_keys, WHOIS_MAX_KEYS);
}

static void test_answer_malformed(void **state)
{
    struct fixture *f = *state;
    char user[WHOIS_NAME_MAX + 1] = "unchanged";
    static const char *const bad[] = {
        "",
        "not json",
        "{\"ok\":true,\"user\":\"alice\",\"keys\":[",        /* truncated */
        "[\"alice\"]",
        "{\"ok\":false,\"user\":\"alice\",\"keys\":[]}",
        "{\"ok\":\"true\",\"user\":\"alice\",\"keys\":[]}",
        "{\"user\":\"alice\",\"keys\":[]}",
        "{\"ok\":true,\"keys\":[]}",
        "{\"ok\":true,\"user\":7,\"keys\":[]}",
        "{\"ok\":true,\"user\":null,\"keys\":[]}",
        "{\"ok\":true,\"user\":\"alice\"}",
        "{\"ok\":true,\"user\":\"alice\",\"keys\":\"AAAA\"}",
        "{\"ok\":true,\"user\":\"alice\",\"keys\":{}}",
        "{\"ok\":true,\"user\":\"al\\u0000ice\",\"keys\":[]}",
        "{\"ok\":true,\"user\":\"alice\",\"keys\":[]} trailing",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (put_answer(&f->wc, bad[i], T0, user) != TS_ERR_MALFORMED)
            fail_msg("accepted: %s", bad[i]);
    }
    /* Bytes after a NUL inside the given length are not JSON either. */
    assert_int_equal(whois_cache_put_answer(&f->wc,
                                            (const uint8_t *)"{\"ok\":true}\0{}", 14, T0,
                                            user),
                     TS_ERR_MALFORMED);
    assert_string_equal(user, "unchanged");
    assert_int_equal(f->wc.n, 0);
}

static void test_answer_bad_names(void **state)
{
    struct fixture *f = *state;
    char json[256], user[WHOIS_NAME_MAX + 1] = "unchanged";

    snprintf(json, sizeof(json), "{\"ok\":true,\"user\":\"%0*d\",\"keys\":[]}",
             WHOIS_NAME_MAX + 1, 0);
    assert_int_equal(put_answer(&f->wc, json, T0, user), TS_ERR_INVALID);
    assert_int_equal(put_answer(&f->wc, "{\"ok\":true,\"user\":\"\",\"keys\":[]}", T0, user),
                     TS_ERR_INVALID);
    assert_string_equal(user, "unchanged");
    assert_int_equal(f->wc.n, 0);
    /* The longest name fits, with its NUL, in the caller's buffer. */
    snprintf(json, sizeof(json), "{\"ok\":true,\"user\":\"%0*d\",\"keys\":[]}",
             WHOIS_NAME_MAX, 0);
    assert_int_equal(put_answer(&f->wc, json, T0, user), TS_OK);
    assert_int_equal(strlen(user), WHOIS_NAME_MAX);
}

/* ---- verdicts ---- */

static void test_verdicts(void **state)
{
    struct fixture *f = *state;
    ts_envelope *plain = chat("alice", NULL), *good = chat("alice", f->alice);
    ts_envelope *forged = chat("alice", f->mallory), *bent = tampered("alice", f->alice);

    assert_int_equal(whois_cache_check(&f->wc, plain, T0, false), WHOIS_UNSIGNED);
    /* A sender never looked up: ask, or with final, give up. */
    assert_int_equal(whois_cache_check(&f->wc, good, T0, false), WHOIS_NEED_KEYS);
    assert_int_equal(whois_cache_check(&f->wc, good, T0, true), WHOIS_MISMATCH);

    put_key(&f->wc, "alice", f->alice, T0);
    assert_int_equal(whois_cache_check(&f->wc, good, T0, false), WHOIS_VERIFIED);
    assert_int_equal(whois_cache_check(&f->wc, good, T0, true), WHOIS_VERIFIED);
    assert_int_equal(whois_cache_check(&f->wc, plain, T0, false), WHOIS_UNSIGNED);
    /* Signed by another key, or changed after signing: never verified. */
    assert_int_equal(whois_cache_check(&f->wc, forged, T0, false), WHOIS_MISMATCH);
    assert_int_equal(whois_cache_check(&f->wc, bent, T0, true), WHOIS_MISMATCH);
    ts_envelope_free(plain);
    ts_envelope_free(good);
    ts_envelope_free(forged);
    ts_envelope_free(bent);
}

static void test_sender_names_without_keys(void **state)
{
    struct fixture *f = *state;
    char long_name[WHOIS_NAME_MAX + 2];
    ts_envelope *env;

    /* A sender that cannot be a user name is never looked up. */
    memset(long_name, 'a', WHOIS_NAME_MAX + 1);
    long_name[WHOIS_NAME_MAX + 1] = '\0';
    env = chat(long_name, f->alice);
    assert_int_equal(whois_cache_check(&f->wc, env, T0, false), WHOIS_MISMATCH);
    ts_envelope_free(env);
    env = chat("SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw", f->alice);
    assert_int_equal(whois_cache_check(&f->wc, env, T0, false), WHOIS_MISMATCH);
    ts_envelope_free(env);

    /* A user the server does not know has no key to verify with. */
    assert_int_equal(whois_cache_put(&f->wc, "ghost", NULL, 0, T0), TS_OK);
    env = chat("ghost", f->alice);
    assert_int_equal(whois_cache_check(&f->wc, env, T0 + 1, false), WHOIS_MISMATCH);
    ts_envelope_free(env);
}

static void test_refresh_throttled(void **state)
{
    struct fixture *f = *state;
    ts_envelope *newdev = chat("alice", f->mallory);

    /* alice's cached keys miss a message from a device of hers not yet
     * known: one refresh per WHOIS_REFRESH_MS, not one per message. */
    put_key(&f->wc, "alice", f->alice, T0);
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + 1, false), WHOIS_MISMATCH);
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + WHOIS_REFRESH_MS - 1, false),
                     WHOIS_MISMATCH);
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + WHOIS_REFRESH_MS, false),
                     WHOIS_NEED_KEYS);
    /* With final the verdict stands whatever the time. */
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + 10 * WHOIS_REFRESH_MS, true),
                     WHOIS_MISMATCH);
    /* The refresh recorded the same keys: throttled again from then. */
    put_key(&f->wc, "alice", f->alice, T0 + WHOIS_REFRESH_MS);
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + WHOIS_REFRESH_MS + 1, false),
                     WHOIS_MISMATCH);
    /* A clock reading from before the fetch (another thread's) is no
     * reason to ask again. */
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0, false), WHOIS_MISMATCH);
    /* The refresh that finds the new device verifies it. */
    {
        uint8_t keys[2][TS_PUBLIC_KEY_LEN];

        memcpy(keys[0], ts_identity_public_key(f->alice), TS_PUBLIC_KEY_LEN);
        memcpy(keys[1], ts_identity_public_key(f->mallory), TS_PUBLIC_KEY_LEN);
        assert_int_equal(whois_cache_put(&f->wc, "alice",
                                         (const uint8_t(*)[TS_PUBLIC_KEY_LEN])keys, 2,
                                         T0 + 3 * WHOIS_REFRESH_MS),
                         TS_OK);
    }
    assert_int_equal(whois_cache_check(&f->wc, newdev, T0 + 3 * WHOIS_REFRESH_MS, false),
                     WHOIS_VERIFIED);
    ts_envelope_free(newdev);
}

/* ---- bounds ---- */

static void test_eviction_least_recently_used(void **state)
{
    struct whois_cache wc;
    char name[16];

    (void)state;
    assert_int_equal(whois_cache_init(&wc, 3), TS_OK);
    assert_int_equal(whois_cache_put(&wc, "anna", NULL, 0, T0), TS_OK);
    assert_int_equal(whois_cache_put(&wc, "bert", NULL, 0, T0), TS_OK);
    assert_int_equal(whois_cache_put(&wc, "cleo", NULL, 0, T0), TS_OK);
    /* Using anna makes bert the least recently used. */
    assert_non_null(whois_cache_find(&wc, "anna"));
    assert_int_equal(whois_cache_put(&wc, "dora", NULL, 0, T0), TS_OK);
    assert_null(whois_cache_find(&wc, "bert"));
    assert_non_null(whois_cache_find(&wc, "anna"));
    assert_non_null(whois_cache_find(&wc, "cleo"));
    assert_non_null(whois_cache_find(&wc, "dora"));
    /* Replacing a cached user evicts nobody. */
    assert_int_equal(whois_cache_put(&wc, "anna", NULL, 0, T0 + 1), TS_OK);
    assert_non_null(whois_cache_find(&wc, "cleo"));
    assert_non_null(whois_cache_find(&wc, "dora"));
    assert_int_equal(wc.n, 3);
    /* A long stream of new names never grows it. */
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        assert_int_equal(whois_cache_put(&wc, name, NULL, 0, T0), TS_OK);
    }
    assert_int_equal(wc.n, 3);
    assert_non_null(whois_cache_find(&wc, "user999"));
    assert_non_null(whois_cache_find(&wc, "user997"));
    assert_null(whois_cache_find(&wc, "user996"));
    whois_cache_free(&wc);
}

static void test_default_capacity(void **state)
{
    struct whois_cache wc;
    char name[16];

    (void)state;
    assert_int_equal(whois_cache_init(&wc, 0), TS_OK);
    assert_int_equal(wc.cap, WHOIS_CACHE_USERS);
    for (int i = 0; i < WHOIS_CACHE_USERS + 10; i++) {
        snprintf(name, sizeof(name), "u%d", i);
        assert_int_equal(whois_cache_put(&wc, name, NULL, 0, T0), TS_OK);
    }
    assert_int_equal(wc.n, WHOIS_CACHE_USERS);
    assert_null(whois_cache_find(&wc, "u0"));
    whois_cache_free(&wc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_keys_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_bad_keys_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_more_keys_than_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_names_without_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_throttled, setup, teardown),
        cmocka_unit_test(test_eviction_least_recently_used),
        cmocka_unit_test(test_default_capacity),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
