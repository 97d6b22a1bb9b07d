/*
 * ts_e2e_peer: a scriptable client for end-to-end tests that need what the
 * one-shot tcp_client does not do: hold a connection open, stop halfway
 * through a handshake, or send what a well-behaved client never sends.
 *
 *   ts_e2e_peer hold HOST PORT           handshake, then stay connected
 *   ts_e2e_peer stall HOST PORT          send the hello, then nothing
 *   ts_e2e_peer oversize HOST PORT SIZE  send one SIZE-byte record, then a request
 *   ts_e2e_peer control HOST PORT        handshake, then act on commands read
 *                                        from stdin, one a line:
 *                                        "request SIZE [COUNT]" sends COUNT
 *                                        requests of SIZE payload bytes
 *   ts_e2e_peer flood HOST PORT TOTAL SIZE
 *                                        with small socket buffers, send
 *                                        requests of SIZE payload bytes until
 *                                        TOTAL bytes are sent, reading
 *                                        nothing meanwhile; then read
 *   ts_e2e_peer deaf HOST PORT           handshake, then read but never
 *                                        answer (no pongs)
 *   ts_e2e_peer tamper HOST PORT         handshake, then send a request whose
 *                                        frame has one ciphertext bit flipped
 *   ts_e2e_peer badhandshake HOST PORT   flip one bit of handshake message 3
 *
 * It reports events on stdout, one line each, flushed at once:
 *   established SUITE | rejected CODE TEXT | closed CODE TEXT |
 *   message TYPE REASON_CODE CORRELATION_ID PAYLOAD | sent ID... |
 *   flooded BYTES REQUESTS | responses N | eof | error TEXT
 * (flood reports Responses only by their count, in "responses N" before
 * "eof") and exits when the server closes the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
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

/* Socket buffers of the flood mode: small, so that what the kernel holds
 * on this side is negligible next to the server's output limit. */
#define FLOOD_SOCKET_BUFFER (16 * 1024)
/* Largest request payload a command may ask for. */
#define MAX_REQUEST_PAYLOAD (16u * 1024u * 1024u)
#define COMMAND_LINE_MAX 256

enum peer_mode {
    MODE_HOLD,
    MODE_STALL,
    MODE_OVERSIZE,
    MODE_CONTROL,
    MODE_FLOOD,
    MODE_DEAF,
    MODE_TAMPER,
    MODE_BAD_HANDSHAKE,
};

static const struct {
    const char *name;
    enum peer_mode mode;
    int extra_args; /* after HOST PORT */
} modes[] = {
    {"hold", MODE_HOLD, 0},         {"stall", MODE_STALL, 0},
    {"oversize", MODE_OVERSIZE, 1}, {"control", MODE_CONTROL, 0},
    {"flood", MODE_FLOOD, 2},       {"deaf", MODE_DEAF, 0},
    {"tamper", MODE_TAMPER, 0},     {"badhandshake", MODE_BAD_HANDSHAKE, 0},
};

struct peer {
    int fd;
    enum peer_mode mode;
    ts_identity *id;
    char fingerprint[TS_FINGERPRINT_MAX];
    struct channel_credentials creds;
    struct dbuf out;
    channel *ch;
    uint64_t next_id;
    unsigned long long responses; /* flood: Responses counted, not printed */
    bool muted;                   /* deaf: established, so nothing more is sent */
    bool handshake_tampered;      /* badhandshake: message 3 already spoiled */
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

/* Connect; with bufsize > 0 both socket buffers are set first (before
 * connect, so the advertised window is small from the start). */
static int connect_to(const char *host, const char *port, int bufsize)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int fd = -1;

    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && bufsize > 0 &&
            (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)) != 0 ||
             setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)) != 0)) {
            close(fd);
            fd = -1;
            continue;
        }
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
    struct peer *p = arg;
    ts_envelope *env;
    size_t plen;
    const uint8_t *payload;

    if (ts_envelope_decode(data, len, &env) != TS_OK) {
        say("error undecodable message");
        return TS_OK;
    }
    if (p->mode == MODE_FLOOD && ts_envelope_type(env) == TS_MSG_RESPONSE) {
        p->responses++;
        ts_envelope_free(env);
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

/* What the mode does to output before it leaves: a deaf peer sends
 * nothing once established; a bad handshake spoils message 3 (the last
 * byte is in its tag, so the server's decryption must fail). */
static int flush_filtered(struct peer *p)
{
    bool established = channel_get_state(p->ch) == CHANNEL_ESTABLISHED;

    if (p->muted) {
        dbuf_reset(&p->out);
        return 0;
    }
    if (p->mode == MODE_BAD_HANDSHAKE && established && !p->handshake_tampered &&
        dbuf_size(&p->out) > 0) {
        dbuf_ptr(&p->out)[dbuf_size(&p->out) - 1] ^= 0x01;
        p->handshake_tampered = true;
    }
    if (flush_out(p) != 0)
        return -1;
    /* Message 3 has left; from now on a deaf peer keeps quiet. */
    if (p->mode == MODE_DEAF && established)
        p->muted = true;
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

    p->fd = connect_to(host, port, p->mode == MODE_FLOOD ? FLOOD_SOCKET_BUFFER : 0);
    if (p->fd < 0) {
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

/* Read and react until the handshake completes; 0 once established. */
static int peer_handshake(struct peer *p)
{
    uint8_t buf[65536];

    while (channel_get_state(p->ch) < CHANNEL_ESTABLISHED) {
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0 || channel_feed(p->ch, buf, (size_t)n) != TS_OK || flush_out(p) != 0)
            return -1;
    }
    return channel_get_state(p->ch) == CHANNEL_ESTABLISHED ? 0 : -1;
}

/* Queue one Request of `size` payload bytes with the next id; its id, or
 * 0 when it could not be made or queued. */
static uint64_t queue_request(struct peer *p, size_t size)
{
    uint8_t *payload = malloc(size > 0 ? size : 1), *enc = NULL;
    uint64_t id = p->next_id++;
    ts_envelope *env = NULL;
    size_t len;
    int rc = TS_ERR_NOMEM;

    if (payload == NULL)
        return 0;
    memset(payload, 'x', size);
    if (size >= 10)
        memcpy(payload, "still here", 10); /* tests look for this text */
    if ((rc = ts_envelope_new(&env, TS_MSG_REQUEST)) == TS_OK) {
        ts_envelope_set_id(env, id);
        if ((rc = ts_envelope_set_sender(env, p->fingerprint)) == TS_OK &&
            (rc = ts_envelope_set_payload(env, payload, size)) == TS_OK &&
            (rc = ts_envelope_seal(env, NULL)) == TS_OK &&
            (rc = ts_envelope_encode(env, &enc, &len)) == TS_OK)
            rc = channel_send(p->ch, enc, len);
    }
    free(enc);
    free(payload);
    ts_envelope_free(env);
    if (rc != TS_OK) {
        say("error cannot send a request: %s", ts_error_detail(rc));
        return 0;
    }
    return id;
}

/* One stdin command; -1 ends the peer. */
static int run_command(struct peer *p, char *line)
{
    unsigned long size = 0, count = 1;
    char ids[COMMAND_LINE_MAX] = "";
    size_t used = 0;

    line[strcspn(line, "\r")] = '\0';
    if (sscanf(line, "request %lu %lu", &size, &count) < 1 || count == 0 ||
        size > MAX_REQUEST_PAYLOAD) {
        say("error unknown command: %s", line);
        return 0;
    }
    for (unsigned long i = 0; i < count; i++) {
        uint64_t id = queue_request(p, size);
        int n;

        if (id == 0)
            return -1;
        n = snprintf(ids + used, sizeof(ids) - used, " %llu", (unsigned long long)id);
        if (n > 0 && (size_t)n < sizeof(ids) - used)
            used += (size_t)n;
    }
    if (flush_out(p) != 0)
        return -1;
    say("sent%s", ids);
    return 0;
}

/* Commands arrive on stdin in arbitrary chunks: act on each complete
 * line. -1 when stdin has ended or a command failed. */
static int read_commands(struct peer *p, char *pending, size_t *used)
{
    ssize_t n = read(STDIN_FILENO, pending + *used, COMMAND_LINE_MAX - 1 - *used);
    char *nl;

    if (n <= 0)
        return -1;
    *used += (size_t)n;
    pending[*used] = '\0';
    while ((nl = memchr(pending, '\n', *used)) != NULL) {
        size_t len = (size_t)(nl - pending) + 1;

        *nl = '\0';
        if (run_command(p, pending) != 0)
            return -1;
        memmove(pending, pending + len, *used - len);
        *used -= len;
        pending[*used] = '\0';
    }
    if (*used == COMMAND_LINE_MAX - 1) {
        say("error command line too long");
        return -1;
    }
    return 0;
}

/* Read and react until the server hangs up; with commands, also act on
 * lines from stdin (until stdin ends). */
static void peer_run(struct peer *p, bool commands)
{
    struct pollfd fds[2] = {{.fd = p->fd, .events = POLLIN},
                            {.fd = STDIN_FILENO, .events = POLLIN}};
    uint8_t buf[65536];
    char pending[COMMAND_LINE_MAX];
    size_t used = 0;
    ssize_t n;

    for (;;) {
        if (poll(fds, commands ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("error poll: %s", strerror(errno));
            return;
        }
        /* Once stdin ends the peer goes on holding the connection. */
        if (commands && (fds[1].revents & (POLLIN | POLLHUP)) &&
            read_commands(p, pending, &used) != 0)
            commands = false;
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
            continue;
        n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            if (p->mode == MODE_FLOOD)
                say("responses %llu", p->responses);
            say("eof");
            return;
        }
        if (p->mode == MODE_STALL)
            continue;
        if (channel_feed(p->ch, buf, (size_t)n) != TS_OK &&
            channel_get_state(p->ch) == CHANNEL_FAILED) {
            say("error %s", ts_error_detail(TS_ERR_PROTOCOL));
            return;
        }
        if (flush_filtered(p) != 0)
            return;
    }
}

/* Complete the handshake, then send `size` bytes as one record and a valid
 * request, to show the connection survives the refusal. */
static void peer_oversize(struct peer *p, size_t size)
{
    uint8_t *big = calloc(1, size > 0 ? size : 1);

    if (peer_handshake(p) != 0) {
        free(big);
        return;
    }
    if (big == NULL || channel_send(p->ch, big, size) != TS_OK)
        say("error cannot send");
    free(big);
    queue_request(p, 10);
    flush_out(p);
}

/* Send requests without reading a byte of the answers, until `total`
 * bytes are out or the server stops taking them. */
static void peer_flood(struct peer *p, unsigned long long total, size_t size)
{
    unsigned long long sent = 0, requests = 0;

    if (peer_handshake(p) != 0)
        return;
    while (sent < total) {
        size_t before = dbuf_size(&p->out);

        if (queue_request(p, size) == 0)
            break;
        sent += dbuf_size(&p->out) - before;
        requests++;
        if (flush_out(p) != 0)
            break;
    }
    say("flooded %llu %llu", sent, requests);
}

/* A valid request whose frame then has one ciphertext bit flipped. */
static void peer_tamper(struct peer *p)
{
    if (peer_handshake(p) != 0 || queue_request(p, 10) == 0)
        return;
    dbuf_ptr(&p->out)[dbuf_size(&p->out) - 1] ^= 0x01;
    flush_out(p);
}

static int parse_mode(const char *name, int argc)
{
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(name, modes[i].name) == 0)
            return argc >= 4 + modes[i].extra_args ? (int)modes[i].mode : -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct peer p = {0};
    int mode = argc >= 4 ? parse_mode(argv[1], argc) : -1;

    if (mode < 0) {
        fprintf(stderr, "usage: ts_e2e_peer hold|stall|control|deaf|tamper|badhandshake "
                        "HOST PORT\n       ts_e2e_peer oversize HOST PORT SIZE\n"
                        "       ts_e2e_peer flood HOST PORT TOTAL SIZE\n");
        return 2;
    }
    p.mode = (enum peer_mode)mode;
    /* Ids in the millisecond clock's range, like the real client's. */
    p.next_id = (uint64_t)time(NULL) * 1000;
    if (peer_open(&p, argv[2], argv[3]) != 0)
        return 1;
    switch (p.mode) {
    case MODE_OVERSIZE:
        peer_oversize(&p, strtoul(argv[4], NULL, 10));
        break;
    case MODE_FLOOD:
        peer_flood(&p, strtoull(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
        break;
    case MODE_TAMPER:
        peer_tamper(&p);
        break;
    case MODE_STALL:
        say("stalling");
        break;
    default:
        break;
    }
    peer_run(&p, p.mode == MODE_CONTROL);
    channel_free(p.ch);
    channel_credentials_wipe(&p.creds);
    ts_identity_free(p.id);
    dbuf_free(&p.out);
    close(p.fd);
    return 0;
}
