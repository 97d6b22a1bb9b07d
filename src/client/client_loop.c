/*
 * The client loop and who runs it: the listening thread, or a blocking
 * caller while nobody listens (client_internal.h). Also the calls that
 * hand work to the loop: connect, shutdown, listen start/stop.
 */
#include "client/client_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

/* Longest single poll() wait, so a clock that jumps or a missed wake-up
 * never stalls the loop for long. */
#define LOOP_MAX_WAIT_MS 1000u
/* connect() waits this much beyond its timeout for the attempt to report,
 * since the attempt's own deadline is the timeout. */
#define CONNECT_REPORT_MARGIN_MS 1000u

bool client_on_driver(const ts_client *c)
{
    return c->driving && pthread_equal(c->driver, pthread_self());
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

static int wait_ms(uint64_t until)
{
    uint64_t now = clock_mono_ms();

    if (until == 0)
        return LOOP_MAX_WAIT_MS;
    if (until <= now)
        return 0;
    return until - now > LOOP_MAX_WAIT_MS ? (int)LOOP_MAX_WAIT_MS : (int)(until - now);
}

static void wake_drain(ts_client *c)
{
    uint64_t count;

    (void)!read(c->wake_fd, &count, sizeof(count));
}

/* Wait for the socket, a wake-up or until; then handle what came. */
static void loop_wait(ts_client *c, uint64_t until)
{
    struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN}};
    nfds_t n = 1;
    int timeout = wait_ms(until), r;

    if (c->conn != NULL && client_conn_fd(c->conn) >= 0) {
        p[1].fd = client_conn_fd(c->conn);
        p[1].events = client_conn_events(c->conn);
        n = 2;
        if (client_conn_input_pending(c->conn))
            timeout = 0;
    }
    r = poll(p, n, timeout);
    if (r < 0 && errno != EINTR) {
        LOG_ERROR("client_poll", "error=\"%s\"", strerror(errno));
        return;
    }
    if (r > 0 && (p[0].revents & POLLIN) != 0)
        wake_drain(c);
    if (n == 2 && c->conn != NULL &&
        ((r > 0 && p[1].revents != 0) || client_conn_input_pending(c->conn)))
        session_handle(c, r > 0 ? p[1].revents : 0);
}

void client_loop_turn(ts_client *c, uint64_t deadline_ms)
{
    bool shut, attempt;
    uint64_t until, attempt_at = 0;

    pthread_mutex_lock(&c->lock);
    shut = c->shutdown_asked > c->shutdown_done;
    attempt = !shut && c->conn == NULL && c->want_session &&
              (c->attempt_now || clock_mono_ms() >= c->next_attempt);
    if (c->conn == NULL && c->want_session)
        attempt_at = c->next_attempt != 0 ? c->next_attempt : 1;
    pthread_mutex_unlock(&c->lock);
    if (shut) {
        session_shutdown(c);
        return;
    }
    if (attempt)
        session_attempt(c);
    if (c->conn != NULL && c->up)
        session_send_queued(c);
    until = earliest(deadline_ms, c->conn != NULL ? session_next_timer(c) : attempt_at);
    loop_wait(c, until);
    session_timers(c);
}

static int cond_wait_until(ts_client *c, uint64_t deadline_ms)
{
    struct timespec ts;
    uint64_t now = clock_mono_ms();

    if (deadline_ms == 0)
        return pthread_cond_wait(&c->cond, &c->lock);
    if (now >= deadline_ms)
        return ETIMEDOUT;
    /* The condition variable runs on CLOCK_MONOTONIC (client.c); the
     * coarse clock of util/clock.h is behind it by a few ms at most. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t left = deadline_ms - now;
    ts.tv_sec += (time_t)(left / 1000u);
    ts.tv_nsec += (long)(left % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

static bool past(uint64_t deadline_ms)
{
    return deadline_ms != 0 && clock_mono_ms() >= deadline_ms;
}

/* Run the loop here until done, the deadline, or a listener wants it. */
static void drive_here(ts_client *c, client_done_fn done, void *arg, uint64_t deadline_ms)
{
    c->driving = true;
    c->driver = pthread_self();
    while (!done(c, arg) && !c->handover && !past(deadline_ms)) {
        pthread_mutex_unlock(&c->lock);
        client_loop_turn(c, deadline_ms);
        pthread_mutex_lock(&c->lock);
    }
    c->driving = false;
    pthread_cond_broadcast(&c->cond);
}

int client_drive(ts_client *c, client_done_fn done, void *arg, uint64_t deadline_ms)
{
    if (client_on_driver(c))
        return error_set(TS_ERR_STATE,
                         "a blocking ts_client call cannot run inside a client callback");
    while (!done(c, arg)) {
        if (past(deadline_ms))
            return TS_ERR_TIMEOUT;
        if (!c->driving && !c->listening && !c->handover) {
            drive_here(c, done, arg, deadline_ms);
            continue;
        }
        (void)cond_wait_until(c, deadline_ms);
    }
    return TS_OK;
}

static void *loop_main(void *arg)
{
    ts_client *c = arg;

    pthread_mutex_lock(&c->lock);
    c->driver = pthread_self();
    while (!c->loop_stop) {
        pthread_mutex_unlock(&c->lock);
        client_loop_turn(c, 0);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* The loop thread takes no signals: they belong to the application. */
static int thread_start(ts_client *c)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->thread, NULL, loop_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return error_set(TS_ERR_NOMEM, "cannot start the client thread: %s", strerror(rc));
    return TS_OK;
}

int ts_client_listen_start(ts_client *c)
{
    int rc;

    pthread_mutex_lock(&c->lock);
    if (client_on_driver(c) || c->listening) {
        pthread_mutex_unlock(&c->lock);
        return error_set(TS_ERR_STATE, c->listening ? "the client is listening already"
                                                    : "listen_start from a client callback");
    }
    /* A blocking call driving on another thread yields, then waits for
     * the listening thread like everyone else. */
    c->handover = true;
    client_wake(c);
    while (c->driving)
        pthread_cond_wait(&c->cond, &c->lock);
    c->handover = false;
    c->listening = true;
    c->driving = true;
    c->loop_stop = false;
    client_want_session(c);
    if ((rc = thread_start(c)) != TS_OK) {
        c->listening = false;
        c->driving = false;
    } else {
        c->driver = c->thread;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int ts_client_listen_stop(ts_client *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->listening || client_on_driver(c)) {
        pthread_mutex_unlock(&c->lock);
        return error_set(TS_ERR_STATE, c->listening ? "listen_stop from a client callback"
                                                    : "the client is not listening");
    }
    c->loop_stop = true;
    client_wake(c);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->lock);
    c->listening = false;
    c->driving = false;
    c->loop_stop = false;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return TS_OK;
}

struct attempt_wait {
    uint64_t start; /* attempts_done when asked */
};

static bool attempt_finished(ts_client *c, void *arg)
{
    const struct attempt_wait *w = arg;

    return c->attempts_done > w->start;
}

int ts_client_connect(ts_client *c, uint32_t timeout_ms)
{
    struct attempt_wait w;
    uint64_t deadline = clock_mono_ms() + timeout_ms + CONNECT_REPORT_MARGIN_MS;
    int rc;

    pthread_mutex_lock(&c->lock);
    if (client_on_driver(c)) {
        pthread_mutex_unlock(&c->lock);
        return error_set(TS_ERR_STATE, "connect from a client callback");
    }
    if (c->state == TS_CLIENT_CONNECTED) {
        pthread_mutex_unlock(&c->lock);
        return TS_OK;
    }
    w.start = c->attempts_done;
    client_want_session(c);
    c->attempt_now = true;
    c->attempt_timeout = timeout_ms != 0 ? timeout_ms : c->cfg.connect_timeout_ms;
    client_wake(c);
    rc = client_drive(c, attempt_finished, &w, deadline);
    if (rc == TS_OK && c->state != TS_CLIENT_CONNECTED)
        rc = error_set(c->attempt_rc != TS_OK ? c->attempt_rc : TS_ERR_CONNECT, "%s",
                       c->last_error);
    else if (rc == TS_ERR_TIMEOUT)
        rc = error_set(TS_ERR_TIMEOUT, "no session with %s within %u ms", c->hostport,
                       timeout_ms);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

struct shutdown_wait {
    uint64_t ticket;
};

static bool shutdown_finished(ts_client *c, void *arg)
{
    const struct shutdown_wait *w = arg;

    return c->shutdown_done >= w->ticket;
}

int ts_client_shutdown(ts_client *c)
{
    struct shutdown_wait w;
    int rc;

    pthread_mutex_lock(&c->lock);
    if (!c->want_session && c->state != TS_CLIENT_CONNECTED &&
        c->shutdown_asked == c->shutdown_done) {
        pthread_mutex_unlock(&c->lock);
        return error_set(TS_ERR_CLOSED, "the client has no session to close");
    }
    w.ticket = ++c->shutdown_asked;
    c->want_session = false;
    client_wake(c);
    /* From a callback: the loop closes once the callback returns. */
    rc = client_on_driver(c) ? TS_OK : client_drive(c, shutdown_finished, &w, 0);
    pthread_mutex_unlock(&c->lock);
    return rc;
}
