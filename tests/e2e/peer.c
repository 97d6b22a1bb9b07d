/*
 * ts_e2e_peer: a scriptable client for end-to-end tests that need what the
 * one-shot tcp_client does not do: hold a connection open, stop halfway
 * through a handshake, or send what a well-behaved client never sends.
 *
 *   ts_e2e_peer hold HOST PORT           handshake, then stay connected
 *   ts_e2e_peer stall HOST PORT          send the hello, then nothing
 *   ts_e2e_peer oversize HOST PORT SIZE  send one SIZE-byte record, then a request
 *
 * It reports events on stdout, one line each, flushed at once:
 *   established SUITE | rejected CODE TEXT | closed CODE TEXT |
 *   message TYPE REASON_CODE CORRELATION_ID PAYLOAD | eof | error TEXT
 * and exits when the server closes the connection.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tcpseal/envelope.h>
#include <tcpseal/identity.h>
#include <tcpseal/protocol.h>

#include "channel/channel.h"
#include "util/dbuf.h"

struct peer {
    int fd;
    ts_identity *id;
    char fingerprint[TS_FINGERPRINT_MAX];
    struct channel_credentials creds;
    struct dbuf out;
    channel *ch;
    bool stall;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int fd = -1;

    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Error envelopes carry {"code":N,...}: report the code for tests. */
static int error_code_of(const ts_envelope *env)
{
    size_t len;
    const uint8_t *p = ts_envelope_payload(env, &len);
    json_t *obj = json_loadb((const char *)p, len, 0, NULL);
    int code = (int)json_integer_value(json_object_get(obj, "code"));

    json_decref(obj);
    return code;
}

static int on_message(void *arg, uint8_t *data, size_t len)
{
    ts_envelope *env;
    size_t plen;
    const uint8_t *payload;

    if (ts_envelope_decode(data, len, &env) != TS_OK) {
        say("error undecodable message");
        return TS_OK;
    }
    payload = ts_envelope_payload(env, &plen);
    say("message %s %d %llu %.*s", ts_msg_type_name(ts_envelope_type(env)),
        ts_envelope_type(env) == TS_MSG_ERROR ? error_code_of(env) : 0,
        (unsigned long long)ts_envelope_correlation_id(env), (int)plen,
        (const char *)payload);
    ts_envelope_free(env);
    return TS_OK;
}

static int on_established(void *arg)
{
    struct peer *p = arg;
    say("established %s", channel_suite(p->ch));
    return TS_OK;
}

static void on_peer_close(void *arg, uint16_t reason, const char *text)
{
    struct peer *p = arg;
    say("%s %u %s", channel_get_state(p->ch) == CHANNEL_CLOSED &&
                            channel_suite(p->ch) == NULL ? "rejected" : "closed",
        reason, text);
}

static int flush_out(struct peer *p)
{
    while (dbuf_size(&p->out) > 0) {
        ssize_t n = send(p->fd, dbuf_ptr(&p->out), dbuf_size(&p->out), MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        dbuf_consume(&p->out, (size_t)n);
    }
    return 0;
}

static int peer_open(struct peer *p, const char *host, const char *port)
{
    struct channel_config cfg = {.role = NOISE_INITIATOR, .credentials = &p->creds,
                                 .max_message = 64u * 1024 * 1024};
    struct channel_callbacks cb = {.arg = p, .on_message = on_message,
                                   .on_established = on_established,
                                   .on_peer_close = on_peer_close};
    struct channel_sink sink;

    if ((p->fd = connect_to(host, port)) < 0) {
        say("error cannot connect to %s:%s", host, port);
        return -1;
    }
    if (ts_identity_generate(&p->id) != TS_OK ||
        channel_credentials_init(&p->creds, p->id) != TS_OK)
        return -1;
    ts_identity_fingerprint(p->id, p->fingerprint);
    dbuf_init(&p->out, 1u << 27);
    sink = channel_sink_dbuf(&p->out);
    if (channel_new(&p->ch, &cfg, &cb, &sink) != TS_OK || channel_start(p->ch) != TS_OK)
        return -1;
    return flush_out(p);
}

/* Read and react until the server hangs up. */
static void peer_run(struct peer *p)
{
    uint8_t buf[65536];

    for (;;) {
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            say("eof");
            return;
        }
        if (p->stall)
            continue;
        if (channel_feed(p->ch, buf, (size_t)n) != TS_OK &&
            channel_get_state(p->ch) == CHANNEL_FAILED) {
            say("error %s", ts_error_detail(TS_ERR_PROTOCOL));
            return;
        }
        if (flush_out(p) != 0)
            return;
    }
}

/* Complete the handshake, then send `size` bytes as one record and a valid
 * request, to show the connection survives the refusal. */
static void peer_oversize(struct peer *p, size_t size)
{
    uint8_t buf[65536], *big = calloc(1, size), *enc;
    ts_envelope *env;
    size_t len;

    while (channel_get_state(p->ch) < CHANNEL_ESTABLISHED) {
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0 || channel_feed(p->ch, buf, (size_t)n) != TS_OK || flush_out(p) != 0)
            return;
    }
    if (big == NULL || channel_send(p->ch, big, size) != TS_OK)
        say("error cannot send");
    free(big);
    if (ts_envelope_new(&env, TS_MSG_REQUEST) == TS_OK) {
        ts_envelope_set_id(env, (uint64_t)time(NULL) * 1000);
        ts_envelope_set_sender(env, p->fingerprint);
        ts_envelope_set_payload(env, "still here", 10);
        if (ts_envelope_seal(env, NULL) == TS_OK && ts_envelope_encode(env, &enc, &len) == TS_OK) {
            channel_send(p->ch, enc, len);
            free(enc);
        }
        ts_envelope_free(env);
    }
    flush_out(p);
}

int main(int argc, char **argv)
{
    struct peer p = {0};

    if (argc < 4) {
        fprintf(stderr, "usage: ts_e2e_peer hold|stall|oversize HOST PORT [SIZE]\n");
        return 2;
    }
    p.stall = strcmp(argv[1], "stall") == 0;
    if (peer_open(&p, argv[2], argv[3]) != 0)
        return 1;
    if (strcmp(argv[1], "oversize") == 0 && argc > 4)
        peer_oversize(&p, strtoul(argv[4], NULL, 10));
    else if (p.stall)
        say("stalling");
    peer_run(&p);
    channel_free(p.ch);
    channel_credentials_wipe(&p.creds);
    ts_identity_free(p.id);
    dbuf_free(&p.out);
    close(p.fd);
    return 0;
}
