/*
 * tcp_client chat [--room R]: the interactive chat (client_chat_tty.h).
 * It keeps a session of its own (an agent's session stays the agent's),
 * joins the room, shows its recent history, then waits for typed lines,
 * arrivals and signals in one poll() loop until /quit, exit, end of
 * input, SIGINT or SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <editline/readline.h>
#include <tcpseal/error.h>

#include "cli/client_chat_tty.h"
#include "util/clock.h"

/* How often leaving checks whether everything was acknowledged. */
#define DRAIN_POLL_MS 50

static const char options[] =
    "      --room ROOM         the room to start in (lobby)\n"
    "      --no-sign           send messages unsigned (signed by default; /sign)\n";

/* SIGINT and SIGTERM end the loop, SIGWINCH resizes the line; blocked
 * before the client's thread exists, so only the signalfd sees them. */
static int signals_open(struct chat_tty *t)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGWINCH);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (t->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        cli_error(CLIENT_PROGRAM, "cannot set up signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void signals_read(struct chat_tty *t)
{
    struct signalfd_siginfo si;

    while (read(t->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH && t->tty)
            rl_resize_terminal();
        else if (si.ssi_signo != SIGWINCH)
            t->quit = true;
    }
}

static int loop(struct chat_tty *t)
{
    struct pollfd p[3];

    while (!t->quit) {
        p[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        p[1] = (struct pollfd){.fd = t->wake_fd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = t->signal_fd, .events = POLLIN};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            cli_error(CLIENT_PROGRAM, "poll: %s", strerror(errno));
            return EXIT_FAILURE_GENERIC;
        }
        if ((p[2].revents & POLLIN) != 0)
            signals_read(t);
        if ((p[1].revents & POLLIN) != 0)
            tty_feed_show(t);
        if (!t->quit && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            tty_lines_read(t);
    }
    return EXIT_OK;
}

/* Before leaving, what was typed is sent and acknowledged (or refused,
 * which is shown), within the timeout: EXIT_TIMEOUT when some was not. */
static int drain(struct chat_tty *t)
{
    uint64_t deadline = clock_mono_ms() + t->o->timeout_ms, now;
    struct pollfd p = {.fd = t->wake_fd, .events = POLLIN};
    ts_client_status st;

    for (;;) {
        ts_client_get_status(t->r.s.client, &st);
        if (st.outbox == 0 || (now = clock_mono_ms()) >= deadline)
            break;
        /* Answers wake us; the short cap also catches the last one. */
        if (poll(&p, 1, (int)(deadline - now < DRAIN_POLL_MS ? deadline - now : DRAIN_POLL_MS)) > 0)
            tty_feed_show(t);
    }
    if (st.outbox == 0)
        return EXIT_OK;
    tty_note(t, "%zu message(s) not acknowledged by the server; not sent", st.outbox);
    return EXIT_TIMEOUT;
}

/* Session up, logged in, in the first room, listening. */
static int session_start(struct chat_tty *t)
{
    char user[CHAT_NAME_MAX + 1];
    int status, rc;

    if ((status = route_open_oneshot(&t->r)) != EXIT_OK)
        return status;
    t->chat = t->r.s.chat;
    if (!chat_user(t->chat, user)) {
        cli_error(CLIENT_PROGRAM, "chat: not logged in: run '%s register USER' or '%s login "
                  "USER' first", CLIENT_PROGRAM, CLIENT_PROGRAM);
        return EXIT_FAILURE_GENERIC;
    }
    printf("-- %s on %s; /help lists the commands\n", user, t->o->hostport);
    if ((status = tty_join_first(t, t->o->room)) != EXIT_OK)
        return status;
    if ((rc = chat_go_online(t->chat)) != TS_OK ||
        (rc = ts_client_listen_start(t->r.s.client)) != TS_OK)
        return oneshot_failure("chat", rc, ts_error_detail(rc));
    return EXIT_OK;
}

static int chat_run(int argc, char **argv)
{
    struct chat_callbacks cb = {.on_message = tty_on_message, .on_state = tty_on_state};
    struct chat_tty t = {.signal_fd = -1, .wake_fd = -1};
    struct chat_opts o;
    int status;

    if ((status = chat_opts_parse(&client_cmd_chat, options, CO_ROOM | CO_SIGN, 0, 0, argc, argv,
                                  &o)) != -1)
        return status;
    t.o = &o;
    t.sign = o.sign;
    cb.arg = &t;
    if (tty_feed_init(&t) != 0)
        return EXIT_FAILURE_GENERIC;
    if (signals_open(&t) != 0) {
        status = EXIT_FAILURE_GENERIC;
    } else if ((status = route_init(&t.r, &o, &cb)) == EXIT_OK &&
               (status = session_start(&t)) == EXIT_OK) {
        status = tty_lines_open(&t) == 0 ? loop(&t) : EXIT_FAILURE_GENERIC;
        if (status == EXIT_OK)
            status = drain(&t);
        tty_lines_close(&t);
    }
    /* The client's thread ends here, before the feed it writes to. */
    route_close(&t.r);
    tty_feed_free(&t);
    if (t.signal_fd >= 0)
        close(t.signal_fd);
    return status;
}

const struct cli_command client_cmd_chat = {
    "chat",
    "Chat interactively: messages of the room as they arrive, a line editor, and "
    "/join, /leave, /users, /msg, /history, /sign, /quit.",
    "chat [-H HOST] [-p PORT] [--server-key FP] [--room ROOM] [--no-sign]",
    chat_run,
};
