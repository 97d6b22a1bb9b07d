/*
 * Regenerates the worked example of docs/protocol.md from fixed keys and
 * compares every hex block in the document with what the code produces, so
 * the document cannot drift from the implementation.
 *
 * With TS_PRINT_EXAMPLE=1 in the environment the test prints the blocks in
 * the document's format instead of failing, for updating the document after
 * an intended protocol change.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>

#include "channel/channel_internal.h"

#define EXAMPLE_MAX 16
#define EXAMPLE_TIMESTAMP 1727181296789ull /* 2024-09-24T12:34:56.789Z */

struct block {
    const char *name;
    uint8_t *data;
    size_t len;
};

struct example {
    struct block blocks[32];
    size_t n;
};

struct side {
    ts_identity *id;
    struct channel_credentials creds;
    struct dbuf out;
    channel *ch;
    uint8_t ephemeral[32];
    struct dbuf received;
};

static void add_block(struct example *ex, const char *name, const uint8_t *p, size_t n)
{
    struct block *b = &ex->blocks[ex->n++];
    b->name = name;
    b->data = malloc(n);
    memcpy(b->data, p, n);
    b->len = n;
}

static void fill(uint8_t *p, uint8_t start)
{
    for (int i = 0; i < 32; i++)
        p[i] = (uint8_t)(start + i);
}

static int keep_message(void *arg, uint8_t *data, size_t len)
{
    struct side *s = arg;
    dbuf_reset(&s->received);
    return dbuf_append(&s->received, data, len);
}

static void side_init(struct side *s, noise_role role, uint8_t seed_base)
{
    uint8_t seed[32], stat[32];
    struct channel_config cfg = {.role = role, .credentials = &s->creds,
                                 .test_ephemeral = s->ephemeral};
    struct channel_callbacks cb = {.arg = s, .on_message = keep_message};
    struct channel_sink sink;

    memset(s, 0, sizeof(*s));
    fill(seed, seed_base);
    fill(stat, (uint8_t)(seed_base + 0x40));
    fill(s->ephemeral, (uint8_t)(seed_base + 0x80));
    assert_int_equal(ts_identity_from_seed(seed, &s->id), TS_OK);
    assert_int_equal(channel_credentials_from_static(&s->creds, s->id, stat), TS_OK);
    dbuf_init(&s->out, 1 << 20);
    dbuf_init(&s->received, 1 << 20);
    sink = channel_sink_dbuf(&s->out);
    assert_int_equal(channel_new(&s->ch, &cfg, &cb, &sink), TS_OK);
}

static void side_free(struct side *s)
{
    channel_free(s->ch);
    channel_credentials_wipe(&s->creds);
    ts_identity_free(s->id);
    dbuf_free(&s->out);
    dbuf_free(&s->received);
}

/* Record what `from` sent under `name`, then deliver it. */
static void step(struct example *ex, const char *name, struct side *from, struct side *to)
{
    add_block(ex, name, dbuf_ptr(&from->out), dbuf_size(&from->out));
    assert_int_equal(channel_feed(to->ch, dbuf_ptr(&from->out), dbuf_size(&from->out)), TS_OK);
    dbuf_reset(&from->out);
}

static ts_envelope *make_envelope(ts_msg_type type, uint64_t id, uint64_t corr,
                                  uint64_t ts, const ts_identity *signer)
{
    ts_envelope *env;
    char fp[TS_FINGERPRINT_MAX];

    ts_identity_fingerprint(signer, fp);
    assert_int_equal(ts_envelope_new(&env, type), TS_OK);
    ts_envelope_set_id(env, id);
    ts_envelope_set_correlation_id(env, corr);
    ts_envelope_set_timestamp(env, ts);
    assert_int_equal(ts_envelope_set_sender(env, fp), TS_OK);
    assert_int_equal(ts_envelope_set_content_type(env, "text/plain; charset=utf-8"), TS_OK);
    assert_int_equal(ts_envelope_set_payload(env, "Hello, Server!", 14), TS_OK);
    assert_int_equal(ts_envelope_seal(env, signer), TS_OK);
    return env;
}

static void send_envelope(struct example *ex, const char *env_name, const char *frame_name,
                          ts_envelope *env, struct side *from, struct side *to)
{
    uint8_t *enc;
    size_t len;

    assert_int_equal(ts_envelope_encode(env, &enc, &len), TS_OK);
    add_block(ex, env_name, enc, len);
    assert_int_equal(channel_send(from->ch, enc, len), TS_OK);
    step(ex, frame_name, from, to);
    assert_int_equal(dbuf_size(&to->received), len);
    assert_memory_equal(dbuf_ptr(&to->received), enc, len);
    free(enc);
}

static void build_example(struct example *ex)
{
    struct side c, s;
    ts_envelope *req, *resp;
    const uint8_t *h;
    size_t hlen;

    side_init(&c, NOISE_INITIATOR, 0x00);
    side_init(&s, NOISE_RESPONDER, 0x20);
    add_block(ex, "client_identity_public", ts_identity_public_key(c.id), 32);
    add_block(ex, "client_static_public", c.creds.static_pub, 32);
    add_block(ex, "client_binding_signature", c.creds.binding_sig, 64);
    add_block(ex, "server_identity_public", ts_identity_public_key(s.id), 32);
    add_block(ex, "server_static_public", s.creds.static_pub, 32);
    add_block(ex, "server_binding_signature", s.creds.binding_sig, 64);

    assert_int_equal(channel_start(c.ch), TS_OK);
    step(ex, "client_hello", &c, &s);
    step(ex, "server_hello", &s, &c);
    step(ex, "handshake_message_1", &c, &s);
    step(ex, "handshake_message_2", &s, &c);
    step(ex, "handshake_message_3", &c, &s);
    assert_int_equal(channel_get_state(c.ch), CHANNEL_ESTABLISHED);
    assert_int_equal(channel_get_state(s.ch), CHANNEL_ESTABLISHED);
    h = channel_handshake_hash(c.ch, &hlen);
    add_block(ex, "handshake_hash", h, hlen);

    req = make_envelope(TS_MSG_REQUEST, 1, 0, EXAMPLE_TIMESTAMP, c.id);
    add_block(ex, "request_hash", ts_envelope_hash(req), TS_ENVELOPE_HASH_LEN);
    add_block(ex, "request_signature", ts_envelope_signature(req), TS_SIGNATURE_LEN);
    send_envelope(ex, "request_envelope", "request_frame", req, &c, &s);

    resp = make_envelope(TS_MSG_RESPONSE, 1, 1, EXAMPLE_TIMESTAMP + 2, s.id);
    send_envelope(ex, "response_envelope", "response_frame", resp, &s, &c);

    ts_envelope_free(req);
    ts_envelope_free(resp);
    side_free(&c);
    side_free(&s);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The hex of a block in the document: after "<!-- example:NAME -->", the
 * next fenced block; whitespace ignored. */
static size_t doc_block(const char *doc, const char *name, uint8_t *out, size_t cap)
{
    char marker[96];
    const char *start, *open, *close;
    size_t len = 0;

    snprintf(marker, sizeof(marker), "<!-- example:%s -->", name);
    start = strstr(doc, marker);
    if (start == NULL)
        fail_msg("docs/protocol.md has no block %s", name);
    open = strstr(start, "```");
    assert_non_null(open);
    open = strchr(open, '\n');
    assert_non_null(open);
    close = strstr(open, "```");
    assert_non_null(close);
    if (sodium_hex2bin(out, cap, open, (size_t)(close - open), " \n", &len, NULL) != 0)
        fail_msg("block %s in docs/protocol.md is not valid hex", name);
    return len;
}

static void print_block(const struct block *b)
{
    printf("<!-- example:%s -->\n```\n", b->name);
    for (size_t i = 0; i < b->len; i++)
        printf("%02x%s", b->data[i], (i % 32 == 31 || i + 1 == b->len) ? "\n" : "");
    printf("```\n\n");
}

static void test_worked_example_matches_document(void **state)
{
    struct example ex = {0};
    const char *print = getenv("TS_PRINT_EXAMPLE");
    char *doc;
    uint8_t *buf = malloc(1 << 16);

    build_example(&ex);
    if (print != NULL && strcmp(print, "1") == 0) {
        for (size_t i = 0; i < ex.n; i++)
            print_block(&ex.blocks[i]);
    } else {
        doc = read_file(TS_SOURCE_DIR "/docs/protocol.md");
        for (size_t i = 0; i < ex.n; i++) {
            size_t n = doc_block(doc, ex.blocks[i].name, buf, 1 << 16);
            if (n != ex.blocks[i].len || memcmp(buf, ex.blocks[i].data, n) != 0)
                fail_msg("docs/protocol.md block %s differs from the code "
                         "(run with TS_PRINT_EXAMPLE=1 to see the current value)",
                         ex.blocks[i].name);
        }
        free(doc);
    }
    for (size_t i = 0; i < ex.n; i++)
        free(ex.blocks[i].data);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example_matches_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
