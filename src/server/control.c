/*
 * The control socket (docs/control.md): one JSON request line in, one JSON
 * answer line out, on a UNIX socket only the server's user can reach.
 */
#include "server/server_internal.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <tcpseal/protocol.h>

#include "server/status.h"
#include "service/service.h"
#include "util/error.h"
#include "util/log.h"

#define CONTROL_MAX_REQUEST (64u * 1024u)
#define CONTROL_TIMEOUT_S 5
#define STOP_GRACE_MS 5000

struct control {
    ts_server *srv;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct evconnlistener *evl;
};

/* One control connection. An answer that comes later (from the store or
 * the work pool) finds it here even if the peer went away meanwhile. */
struct control_client {
    struct control *ctl;
    struct bufferevent *bev;   /* NULL once the peer is gone */
    bool waiting;              /* an answer is still to come */
};

static void client_release(struct control_client *cl)
{
    if (cl->bev != NULL)
        bufferevent_free(cl->bev);
    cl->bev = NULL;
    if (!cl->waiting)
        free(cl);
}

static json_t *answer_error(const char *code, const char *text)
{
    return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "error", text);
}

static json_t *answer_ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

/* kick and send both name a client id. */
static int client_id_of(json_t *req, ts_client_id *id)
{
    json_t *v = json_object_get(req, "id");

    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    *id = (ts_client_id)json_integer_value(v);
    return 0;
}

static json_t *client_result(int rc, ts_client_id id)
{
    char text[96];

    if (rc == TS_OK)
        return answer_ok();
    if (rc == TS_ERR_NOT_FOUND) {
        snprintf(text, sizeof(text), "no client with id %llu", (unsigned long long)id);
        return answer_error("not_found", text);
    }
    return answer_error("failed", ts_error_detail(rc));
}

static json_t *do_kick(ts_server *srv, json_t *req)
{
    const char *reason = json_string_value(json_object_get(req, "reason"));
    ts_client_id id;

    if (client_id_of(req, &id) != 0)
        return answer_error("bad_request", "kick needs a positive integer \"id\"");
    LOG_INFO("kick", "client=%llu", (unsigned long long)id);
    return client_result(ts_server_close_client(srv, id, TS_REASON_KICKED,
                                                reason != NULL && *reason ? reason : NULL),
                         id);
}

static json_t *do_send(ts_server *srv, json_t *req)
{
    json_t *msg = json_object_get(req, "message");
    ts_client_id id;

    if (client_id_of(req, &id) != 0 || !json_is_string(msg))
        return answer_error("bad_request", "send needs \"id\" and a \"message\" string");
    return client_result(ts_server_send_notice(srv, id, json_string_value(msg),
                                               json_string_length(msg)),
                         id);
}

static void reply_and_finish(struct control_client *cl, json_t *answer)
{
    char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER)
                                : NULL;

    json_decref(answer);
    if (cl->bev == NULL) {
        free(text);
        return;
    }
    bufferevent_disable(cl->bev, EV_READ);
    if (text == NULL) {
        client_release(cl);
        return;
    }
    evbuffer_add_printf(bufferevent_get_output(cl->bev), "%s\n", text);
    free(text);
}

/* ---- answers that come later ---- */

struct late_answer {
    struct control_client *cl;
    json_t *answer;
};

static void late_answer_run(void *arg, bool discarded)
{
    struct late_answer *la = arg;
    struct control_client *cl = la->cl;

    cl->waiting = false;
    if (!discarded && cl->bev != NULL)
        reply_and_finish(cl, la->answer);
    else
        json_decref(la->answer);
    if (cl->bev == NULL)
        free(cl);
    free(la);
}

/* service_admin's completion, from any thread: hand over to the main loop. */
static void admin_done(void *ctx, json_t *answer)
{
    struct control_client *cl = ctx;
    struct late_answer *la = malloc(sizeof(*la));

    if (la == NULL) {
        json_decref(answer);
        return;
    }
    la->cl = cl;
    la->answer = answer;
    if (mailbox_post(&cl->ctl->srv->main_mailbox, late_answer_run, la) != TS_OK) {
        json_decref(answer);
        free(la);
    }
}

static bool is_admin_command(const char *cmd)
{
    static const char *const admin[] = {"users", "useradd", "userdel", "passwd", "lock",
                                        "unlock"};

    for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++) {
        if (strcmp(cmd, admin[i]) == 0)
            return true;
    }
    return false;
}

static json_t *dispatch(struct control_client *cl, json_t *req)
{
    ts_server *srv = cl->ctl->srv;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));

    if (cmd == NULL)
        return answer_error("bad_request", "request needs a \"cmd\" string");
    if (is_admin_command(cmd)) {
        /* Answered later; NULL means "nothing to send now". */
        cl->waiting = true;
        service_admin(srv->service, req, admin_done, cl);
        return NULL;
    }
    if (strcmp(cmd, "status") == 0)
        return json_pack("{s:b, s:o}", "ok", 1, "status", status_object(srv));
    if (strcmp(cmd, "connections") == 0)
        return json_pack("{s:b, s:o}", "ok", 1, "connections", connections_array(srv));
    if (strcmp(cmd, "stop") == 0) {
        LOG_INFO("stop_requested", "via=control");
        ts_server_shutdown(srv, STOP_GRACE_MS);
        return answer_ok();
    }
    if (strcmp(cmd, "kick") == 0)
        return do_kick(srv, req);
    if (strcmp(cmd, "send") == 0)
        return do_send(srv, req);
    return answer_error("bad_request", "unknown command");
}

static void on_control_read(struct bufferevent *bev, void *arg)
{
    struct control_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    json_error_t err;
    json_t *req, *answer;
    size_t len;
    char *line;

    line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
    if (line == NULL) {
        if (evbuffer_get_length(in) > CONTROL_MAX_REQUEST)
            reply_and_finish(cl, answer_error("bad_request", "request too long"));
        return;
    }
    req = json_loadb(line, len, 0, &err);
    /* The request may hold a password. */
    sodium_memzero(line, len);
    free(line);
    bufferevent_disable(bev, EV_READ);
    if (!json_is_object(req))
        reply_and_finish(cl, answer_error("bad_request", "request is not a JSON object"));
    else if ((answer = dispatch(cl, req)) != NULL)
        reply_and_finish(cl, answer);
    json_decref(req);
}

static void on_control_written(struct bufferevent *bev, void *arg)
{
    struct control_client *cl = arg;

    /* Reading stops once the request is in; when the answer has been
     * written out the exchange is over (one request per connection). */
    if (!cl->waiting && evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
        !(bufferevent_get_enabled(bev) & EV_READ))
        client_release(cl);
}

static void on_control_event(struct bufferevent *bev, short what, void *arg)
{
    client_release(arg);
}

/* Defence in depth behind the 0600 mode: only our own user (or root). */
static int peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return 0;
    return cred.uid == getuid() || cred.uid == 0;
}

static void on_control_accept(struct evconnlistener *l, evutil_socket_t fd,
                              struct sockaddr *addr, int len, void *arg)
{
    struct control *ctl = arg;
    struct timeval timeout = {CONTROL_TIMEOUT_S, 0};
    struct control_client *cl;

    if (!peer_allowed(fd)) {
        LOG_WARN("control_refused", "reason=\"peer is another user\"");
        evutil_closesocket(fd);
        return;
    }
    cl = calloc(1, sizeof(*cl));
    if (cl == NULL ||
        (cl->bev = bufferevent_socket_new(ctl->srv->main_base, fd, BEV_OPT_CLOSE_ON_FREE)) ==
            NULL) {
        free(cl);
        evutil_closesocket(fd);
        return;
    }
    cl->ctl = ctl;
    bufferevent_setcb(cl->bev, on_control_read, on_control_written, on_control_event, cl);
    /* Argon2id for useradd/passwd takes a moment: allow for it. */
    bufferevent_set_timeouts(cl->bev, &timeout, &timeout);
    bufferevent_enable(cl->bev, EV_READ);
}

/* A socket file left by a crashed server is removed; one that answers
 * belongs to a running server and is left alone. */
static int clear_stale(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int alive;

    if (fd < 0)
        return error_set(TS_ERR_IO, "control socket: %s", strerror(errno));
    alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
    close(fd);
    if (alive)
        return error_set(TS_ERR_EXISTS,
                         "another server answers on %s; stop it or use another state directory",
                         sun->sun_path);
    if (unlink(sun->sun_path) != 0 && errno != ENOENT)
        return error_set(TS_ERR_IO, "cannot remove stale %s: %s", sun->sun_path,
                         strerror(errno));
    return TS_OK;
}

static int control_listen(const struct sockaddr_un *sun, int *out_fd)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc;

    if (fd < 0)
        return error_set(TS_ERR_IO, "control socket: %s", strerror(errno));
    /* The umask is process-wide and may not be ours to change; the socket
     * is made 0600 right after bind, before it listens, and it lives in
     * the 0700 state directory, so no other user can reach it meanwhile. */
    rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
    if (rc != 0 || chmod(sun->sun_path, 0600) != 0 || listen(fd, 16) != 0) {
        rc = error_set(TS_ERR_IO, "cannot create control socket %s: %s", sun->sun_path,
                       strerror(errno));
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return TS_OK;
}

int control_open(ts_server *srv, const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct control *ctl;
    int rc, fd = -1;

    if (strlen(path) >= sizeof(sun.sun_path))
        return error_set(TS_ERR_CONFIG, "control socket path too long: %s", path);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((rc = clear_stale(&sun)) != TS_OK || (rc = control_listen(&sun, &fd)) != TS_OK)
        return rc;
    ctl = calloc(1, sizeof(*ctl));
    if (ctl == NULL) {
        close(fd);
        unlink(path);
        return TS_ERR_NOMEM;
    }
    ctl->srv = srv;
    memcpy(ctl->path, sun.sun_path, sizeof(ctl->path));
    ctl->evl = evconnlistener_new(srv->main_base, on_control_accept, ctl,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (ctl->evl == NULL) {
        close(fd);
        unlink(path);
        free(ctl);
        return TS_ERR_NOMEM;
    }
    srv->control = ctl;
    return TS_OK;
}

void control_close(ts_server *srv)
{
    struct control *ctl = srv->control;

    if (ctl == NULL)
        return;
    evconnlistener_free(ctl->evl);
    unlink(ctl->path);
    free(ctl);
    srv->control = NULL;
}
