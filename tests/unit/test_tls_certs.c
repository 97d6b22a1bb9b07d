/*
 * Certificate generation (src/tls/certgen.h) and SPKI pins
 * (src/tls/pin.h), checked through the OpenSSL API: chains, names, key
 * usages, validity, file modes, refusal to overwrite.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <tcpseal/error.h>

#include "tls/certgen.h"
#include "tls/pin.h"

#define DAY_S 86400
/* Validity checks allow for the backdated notBefore and a slow run. */
#define SLACK_S 7200

static char *base;

static int setup(void **state)
{
    base = test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    test_rmtree(base);
    base = NULL;
    return 0;
}

/* A fresh output directory name under base (not created). */
static void out_dir(char out[TEST_PATH_MAX], const char *leaf)
{
    snprintf(out, TEST_PATH_MAX, "%s/%s", base, leaf);
}

/* Every certificate of a PEM file, in order. */
static STACK_OF(X509) *read_certs(const char *path)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    FILE *f = fopen(path, "r");
    X509 *x;

    assert_non_null(certs);
    assert_non_null(f);
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        assert_true(sk_X509_push(certs, x) > 0);
    fclose(f);
    assert_true(sk_X509_num(certs) > 0);
    return certs;
}

static X509 *read_cert(const char *path)
{
    STACK_OF(X509) *certs = read_certs(path);
    X509 *x = sk_X509_shift(certs);

    sk_X509_pop_free(certs, X509_free);
    return x;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    assert_non_null(f);
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Verify leaf (with the chain file's extra certificates as untrusted
 * intermediates) against ca_path for purpose; the X509_V_* result. */
static int verify(const char *ca_path, const char *chain_path, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = read_certs(chain_path);
    X509 *leaf = sk_X509_shift(chain);
    int result;

    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_load_file(store, ca_path), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    X509_verify_cert(ctx);
    result = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    return result;
}

static bool has_eku(X509 *x, int nid)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    bool found = false;

    for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
        found = found || OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid;
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

static int count_sans(X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;

    GENERAL_NAMES_free(names);
    return n;
}

static void assert_ext_critical(X509 *x, int nid, bool critical)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);

    assert_true(idx >= 0);
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x, idx)), critical ? 1 : 0);
}

/* Seconds from now to t (negative in the past). */
static long seconds_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;

    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
    return (long)days * DAY_S + secs;
}

static void assert_p256_sha256(X509 *x)
{
    EVP_PKEY *pub = X509_get0_pubkey(x);
    char curve[32];
    size_t len = 0;

    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_utf8_string_param(pub, "group", curve, sizeof(curve), &len),
                     1);
    assert_string_equal(curve, "prime256v1");
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
}

static void assert_serial_random(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

    assert_non_null(bn);
    assert_false(BN_is_negative(bn));
    /* 128 random bits: fewer than 100 significant ones is a 2^-28 event. */
    assert_true(BN_num_bits(bn) > 100 && BN_num_bits(bn) <= 128);
    BN_free(bn);
}

/* ------------------------------------------------------------------ */

static void test_generate_defaults(void **state)
{
    const char *clients[] = {"alice", "bob.example_2"};
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir, .clients = clients, .n_clients = 2};
    X509 *ca, *server, *client, *chain_ca;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    const ASN1_OCTET_STRING *ski, *aki;

    out_dir(dir, "certs/nested");
    assert_int_equal(certgen_run(&o), TS_OK);
    /* Modes: directory 0700 (parents too), keys 0600, certificates 0644. */
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(test_path_in(base, "certs")), 0700);
    assert_int_equal(mode_of(test_path_in(dir, "ca.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "server.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "client-alice.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "client-bob.example_2.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "ca.crt")), 0644);
    assert_int_equal(mode_of(test_path_in(dir, "server.crt")), 0644);
    assert_int_equal(mode_of(test_path_in(dir, "client-alice.crt")), 0644);

    /* Chains verify for their purposes; the other purpose is refused. */
    assert_int_equal(verify(test_path_in(dir, "ca.crt"), test_path_in(dir, "server.crt"),
                            X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify(test_path_in(dir, "ca.crt"), test_path_in(dir, "client-alice.crt"),
                            X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(verify(test_path_in(dir, "ca.crt"), test_path_in(dir, "client-alice.crt"),
                            X509_PURPOSE_SSL_SERVER), X509_V_ERR_INVALID_PURPOSE);

    ca = read_cert(test_path_in(dir, "ca.crt"));
    server = read_cert(test_path_in(dir, "server.crt"));
    client = read_cert(test_path_in(dir, "client-alice.crt"));

    /* server.crt: the server certificate, then the CA. */
    chain = read_certs(test_path_in(dir, "server.crt"));
    assert_int_equal(sk_X509_num(chain), 2);
    chain_ca = sk_X509_value(chain, 1);
    assert_int_equal(X509_cmp(chain_ca, ca), 0);
    sk_X509_pop_free(chain, X509_free);

    /* CA: CA:TRUE critical, keyCertSign + cRLSign, ten years. */
    assert_int_equal(X509_check_ca(ca), 1);
    assert_ext_critical(ca, NID_basic_constraints, true);
    assert_ext_critical(ca, NID_key_usage, true);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_true(labs(seconds_from_now(X509_get0_notAfter(ca)) - 3650L * DAY_S) < SLACK_S);
    assert_true(seconds_from_now(X509_get0_notBefore(ca)) <= 0);

    /* Leaves: CA:FALSE, digitalSignature, one EKU each, 365 days. */
    assert_int_equal(X509_check_ca(server), 0);
    assert_ext_critical(server, NID_basic_constraints, true);
    assert_int_equal(X509_get_key_usage(server), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_key_usage(client), KU_DIGITAL_SIGNATURE);
    assert_true(has_eku(server, NID_server_auth));
    assert_false(has_eku(server, NID_client_auth));
    assert_true(has_eku(client, NID_client_auth));
    assert_false(has_eku(client, NID_server_auth));
    assert_true(labs(seconds_from_now(X509_get0_notAfter(server)) - 365L * DAY_S) < SLACK_S);
    assert_true(seconds_from_now(X509_get0_notBefore(server)) <= 0);

    /* Names: localhost, 127.0.0.1 and ::1, without a repeat. */
    assert_int_equal(X509_check_host(server, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(server, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(server, "::1", 0), 1);
    assert_int_equal(X509_check_host(server, "example.org", 0, 0, NULL), 0);
    assert_int_equal(count_sans(server), 3);
    assert_int_equal(X509_check_host(client, "alice", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                                     NULL), 0);
    {
        char cn[64];
        assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(client), NID_commonName,
                                              cn, sizeof(cn)) > 0);
        assert_string_equal(cn, "alice");
    }

    /* Key identifiers link each leaf to the CA. */
    ski = X509_get0_subject_key_id(ca);
    aki = X509_get0_authority_key_id(server);
    assert_non_null(ski);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(ski, aki), 0);
    assert_non_null(X509_get0_subject_key_id(server));

    /* Keys and signatures: P-256, ECDSA with SHA-256; random serials. */
    assert_p256_sha256(ca);
    assert_p256_sha256(server);
    assert_p256_sha256(client);
    assert_serial_random(ca);
    assert_serial_random(server);
    assert_serial_random(client);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(server),
                                          X509_get0_serialNumber(client)), 0);
    key = read_key(test_path_in(dir, "server.key"));
    assert_int_equal(X509_check_private_key(server, key), 1);
    EVP_PKEY_free(key);

    X509_free(ca);
    X509_free(server);
    X509_free(client);
}

static void test_server_names(void **state)
{
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir, .server_name = "192.0.2.7"};
    X509 *x;

    out_dir(dir, "ip");
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(o.out_dir, "server.crt"));
    assert_int_equal(X509_check_ip_asc(x, "192.0.2.7", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(count_sans(x), 4);
    X509_free(x);

    out_dir(dir, "dns");
    o.server_name = "chat.tcpseal.example";
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(o.out_dir, "server.crt"));
    assert_int_equal(X509_check_host(x, "chat.tcpseal.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_host(x, "other.tcpseal.example", 0, 0, NULL), 0);
    X509_free(x);

    /* The loopback address itself is not listed twice. */
    out_dir(dir, "loop");
    o.server_name = "127.0.0.1";
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(o.out_dir, "server.crt"));
    assert_int_equal(count_sans(x), 3);
    X509_free(x);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(8192);

    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

static void test_refuse_overwrite(void **state)
{
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir};
    char *before, *after, *cert_before, *cert_after;
    size_t blen, alen, cblen, calen;

    out_dir(dir, "again");
    assert_int_equal(certgen_run(&o), TS_OK);
    before = slurp(test_path_in(dir, "server.key"), &blen);
    cert_before = slurp(test_path_in(dir, "ca.crt"), &cblen);
    assert_int_equal(certgen_run(&o), TS_ERR_EXISTS);
    assert_non_null(strstr(ts_error_detail(TS_ERR_EXISTS), "--force"));
    after = slurp(test_path_in(dir, "server.key"), &alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    free(after);

    /* --force replaces every file, keeping the modes, leaving no temp. */
    o.force = true;
    assert_int_equal(certgen_run(&o), TS_OK);
    after = slurp(test_path_in(dir, "server.key"), &alen);
    cert_after = slurp(test_path_in(dir, "ca.crt"), &calen);
    assert_true(alen != blen || memcmp(after, before, blen) != 0);
    assert_true(calen != cblen || memcmp(cert_after, cert_before, cblen) != 0);
    assert_int_equal(mode_of(test_path_in(dir, "server.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "ca.key")), 0600);
    assert_int_equal(mode_of(test_path_in(dir, "server.crt")), 0644);
    assert_int_equal(access(test_path_in(dir, "server.key.new"), F_OK), -1);
    assert_int_equal(verify(test_path_in(dir, "ca.crt"), test_path_in(dir, "server.crt"),
                            X509_PURPOSE_SSL_SERVER), X509_V_OK);
    free(before);
    free(after);
    free(cert_before);
    free(cert_after);
}

/* A symlink where a key goes is neither written through nor followed. */
static void test_symlink_not_followed(void **state)
{
    char dir[TEST_PATH_MAX], victim[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir, .force = true};
    char *content;
    size_t len;
    FILE *f;

    out_dir(dir, "links");
    out_dir(victim, "victim");
    assert_int_equal(mkdir(dir, 0700), 0);
    f = fopen(victim, "w");
    assert_non_null(f);
    fputs("untouched\n", f);
    fclose(f);
    assert_int_equal(symlink(victim, test_path_in(dir, "server.key")), 0);
    o.force = false;
    assert_int_equal(certgen_run(&o), TS_ERR_EXISTS);
    o.force = true;
    assert_int_equal(certgen_run(&o), TS_OK);
    content = slurp(victim, &len);
    assert_int_equal(len, strlen("untouched\n"));
    assert_memory_equal(content, "untouched\n", len);
    free(content);
    assert_int_equal(mode_of(test_path_in(dir, "server.key")), 0600);
}

/* Modes do not depend on the umask. */
static void test_modes_any_umask(void **state)
{
    char open_dir[TEST_PATH_MAX], tight_dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = open_dir};
    mode_t old = umask(0);

    out_dir(open_dir, "umask0");
    out_dir(tight_dir, "umask77");
    assert_int_equal(certgen_run(&o), TS_OK);
    umask(0077);
    o.out_dir = tight_dir;
    assert_int_equal(certgen_run(&o), TS_OK);
    umask(old);
    assert_int_equal(mode_of(test_path_in(open_dir, "server.key")), 0600);
    assert_int_equal(mode_of(test_path_in(open_dir, "server.crt")), 0644);
    assert_int_equal(mode_of(open_dir), 0700);
    assert_int_equal(mode_of(test_path_in(tight_dir, "server.crt")), 0644);
}

static void test_ca_dir(void **state)
{
    char first[TEST_PATH_MAX], second[TEST_PATH_MAX], other[TEST_PATH_MAX],
        other_ca[TEST_PATH_MAX];
    const char *clients[] = {"carol"};
    struct certgen_options o = {.out_dir = first};
    X509 *a, *b;

    out_dir(first, "ca1");
    out_dir(second, "ca1-reissue");
    out_dir(other, "nowhere");
    out_dir(other_ca, "no-such-ca");
    assert_int_equal(certgen_run(&o), TS_OK);
    o.out_dir = second;
    o.ca_dir = first;
    o.server_name = "reload.example";
    o.clients = clients;
    o.n_clients = 1;
    assert_int_equal(certgen_run(&o), TS_OK);
    /* Signed by the first CA, which is not copied. */
    assert_int_equal(access(test_path_in(second, "ca.key"), F_OK), -1);
    assert_int_equal(access(test_path_in(second, "ca.crt"), F_OK), -1);
    assert_int_equal(verify(test_path_in(first, "ca.crt"), test_path_in(second, "server.crt"),
                            X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify(test_path_in(first, "ca.crt"), test_path_in(second, "client-carol.crt"),
                            X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    a = read_cert(test_path_in(first, "server.crt"));
    b = read_cert(test_path_in(second, "server.crt"));
    assert_int_not_equal(X509_cmp(a, b), 0);
    assert_int_equal(X509_check_host(b, "reload.example", 0, 0, NULL), 1);
    X509_free(a);
    X509_free(b);

    /* Not a CA directory. */
    o.out_dir = other;
    o.ca_dir = other_ca;
    assert_int_equal(certgen_run(&o), TS_ERR_NOT_FOUND);
    assert_int_equal(access(o.out_dir, F_OK), -1);
    /* A CA certificate with another key. */
    assert_int_equal(rename(test_path_in(second, "server.key"), test_path_in(first, "ca.key.other")), 0);
    assert_int_equal(rename(test_path_in(first, "ca.key"), test_path_in(first, "ca.key.orig")), 0);
    assert_int_equal(rename(test_path_in(first, "ca.key.other"), test_path_in(first, "ca.key")), 0);
    o.ca_dir = first;
    assert_int_equal(certgen_run(&o), TS_ERR_TLS);
    assert_non_null(strstr(ts_error_detail(TS_ERR_TLS), "is not the key of"));
    /* A leaf is not a CA. */
    out_dir(other_ca, "leaf-as-ca");
    o.ca_dir = other_ca;
    assert_int_equal(mkdir(other_ca, 0700), 0);
    assert_int_equal(rename(test_path_in(second, "client-carol.crt"), test_path_in(other_ca, "ca.crt")),
                     0);
    assert_int_equal(rename(test_path_in(second, "client-carol.key"), test_path_in(other_ca, "ca.key")),
                     0);
    assert_int_equal(certgen_run(&o), TS_ERR_TLS);
    if (strstr(ts_error_detail(TS_ERR_TLS), "not a CA certificate") == NULL)
        fail_msg("%s", ts_error_detail(TS_ERR_TLS));
}

static void test_expired(void **state)
{
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir, .expired = true, .days = 30};
    X509 *x;

    out_dir(dir, "old");
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(dir, "server.crt"));
    assert_true(seconds_from_now(X509_get0_notAfter(x)) < 0);
    assert_true(seconds_from_now(X509_get0_notBefore(x)) < -30L * DAY_S);
    X509_free(x);
    assert_int_equal(verify(test_path_in(dir, "ca.crt"), test_path_in(dir, "server.crt"),
                            X509_PURPOSE_SSL_SERVER), X509_V_ERR_CERT_HAS_EXPIRED);
    /* Only the server certificate is expired; the CA is not. */
    x = read_cert(test_path_in(dir, "ca.crt"));
    assert_true(seconds_from_now(X509_get0_notAfter(x)) > 3000L * DAY_S);
    X509_free(x);
}

static void test_days(void **state)
{
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir, .days = 30};
    X509 *x;

    out_dir(dir, "short");
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(o.out_dir, "server.crt"));
    assert_true(labs(seconds_from_now(X509_get0_notAfter(x)) - 30L * DAY_S) < SLACK_S);
    X509_free(x);
    x = read_cert(test_path_in(o.out_dir, "ca.crt"));
    assert_true(labs(seconds_from_now(X509_get0_notAfter(x)) - 3650L * DAY_S) < SLACK_S);
    X509_free(x);

    /* A CA lives at least as long as the certificates it signs. */
    out_dir(dir, "long");
    o.days = 5000;
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(o.out_dir, "ca.crt"));
    assert_true(labs(seconds_from_now(X509_get0_notAfter(x)) - 5000L * DAY_S) < SLACK_S);
    X509_free(x);
}

static void test_bad_options(void **state)
{
    char dir[TEST_PATH_MAX];
    const char *bad_clients[] = {"../x", "a b", "", "-x", ".hidden", "a/b", "a,b"};
    const char *bad_names[] = {"a b", "a..b", "-a.example", "a.example.", "", "x_y.example",
                               "*", "a.*.example"};
    const char *twice[] = {"dup", "dup"};
    struct certgen_options o = {.out_dir = dir};

    out_dir(dir, "never");
    for (size_t i = 0; i < sizeof(bad_clients) / sizeof(bad_clients[0]); i++) {
        o.clients = &bad_clients[i];
        o.n_clients = 1;
        assert_int_equal(certgen_run(&o), TS_ERR_INVALID);
    }
    o.clients = twice;
    o.n_clients = 2;
    assert_int_equal(certgen_run(&o), TS_ERR_INVALID);
    o.n_clients = 0;
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        o.server_name = bad_names[i];
        assert_int_equal(certgen_run(&o), TS_ERR_INVALID);
    }
    o.server_name = NULL;
    o.days = CERTGEN_MAX_DAYS + 1;
    assert_int_equal(certgen_run(&o), TS_ERR_INVALID);
    o.days = 0;
    o.out_dir = "";
    assert_int_equal(certgen_run(&o), TS_ERR_INVALID);
    /* Nothing was made by any of these. */
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(certgen_check_server_name("*.tcpseal.example"), TS_OK);
    assert_int_equal(certgen_check_server_name("::1"), TS_OK);
    assert_int_equal(certgen_check_client_name("Alice_2.dev-1"), TS_OK);
}

/* The pin as the documented openssl pipeline computes it, independently:
 * DER SubjectPublicKeyInfo, SHA-256, standard base64. */
static void test_pin(void **state)
{
    char dir[TEST_PATH_MAX];
    struct certgen_options o = {.out_dir = dir};
    unsigned char digest[32], *der = NULL, b64[64];
    uint8_t parsed[TLS_PIN_DIGEST_LEN];
    char pin[TLS_PIN_MAX], expected[2 * TLS_PIN_MAX], lower[2 * TLS_PIN_MAX];
    unsigned int dlen = 0;
    X509 *x;
    int len;

    out_dir(dir, "pin");
    assert_int_equal(certgen_run(&o), TS_OK);
    x = read_cert(test_path_in(dir, "server.crt"));
    len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    assert_true(len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)len, digest, &dlen, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_EncodeBlock(b64, digest, 32), 44);
    snprintf(expected, sizeof(expected), "sha256//%s", b64);
    OPENSSL_free(der);

    assert_int_equal(tls_pin_of_cert(x, pin), TS_OK);
    assert_string_equal(pin, expected);
    assert_int_equal(tls_pin_of_cert_file(test_path_in(dir, "server.crt"), pin), TS_OK);
    assert_string_equal(pin, expected);
    assert_int_equal(strlen(pin), TLS_PIN_MAX - 1);
    X509_free(x);

    assert_int_equal(tls_pin_parse(pin, parsed), TS_OK);
    assert_memory_equal(parsed, digest, 32);
    snprintf(lower, sizeof(lower), "SHA256//%s", pin + 8);
    assert_int_equal(tls_pin_parse(lower, parsed), TS_OK);
    assert_int_equal(tls_pin_parse(pin + 8, parsed), TS_ERR_INVALID);
    assert_int_equal(tls_pin_parse("sha256//", parsed), TS_ERR_INVALID);
    assert_int_equal(tls_pin_parse(NULL, parsed), TS_ERR_INVALID);
    snprintf(lower, sizeof(lower), "sha256//%.43s", pin + 8);
    assert_int_equal(tls_pin_parse(lower, parsed), TS_ERR_INVALID);
    snprintf(lower, sizeof(lower), "sha256//%.43s!", pin + 8);
    assert_int_equal(tls_pin_parse(lower, parsed), TS_ERR_INVALID);
    /* URL-safe base64 is a different encoding. */
    assert_int_equal(tls_pin_parse("sha256//____________________________________________",
                                   parsed), TS_ERR_INVALID);

    assert_int_equal(tls_pin_of_cert_file(test_path_in(dir, "missing.crt"), pin), TS_ERR_NOT_FOUND);
    assert_int_equal(tls_pin_of_cert_file(test_path_in(dir, "server.key"), pin), TS_ERR_TLS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_defaults),
        cmocka_unit_test(test_server_names),
        cmocka_unit_test(test_refuse_overwrite),
        cmocka_unit_test(test_symlink_not_followed),
        cmocka_unit_test(test_modes_any_umask),
        cmocka_unit_test(test_ca_dir),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_pin),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
