/*
 * noise_vectors FILE: run the Noise test vectors of a JSON file in the
 * cacophony format (see ../shared/vectors/README.md) through src/noise.
 *
 * Each vector is run as initiator and responder: every message is written
 * by its sender and must equal "ciphertext", read by the other side and
 * must equal "payload"; the handshake hash, when given, must match on both
 * sides. Unsupported protocols are skipped. Prints one line per failing
 * vector and a summary; exits 0 only when nothing failed, 2 on usage or
 * file errors.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "noise/noise.h"

#define EXIT_VECTORS_FAILED 1
#define EXIT_USAGE 2
#define REASON_MAX 200

enum outcome { VECTOR_PASS, VECTOR_FAIL, VECTOR_SKIP };

/* One side of a vector run. */
struct side {
    noise_handshake *hs;
    noise_cipher *send;
    noise_cipher *recv;
};

/* Hex field decoded into a caller buffer. */
struct blob {
    uint8_t data[NOISE_MAX_MESSAGE];
    size_t len;
};

struct run {
    const char *name;
    char reason[REASON_MAX];
    struct side init, resp;
    bool one_way;
    struct blob payload, ciphertext, out;
};

static int failf(struct run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int failf(struct run *run, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
    va_end(ap);
    return -1;
}

/* Decode an optional hex string field. Returns 1 when present, 0 when
 * absent, -1 when malformed (reason set). */
static int hex_field(struct run *run, json_t *obj, const char *key, uint8_t *out,
                     size_t cap, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    const char *hex;

    *len = 0;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return failf(run, "%s is not a string", key);
    hex = json_string_value(v);
    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, len, NULL) != 0)
        return failf(run, "%s is not valid hex of at most %zu bytes", key, cap);
    return 1;
}

/* The optional per-side fields and the setter each feeds. */
static const struct {
    const char *field;
    int (*set)(noise_handshake *hs, const uint8_t *data, size_t len);
} side_fields[] = {
    {"prologue", noise_handshake_set_prologue},
    {"static", noise_handshake_set_static},
    {"ephemeral", noise_handshake_set_ephemeral},
    {"remote_static", noise_handshake_set_remote_static},
};

/* Give one side its prologue, keys and PSKs from the fields with prefix
 * "init_" or "resp_", then start it. */
static int configure(struct run *run, json_t *v, const char *prefix, noise_handshake *hs)
{
    uint8_t buf[NOISE_MAX_MESSAGE];
    char key[32];
    size_t len, i;
    json_t *psks, *psk;
    int rc, present;

    for (i = 0; i < sizeof(side_fields) / sizeof(side_fields[0]); i++) {
        snprintf(key, sizeof(key), "%s%s", prefix, side_fields[i].field);
        if ((present = hex_field(run, v, key, buf, sizeof(buf), &len)) < 0)
            return -1;
        if (present > 0 && (rc = side_fields[i].set(hs, buf, len)) != 0)
            return failf(run, "%s: %s", key, ts_error_detail(rc));
    }
    snprintf(key, sizeof(key), "%spsks", prefix);
    psks = json_object_get(v, key);
    json_array_foreach (psks, i, psk) {
        const char *hex = json_string_value(psk);
        if (hex == NULL ||
            sodium_hex2bin(buf, sizeof(buf), hex, strlen(hex), NULL, &len, NULL) != 0)
            return failf(run, "%s[%zu] is not hex", key, i);
        if ((rc = noise_handshake_add_psk(hs, buf, len)) != 0)
            return failf(run, "%s[%zu]: %s", key, i, ts_error_detail(rc));
    }
    if ((rc = noise_handshake_start(hs)) != 0)
        return failf(run, "%sstart: %s", prefix, ts_error_detail(rc));
    return 0;
}

static int setup(struct run *run, json_t *v, const noise_protocol *proto)
{
    int rc;

    if ((rc = noise_handshake_new(&run->init.hs, proto, NOISE_INITIATOR)) != 0 ||
        (rc = noise_handshake_new(&run->resp.hs, proto, NOISE_RESPONDER)) != 0)
        return failf(run, "new: %s", ts_error_detail(rc));
    if (configure(run, v, "init_", run->init.hs) != 0 ||
        configure(run, v, "resp_", run->resp.hs) != 0)
        return -1;
    return 0;
}

/* Both sides must end with the handshake hash of the vector. */
static int check_hash(struct run *run, json_t *v)
{
    uint8_t want[NOISE_MAX_HASH_LEN], got[NOISE_MAX_HASH_LEN];
    size_t want_len, got_len;
    const struct side *sides[] = {&run->init, &run->resp};
    int present = hex_field(run, v, "handshake_hash", want, sizeof(want), &want_len);

    if (present <= 0)
        return present;
    for (size_t i = 0; i < 2; i++) {
        if (noise_handshake_hash(sides[i]->hs, got, sizeof(got), &got_len) != 0 ||
            got_len != want_len || memcmp(got, want, want_len) != 0)
            return failf(run, "%s handshake hash differs",
                         i == 0 ? "initiator" : "responder");
    }
    return 0;
}

static int split_both(struct run *run, json_t *v)
{
    int rc;

    if (noise_handshake_action(run->init.hs) != NOISE_ACTION_SPLIT ||
        noise_handshake_action(run->resp.hs) != NOISE_ACTION_SPLIT)
        return failf(run, "handshake not complete on both sides");
    if (check_hash(run, v) != 0)
        return -1;
    if ((rc = noise_handshake_split(run->init.hs, &run->init.send, &run->init.recv)) != 0 ||
        (rc = noise_handshake_split(run->resp.hs, &run->resp.send, &run->resp.recv)) != 0)
        return failf(run, "split: %s", ts_error_detail(rc));
    return 0;
}

/* Send message k from its sender to the other side, in the handshake or in
 * transport, and compare both ends with the vector. */
static int exchange(struct run *run, size_t k, bool handshake)
{
    bool from_init = run->one_way || k % 2 == 0;
    struct side *tx = from_init ? &run->init : &run->resp;
    struct side *rx = from_init ? &run->resp : &run->init;
    struct blob *out = &run->out;
    uint8_t plain[NOISE_MAX_MESSAGE];
    size_t plain_len = 0;
    int rc;

    if (handshake) {
        rc = noise_handshake_write(tx->hs, run->payload.data, run->payload.len, out->data,
                                   sizeof(out->data), &out->len);
    } else if (tx->send == NULL || rx->recv == NULL) {
        return failf(run, "message %zu: no transport cipher for this direction", k);
    } else {
        rc = noise_cipher_encrypt(tx->send, NULL, 0, run->payload.data, run->payload.len,
                                  out->data);
        out->len = run->payload.len + NOISE_TAG_LEN;
    }
    if (rc != 0)
        return failf(run, "message %zu: write: %s", k, ts_error_detail(rc));
    if (out->len != run->ciphertext.len ||
        memcmp(out->data, run->ciphertext.data, out->len) != 0)
        return failf(run, "message %zu: ciphertext differs", k);

    if (handshake) {
        rc = noise_handshake_read(rx->hs, out->data, out->len, plain, sizeof(plain),
                                  &plain_len);
    } else {
        rc = noise_cipher_decrypt(rx->recv, NULL, 0, out->data, out->len, plain);
        plain_len = out->len - NOISE_TAG_LEN;
    }
    if (rc != 0)
        return failf(run, "message %zu: read: %s", k, ts_error_detail(rc));
    if (plain_len != run->payload.len || memcmp(plain, run->payload.data, plain_len) != 0)
        return failf(run, "message %zu: payload differs", k);
    return 0;
}

static int run_messages(struct run *run, json_t *v)
{
    json_t *messages = json_object_get(v, "messages"), *m;
    bool handshake = true;
    size_t k;

    if (!json_is_array(messages))
        return failf(run, "messages missing");
    json_array_foreach (messages, k, m) {
        if (hex_field(run, m, "payload", run->payload.data, sizeof(run->payload.data),
                      &run->payload.len) != 1 ||
            hex_field(run, m, "ciphertext", run->ciphertext.data,
                      sizeof(run->ciphertext.data), &run->ciphertext.len) != 1)
            return run->reason[0] ? -1 : failf(run, "message %zu lacks a field", k);
        if (handshake && noise_handshake_action(run->init.hs) == NOISE_ACTION_SPLIT) {
            if (split_both(run, v) != 0)
                return -1;
            handshake = false;
        }
        if (exchange(run, k, handshake) != 0)
            return -1;
    }
    /* A vector with no transport messages still ends its handshake. */
    if (handshake && noise_handshake_action(run->init.hs) == NOISE_ACTION_SPLIT)
        return split_both(run, v);
    if (handshake)
        return failf(run, "vector ends before the handshake does");
    return 0;
}

static void side_free(struct side *s)
{
    noise_handshake_free(s->hs);
    noise_cipher_free(s->send);
    noise_cipher_free(s->recv);
}

static enum outcome run_vector(struct run *run, json_t *v)
{
    noise_protocol proto;
    enum outcome result = VECTOR_FAIL;
    int rc;

    run->name = json_string_value(json_object_get(v, "protocol_name"));
    if (run->name == NULL) {
        run->name = "(unnamed)";
        failf(run, "protocol_name missing");
        return VECTOR_FAIL;
    }
    rc = noise_protocol_parse(run->name, &proto);
    if (rc == TS_ERR_UNSUPPORTED)
        return VECTOR_SKIP;
    if (rc != 0) {
        failf(run, "%s", ts_error_detail(rc));
        return VECTOR_FAIL;
    }
    run->one_way = noise_protocol_is_one_way(&proto);
    if (setup(run, v, &proto) == 0 && run_messages(run, v) == 0)
        result = VECTOR_PASS;
    side_free(&run->init);
    side_free(&run->resp);
    return result;
}

static int run_file(json_t *vectors)
{
    static struct run run; /* large buffers: keep them off the stack */
    size_t counts[3] = {0, 0, 0};
    json_t *v;
    size_t i;

    json_array_foreach (vectors, i, v) {
        memset(&run, 0, sizeof(run));
        enum outcome o = run_vector(&run, v);
        counts[o]++;
        if (o == VECTOR_FAIL)
            printf("FAIL %s: %s\n", run.name, run.reason);
    }
    printf("%zu passed, %zu failed, %zu skipped\n", counts[VECTOR_PASS],
           counts[VECTOR_FAIL], counts[VECTOR_SKIP]);
    return counts[VECTOR_FAIL] == 0 ? 0 : EXIT_VECTORS_FAILED;
}

int main(int argc, char **argv)
{
    json_error_t err;
    json_t *root, *vectors;
    int status;

    if (argc != 2) {
        fprintf(stderr, "usage: noise_vectors FILE\n");
        return EXIT_USAGE;
    }
    if ((root = json_load_file(argv[1], 0, &err)) == NULL) {
        if (err.line > 0)
            fprintf(stderr, "noise_vectors: %s:%d: %s\n", argv[1], err.line, err.text);
        else
            fprintf(stderr, "noise_vectors: %s\n", err.text);
        return EXIT_USAGE;
    }
    vectors = json_object_get(root, "vectors");
    if (!json_is_array(vectors)) {
        fprintf(stderr, "noise_vectors: %s: no \"vectors\" array\n", argv[1]);
        json_decref(root);
        return EXIT_USAGE;
    }
    status = run_file(vectors);
    json_decref(root);
    return status;
}
