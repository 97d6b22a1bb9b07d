/*
 * Identity keys: signing, fingerprints and the key file.
 */
#include "support.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <tcpseal/identity.h>

#include "identity/keyfile.h"

/* RFC 8032 test 1, and the fingerprint of its public key computed with
 * Python's hashlib and base64. */
#define SEED_A_HEX "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PUB_A_HEX "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define FINGERPRINT_A "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"

/* Cheapest Argon2id parameters the loader accepts, for the many encrypted
 * files below; one test uses the real defaults through the public API. */
#define FAST_OPS KEYFILE_OPSLIMIT_MIN
#define FAST_MEM KEYFILE_MEMLIMIT_MIN

#define PASSPHRASE "correct horse battery staple"
#define FILE_MAX 8192

struct fixture {
    char *dir;
    char path[512];
    ts_identity *a;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uint8_t seed[32];

    assert_non_null(f);
    f->dir = test_tmpdir();
    snprintf(f->path, sizeof(f->path), "%s/identity", f->dir);
    test_hex(SEED_A_HEX, seed, sizeof(seed));
    assert_int_equal(ts_identity_from_seed(seed, &f->a), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ts_identity_free(f->a);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static size_t read_text(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return n;
}

static void write_text(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int load_rc(const char *path, const char *passphrase)
{
    ts_identity *id = (ts_identity *)1;
    int rc = ts_identity_load(&id, path, passphrase);

    if (rc != TS_OK)
        assert_null(id);
    ts_identity_free(id);
    return rc;
}

/* Only the key file itself is left in the directory. */
static void assert_no_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int entries = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            assert_string_equal(e->d_name, "identity");
            entries++;
        }
    }
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_sign_verify(void **state)
{
    struct fixture *f = *state;
    ts_identity *b;
    uint8_t sig[TS_SIGNATURE_LEN];
    static const uint8_t msg[] = "message";

    assert_int_equal(ts_identity_generate(&b), TS_OK);
    assert_int_equal(ts_identity_sign(f->a, msg, sizeof(msg), sig), TS_OK);
    assert_int_equal(ts_signature_verify(ts_identity_public_key(f->a), msg, sizeof(msg), sig),
                     TS_OK);
    assert_int_equal(ts_signature_verify(ts_identity_public_key(b), msg, sizeof(msg), sig),
                     TS_ERR_BAD_SIGNATURE);
    assert_int_equal(ts_signature_verify(ts_identity_public_key(f->a), msg,
                                         sizeof(msg) - 1, sig),
                     TS_ERR_BAD_SIGNATURE);
    sig[10] ^= 0x40;
    assert_int_equal(ts_signature_verify(ts_identity_public_key(f->a), msg, sizeof(msg), sig),
                     TS_ERR_BAD_SIGNATURE);
    /* An empty message is a message. */
    assert_int_equal(ts_identity_sign(b, NULL, 0, sig), TS_OK);
    assert_int_equal(ts_signature_verify(ts_identity_public_key(b), NULL, 0, sig), TS_OK);
    ts_identity_free(b);
    ts_identity_free(NULL);
}

/* The seed gives the RFC 8032 key, and signatures libsodium accepts. */
static void test_from_seed(void **state)
{
    struct fixture *f = *state;
    uint8_t pub[TS_PUBLIC_KEY_LEN], sig[TS_SIGNATURE_LEN];

    test_hex(PUB_A_HEX, pub, sizeof(pub));
    assert_memory_equal(ts_identity_public_key(f->a), pub, sizeof(pub));
    assert_int_equal(ts_identity_sign(f->a, (const uint8_t *)"", 0, sig), TS_OK);
    assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"", 0, pub), 0);
    assert_int_equal(ts_identity_from_seed(NULL, &(ts_identity *){NULL}), TS_ERR_INVALID);
}

static void test_fingerprint(void **state)
{
    struct fixture *f = *state;
    char fp[TS_FINGERPRINT_MAX], direct[TS_FINGERPRINT_MAX], expect[TS_FINGERPRINT_MAX];
    uint8_t digest[crypto_hash_sha256_BYTES];
    ts_identity *b;

    ts_identity_fingerprint(f->a, fp);
    assert_string_equal(fp, FINGERPRINT_A);
    assert_int_equal(ts_fingerprint_validate(fp), TS_OK);

    /* Any key: SHA-256, unpadded standard base64. */
    assert_int_equal(ts_identity_generate(&b), TS_OK);
    crypto_hash_sha256(digest, ts_identity_public_key(b), TS_PUBLIC_KEY_LEN);
    strcpy(expect, "SHA256:");
    sodium_bin2base64(expect + 7, sizeof(expect) - 7, digest, sizeof(digest),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    ts_identity_fingerprint(b, fp);
    ts_fingerprint_of_key(ts_identity_public_key(b), direct);
    assert_string_equal(fp, expect);
    assert_string_equal(direct, expect);
    assert_int_equal(strlen(fp), 7 + 43);
    assert_int_equal(ts_fingerprint_validate(fp), TS_OK);
    ts_identity_free(b);
}

static void test_fingerprint_validate(void **state)
{
    static const char *const bad[] = {
        "",
        "SHA256:",
        "sha256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",   /* prefix case */
        "MD5:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",
        "If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",          /* no prefix */
        "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIb",    /* 42 chars */
        "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbkA",  /* 44 chars */
        "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk=",  /* padded */
        "SHA256:If4x36FUomFia_hUBG-SJxt77UtqvkWqWId+9H+XIbk",   /* URL alphabet */
        "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XI k",   /* space */
        "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbl",   /* padding bits */
        " SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ts_fingerprint_validate(bad[i]), TS_ERR_MALFORMED);
    assert_int_equal(ts_fingerprint_validate(NULL), TS_ERR_MALFORMED);
    assert_int_equal(ts_fingerprint_validate(FINGERPRINT_A), TS_OK);
}

static void test_save_load_clear(void **state)
{
    struct fixture *f = *state;
    ts_identity *back;
    struct stat st;
    uint8_t sig1[TS_SIGNATURE_LEN], sig2[TS_SIGNATURE_LEN];
    char text[FILE_MAX];

    assert_int_equal(ts_identity_save(f->a, f->path, NULL), TS_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_false(ts_identity_file_is_encrypted(f->path));
    read_text(f->path, text, sizeof(text));
    assert_true(strncmp(text, "tcpseal-identity v1\npublic-key: ", 32) == 0);
    assert_non_null(strstr(text, "\nencryption: none\nseed: "));

    assert_int_equal(ts_identity_load(&back, f->path, NULL), TS_OK);
    assert_memory_equal(ts_identity_public_key(back), ts_identity_public_key(f->a),
                        TS_PUBLIC_KEY_LEN);
    /* Ed25519 is deterministic: the same secret key signs identically. */
    assert_int_equal(ts_identity_sign(f->a, (const uint8_t *)"x", 1, sig1), TS_OK);
    assert_int_equal(ts_identity_sign(back, (const uint8_t *)"x", 1, sig2), TS_OK);
    assert_memory_equal(sig1, sig2, sizeof(sig1));
    ts_identity_free(back);

    /* A passphrase given for a clear file is ignored; "" saves in clear. */
    assert_int_equal(load_rc(f->path, "unused"), TS_OK);
    assert_int_equal(ts_identity_save(f->a, f->path, ""), TS_OK);
    assert_false(ts_identity_file_is_encrypted(f->path));
    assert_no_leftovers(f->dir);
}

static void test_save_replaces(void **state)
{
    struct fixture *f = *state;
    ts_identity *b, *back;

    assert_int_equal(ts_identity_generate(&b), TS_OK);
    write_text(f->path, "old", 3, 0644);
    assert_int_equal(ts_identity_save(f->a, f->path, NULL), TS_OK);
    assert_int_equal(ts_identity_save(b, f->path, NULL), TS_OK);
    assert_int_equal(ts_identity_load(&back, f->path, NULL), TS_OK);
    assert_memory_equal(ts_identity_public_key(back), ts_identity_public_key(b),
                        TS_PUBLIC_KEY_LEN);
    assert_no_leftovers(f->dir);
    ts_identity_free(back);
    ts_identity_free(b);
}

static void test_save_errors(void **state)
{
    struct fixture *f = *state;
    char path[600];

    snprintf(path, sizeof(path), "%s/missing/identity", f->dir);
    assert_int_equal(ts_identity_save(f->a, path, NULL), TS_ERR_IO);
    assert_non_null(strstr(ts_error_detail(TS_ERR_IO), path));
    assert_int_equal(ts_identity_save(NULL, f->path, NULL), TS_ERR_INVALID);
    assert_int_equal(keyfile_save(f->a, f->path, PASSPHRASE, FAST_OPS,
                                  KEYFILE_MEMLIMIT_MAX + 1ull),
                     TS_ERR_INVALID);
}

static void test_permissions(void **state)
{
    struct fixture *f = *state;
    static const mode_t too_open[] = {0644, 0640, 0604, 0660, 0606, 0601, 0610, 0700 | 0077};
    char expect[1200];

    assert_int_equal(ts_identity_save(f->a, f->path, NULL), TS_OK);
    for (size_t i = 0; i < sizeof(too_open) / sizeof(too_open[0]); i++) {
        assert_int_equal(chmod(f->path, too_open[i]), 0);
        assert_int_equal(load_rc(f->path, NULL), TS_ERR_PERMISSIONS);
        snprintf(expect, sizeof(expect),
                 "permissions %04o for '%s' are too open; the identity key must be "
                 "private: run chmod 600 %s",
                 (unsigned)too_open[i], f->path, f->path);
        assert_string_equal(ts_error_detail(TS_ERR_PERMISSIONS), expect);
    }
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(load_rc(f->path, NULL), TS_OK);
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(load_rc(f->path, NULL), TS_OK);
}

static void test_not_found(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load_rc(f->path, NULL), TS_ERR_NOT_FOUND);
    assert_non_null(strstr(ts_error_detail(TS_ERR_NOT_FOUND), f->path));
    assert_false(ts_identity_file_is_encrypted(f->path));
    /* A directory in place of the file. */
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    assert_int_equal(rmdir(f->path), 0);
}

/* The real defaults (Argon2id "moderate"), through the public API. */
static void test_encrypted_round_trip(void **state)
{
    struct fixture *f = *state;
    ts_identity *back;
    char text[FILE_MAX];
    char opslimit[64], memlimit[64];

    assert_int_equal(ts_identity_save(f->a, f->path, PASSPHRASE), TS_OK);
    assert_true(ts_identity_file_is_encrypted(f->path));
    read_text(f->path, text, sizeof(text));
    snprintf(opslimit, sizeof(opslimit), "\nargon2id-opslimit: %llu\n",
             (unsigned long long)crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
    snprintf(memlimit, sizeof(memlimit), "\nargon2id-memlimit: %llu\n",
             (unsigned long long)crypto_pwhash_argon2id_MEMLIMIT_MODERATE);
    assert_non_null(strstr(text, opslimit));
    assert_non_null(strstr(text, memlimit));
    assert_null(strstr(text, "\nseed: "));
    assert_int_equal(ts_identity_load(&back, f->path, PASSPHRASE), TS_OK);
    assert_memory_equal(ts_identity_public_key(back), ts_identity_public_key(f->a),
                        TS_PUBLIC_KEY_LEN);
    ts_identity_free(back);
    assert_no_leftovers(f->dir);
}

static void test_passphrase_errors(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(keyfile_save(f->a, f->path, PASSPHRASE, FAST_OPS, FAST_MEM), TS_OK);
    assert_true(ts_identity_file_is_encrypted(f->path));
    assert_int_equal(load_rc(f->path, PASSPHRASE), TS_OK);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_PASSPHRASE);
    assert_non_null(strstr(ts_error_detail(TS_ERR_PASSPHRASE), "passphrase is needed"));
    assert_non_null(strstr(ts_error_detail(TS_ERR_PASSPHRASE), f->path));
    assert_int_equal(load_rc(f->path, ""), TS_ERR_PASSPHRASE);
    assert_int_equal(load_rc(f->path, "correct horse battery stapler"), TS_ERR_PASSPHRASE);
    assert_non_null(strstr(ts_error_detail(TS_ERR_PASSPHRASE), "wrong passphrase"));
}

/* Replace the value of the line starting with key by value. */
static void replace_value(char *text, const char *key, const char *value)
{
    char *line = strstr(text, key), *end, rest[FILE_MAX];

    assert_non_null(line);
    line += strlen(key);
    end = strchr(line, '\n');
    assert_non_null(end);
    strcpy(rest, end);
    strcpy(line, value);
    strcat(line, rest);
}

/* Change one character of the value of key to another base64 character. */
static void alter_value(char *text, const char *key)
{
    char *value = strstr(text, key);

    assert_non_null(value);
    value += strlen(key);
    value[1] = value[1] == 'A' ? 'B' : 'A';
}

static void test_tampered_encrypted(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *key;
        const char *value; /* NULL: alter one base64 character */
        int rc;
    } cases[] = {
        {"public-key: ", NULL, TS_ERR_PASSPHRASE},
        {"argon2id-salt: ", NULL, TS_ERR_PASSPHRASE},
        {"nonce: ", NULL, TS_ERR_PASSPHRASE},
        {"encrypted-seed: ", NULL, TS_ERR_PASSPHRASE},
        {"argon2id-opslimit: ", "2", TS_ERR_PASSPHRASE},
        {"argon2id-memlimit: ", "16384", TS_ERR_PASSPHRASE},
        {"argon2id-opslimit: ", "0", TS_ERR_MALFORMED},
        {"argon2id-opslimit: ", "17", TS_ERR_MALFORMED},
        {"argon2id-opslimit: ", "01", TS_ERR_MALFORMED},
        {"argon2id-opslimit: ", "-1", TS_ERR_MALFORMED},
        {"argon2id-opslimit: ", "99999999999999999999999", TS_ERR_MALFORMED},
        {"argon2id-memlimit: ", "1073741825", TS_ERR_MALFORMED},
        {"argon2id-memlimit: ", "18446744073709551615", TS_ERR_MALFORMED},
        {"argon2id-memlimit: ", "4096", TS_ERR_MALFORMED},
        {"encryption: ", "none", TS_ERR_MALFORMED},
        {"encryption: ", "aes", TS_ERR_MALFORMED},
        {"tcpseal-identity ", "v2", TS_ERR_VERSION},
        {"tcpseal-identity ", "v10", TS_ERR_VERSION},
        {"tcpseal-identity ", "v01", TS_ERR_MALFORMED},
        {"tcpseal-identity ", "v", TS_ERR_MALFORMED},
        {"tcpseal-identity ", "x1", TS_ERR_MALFORMED},
        {"nonce: ", "AAAA", TS_ERR_MALFORMED},
        {"encrypted-seed: ", "", TS_ERR_MALFORMED},
    };
    char original[FILE_MAX], text[FILE_MAX];
    size_t len;

    assert_int_equal(keyfile_save(f->a, f->path, PASSPHRASE, FAST_OPS, FAST_MEM), TS_OK);
    len = read_text(f->path, original, sizeof(original));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(text, original, len + 1);
        if (cases[i].value == NULL)
            alter_value(text, cases[i].key);
        else
            replace_value(text, cases[i].key, cases[i].value);
        assert_true(strcmp(text, original) != 0);
        write_text(f->path, text, strlen(text), 0600);
        assert_int_equal(load_rc(f->path, PASSPHRASE), cases[i].rc);
    }
    write_text(f->path, original, len, 0600);
    assert_int_equal(load_rc(f->path, PASSPHRASE), TS_OK);
}

static void test_tampered_clear(void **state)
{
    struct fixture *f = *state;
    char original[FILE_MAX], text[FILE_MAX];
    size_t len;

    assert_int_equal(ts_identity_save(f->a, f->path, NULL), TS_OK);
    len = read_text(f->path, original, sizeof(original));

    memcpy(text, original, len + 1);
    alter_value(text, "public-key: ");
    write_text(f->path, text, len, 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(TS_ERR_MALFORMED), "does not match"));

    memcpy(text, original, len + 1);
    alter_value(text, "seed: ");
    write_text(f->path, text, len, 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);

    /* Trailing text, CRLF line ends, a missing final newline. */
    memcpy(text, original, len + 1);
    strcat(text, "comment: x\n");
    write_text(f->path, text, strlen(text), 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    memcpy(text, original, len + 1);
    replace_value(text, "encryption: ", "none\r");
    write_text(f->path, text, strlen(text), 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    write_text(f->path, original, len - 1, 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
}

/* Every strict prefix of a valid file is refused, clear or encrypted. */
static void test_truncated_files(void **state)
{
    struct fixture *f = *state;
    char original[FILE_MAX];

    for (int encrypted = 0; encrypted <= 1; encrypted++) {
        size_t len;

        assert_int_equal(keyfile_save(f->a, f->path, encrypted ? PASSPHRASE : NULL,
                                      FAST_OPS, FAST_MEM),
                         TS_OK);
        len = read_text(f->path, original, sizeof(original));
        for (size_t cut = 0; cut < len; cut++) {
            write_text(f->path, original, cut, 0600);
            assert_int_equal(load_rc(f->path, PASSPHRASE), TS_ERR_MALFORMED);
        }
    }
}

static void test_garbage_files(void **state)
{
    struct fixture *f = *state;
    char junk[KEYFILE_MAX_SIZE + 1];

    randombytes_buf(junk, sizeof(junk));
    for (size_t n = 1; n <= 64; n++) {
        write_text(f->path, junk, n * 61 % sizeof(junk), 0600);
        assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    }
    write_text(f->path, junk, sizeof(junk), 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(TS_ERR_MALFORMED), "larger than"));
    write_text(f->path, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36, 0600);
    assert_int_equal(load_rc(f->path, NULL), TS_ERR_MALFORMED);
    assert_non_null(strstr(ts_error_detail(TS_ERR_MALFORMED), "not a tcpseal identity"));
    assert_false(ts_identity_file_is_encrypted(f->path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passphrase_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_encrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_files, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
