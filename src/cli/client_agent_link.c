/*
 * The commands' side of the agent's control socket: connect, send one
 * request line, read answer lines (docs/agent.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>
#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "client/conn.h"
#include "util/clock.h"

#define LINK_READ_CHUNK 65536u

int agent_not_running(bool json)
{
    if (json) {
        printf("{\"running\":false}\n");
        fflush(stdout);
    }
    cli_error(CLIENT_PROGRAM, "agent not running (start it with '%s start')", CLIENT_PROGRAM);
    return EXIT_NOT_RUNNING;
}

int agent_link_open(struct agent_link *l, const char *dir)
{
    char *path = client_state_path(dir, AGENT_SOCKET_FILE);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd, e;

    l->fd = -1;
    dbuf_init(&l->in, AGENT_MAX_LINE + 1);
    if (path == NULL)
        return EXIT_LOCAL_STATE;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        cli_error(CLIENT_PROGRAM, "control socket path too long: %s", path);
        free(path);
        return EXIT_LOCAL_STATE;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    free(path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        cli_error(CLIENT_PROGRAM, "cannot create a socket: %s", strerror(errno));
        return EXIT_FAILURE_GENERIC;
    }
    /* A UNIX connect does not wait for the agent's loop. No socket, or a
     * socket nobody listens on (left by a killed agent): not running. */
    if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
        e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
            return EXIT_NOT_RUNNING;
        cli_error(CLIENT_PROGRAM, "cannot reach the agent at %s: %s", sun.sun_path,
                  strerror(e));
        return EXIT_FAILURE_GENERIC;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot configure the agent socket: %s", strerror(errno));
        close(fd);
        return EXIT_FAILURE_GENERIC;
    }
    l->fd = fd;
    return EXIT_OK;
}

void agent_link_close(struct agent_link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    dbuf_free(&l->in);
}

/* 1 ready, 0 deadline passed, -1 error. */
static int link_wait(int fd, short events, uint64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r, timeout;

    for (;;) {
        if ((timeout = clock_poll_timeout(deadline)) == 0)
            return 0;
        r = poll(&p, 1, timeout);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

int agent_link_send(struct agent_link *l, json_t *req, uint64_t deadline_ms)
{
    char *text = json_dumps(req, JSON_COMPACT);
    size_t len, off = 0;
    int status = EXIT_OK;
    ssize_t n;

    json_decref(req);
    if (text == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        return EXIT_FAILURE_GENERIC;
    }
    len = strlen(text);
    text[len++] = '\n'; /* replaces the NUL: written by length below */
    while (off < len && status == EXIT_OK) {
        n = send(l->fd, text + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (link_wait(l->fd, POLLOUT, deadline_ms) != 1)
                status = EXIT_TIMEOUT;
        } else {
            cli_error(CLIENT_PROGRAM, "cannot talk to the agent: %s", strerror(errno));
            status = EXIT_FAILURE_GENERIC;
        }
    }
    sodium_memzero(text, len);
    free(text);
    if (status == EXIT_TIMEOUT)
        cli_error(CLIENT_PROGRAM, "the agent did not take the request in time");
    return status;
}

/* A whole line in the buffer: parse it. */
static int line_take(struct agent_link *l, uint8_t *nl, json_t **out)
{
    size_t len = (size_t)(nl - dbuf_ptr(&l->in));
    json_t *doc = json_loadb((const char *)dbuf_ptr(&l->in), len, 0, NULL);

    dbuf_consume(&l->in, len + 1);
    if (!json_is_object(doc)) {
        json_decref(doc);
        cli_error(CLIENT_PROGRAM, "the agent sent something that is not a JSON object");
        return EXIT_PROTOCOL;
    }
    *out = doc;
    return EXIT_OK;
}

int agent_link_read(struct agent_link *l, uint64_t deadline_ms, json_t **out)
{
    uint8_t *nl, *dst;
    ssize_t n;
    int r;

    *out = NULL;
    for (;;) {
        if (dbuf_size(&l->in) > 0 &&
            (nl = memchr(dbuf_ptr(&l->in), '\n', dbuf_size(&l->in))) != NULL)
            return line_take(l, nl, out);
        if ((dst = dbuf_reserve(&l->in, LINK_READ_CHUNK)) == NULL) {
            cli_error(CLIENT_PROGRAM, "the agent's answer is too long");
            return EXIT_PROTOCOL;
        }
        n = recv(l->fd, dst, LINK_READ_CHUNK, 0);
        if (n > 0) {
            dbuf_commit(&l->in, (size_t)n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return EXIT_NOT_RUNNING; /* the agent closed (or went away) */
        if ((r = link_wait(l->fd, POLLIN, deadline_ms)) == 0)
            return EXIT_TIMEOUT;
        if (r < 0) {
            cli_error(CLIENT_PROGRAM, "waiting for the agent: %s", strerror(errno));
            return EXIT_FAILURE_GENERIC;
        }
    }
}

int agent_call(const char *dir, json_t *req, uint64_t timeout_ms, json_t **out,
               struct agent_link *keep)
{
    struct agent_link l;
    uint64_t deadline = timeout_ms != 0 ? clock_mono_ms() + timeout_ms : 0;
    int status;

    *out = NULL;
    if ((status = agent_link_open(&l, dir)) != EXIT_OK) {
        json_decref(req);
        agent_link_close(&l);
        return status;
    }
    if ((status = agent_link_send(&l, req, deadline)) == EXIT_OK) {
        status = agent_link_read(&l, deadline, out);
        if (status == EXIT_TIMEOUT)
            cli_error(CLIENT_PROGRAM, "the agent did not answer in time");
        else if (status == EXIT_NOT_RUNNING)
            cli_error(CLIENT_PROGRAM, "the agent closed the connection without answering");
        if (status == EXIT_NOT_RUNNING)
            status = EXIT_FAILURE_GENERIC;
    }
    if (keep != NULL && status == EXIT_OK)
        *keep = l;
    else
        agent_link_close(&l);
    return status;
}

int agent_call_ours(const char *dir, json_t *req, uint64_t timeout_ms, json_t **out,
                    struct agent_link *keep)
{
    int status = agent_call(dir, req, timeout_ms, out, keep);
    const char *code = json_string_value(json_object_get(*out, "code"));

    if (status == EXIT_OK && code != NULL && strcmp(code, "other_server") == 0) {
        json_decref(*out);
        *out = NULL;
        if (keep != NULL)
            agent_link_close(keep);
        return EXIT_NOT_RUNNING;
    }
    return status;
}

int agent_refused(const char *what, json_t *answer)
{
    const char *code = json_string_value(json_object_get(answer, "code"));
    const char *error = json_string_value(json_object_get(answer, "error"));

    cli_error(CLIENT_PROGRAM, "%s: %s", what, error != NULL ? error : "refused by the agent");
    if (code != NULL && strcmp(code, "too_large") == 0)
        return EXIT_USAGE;
    if (code != NULL && strcmp(code, "bad_request") == 0)
        return EXIT_PROTOCOL;
    return EXIT_FAILURE_GENERIC;
}

int agent_message_decode(json_t *msg, struct client_answer *a, char *server)
{
    json_t *env = json_object_get(msg, "envelope");
    const char *srv = json_string_value(json_object_get(msg, "server"));
    const char *key = json_string_value(json_object_get(msg, "server_key"));
    ts_verify_opts opts = {.max_skew_ms = CLIENT_DEFAULT_SKEW_MS};
    size_t n = json_string_length(env), len = 0;
    uint8_t *data = NULL;
    int rc = TS_ERR_MALFORMED;

    memset(a, 0, sizeof(*a));
    if (json_is_string(env) && srv != NULL && key != NULL && (data = malloc(n + 1)) != NULL &&
        sodium_base642bin(data, n + 1, json_string_value(env), n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0)
        rc = ts_envelope_decode(data, len, &a->env);
    free(data);
    if (rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "the agent sent a message that cannot be read: %s",
                  ts_strerror(rc));
        return EXIT_PROTOCOL;
    }
    /* The agent checked the signature against the server identity; the
     * hash and the clock are checked here again, as the one-shot does. */
    a->verify = ts_envelope_verify(a->env, &opts);
    a->verified = json_is_true(json_object_get(msg, "verified"));
    snprintf(a->server_key, sizeof(a->server_key), "%s", key);
    snprintf(server, NET_HOSTPORT_MAX, "%s", srv);
    return EXIT_OK;
}
