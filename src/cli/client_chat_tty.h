/*
 * tcp_client chat: the interactive chat (docs/chat.md).
 *
 *   client_chat.c        the command: options, session, main loop
 *   client_chat_lines.c  the input line (libedit on a terminal, plain lines
 *                        otherwise) and output printed above it
 *   client_chat_slash.c  what a typed line does: text to the room, /join,
 *                        /leave, /users, /msg, /history, /sign, /quit
 *   client_chat_feed.c   what arrives from the client thread: messages,
 *                        answers to our commands, connection changes
 *
 * Threads: the main thread owns the terminal and everything below except
 * `feed`, which the client thread fills (under `lock`) and wakes the main
 * thread for through `wake_fd`.
 */
#ifndef TS_CLI_CLIENT_CHAT_TTY_H
#define TS_CLI_CLIENT_CHAT_TTY_H

#include <pthread.h>
#include <stdbool.h>

#include "cli/client_chat_cli.h"
#include "util/dbuf.h"

/* History lines shown on /history without a number. */
#define CHAT_TTY_HISTORY 20
/* Longest input line kept when stdin is not a terminal. */
#define CHAT_TTY_LINE_MAX (64u * 1024u)
/* Arrivals kept while the main thread is busy; the oldest go first. */
#define CHAT_TTY_FEED_MAX 10000u

/* What an answer settles. */
enum tty_what {
    TTY_SAY,      /* text to the current room */
    TTY_MSG,      /* /msg */
    TTY_JOIN,
    TTY_LEAVE,
    TTY_USERS,
    TTY_HISTORY,
};

enum tty_item_kind {
    TTY_ITEM_MESSAGE,  /* env with verdict */
    TTY_ITEM_ANSWER,   /* what, arg, status, env (may be NULL), detail */
    TTY_ITEM_NOTE,     /* detail */
};

struct tty_item {
    struct tty_item *next;
    enum tty_item_kind kind;
    ts_envelope *env;                /* owned */
    enum chat_verdict verdict;
    enum tty_what what;
    char arg[CHAT_NAME_MAX + 2];     /* the room or user the command named */
    int status;
    char detail[256];
};

struct chat_tty {
    const struct chat_opts *o;
    struct route r;
    struct chat *chat;               /* r.s.chat once open */
    bool tty;                        /* stdin is a terminal: libedit */
    bool sign;
    bool quit;
    char room[CHAT_NAME_MAX + 1];    /* where plain text goes; "" for nowhere */
    char prompt[CHAT_NAME_MAX * 2 + 16];
    struct dbuf in;                  /* !tty: input not yet a line */
    int signal_fd;
    bool lost;                       /* [client thread] the session went down */

    pthread_mutex_t lock;
    struct tty_item *head, *tail;    /* [lock] the feed */
    size_t n_items;                  /* [lock] */
    int wake_fd;
};

/* ---- client_chat_lines.c ---- */

/* Start reading lines from stdin (libedit when it is a terminal). -1 on
 * failure (printed). */
int tty_lines_open(struct chat_tty *t);
void tty_lines_close(struct chat_tty *t);

/* stdin is readable: read what is there; complete lines go to
 * tty_line(). End of input sets quit. */
void tty_lines_read(struct chat_tty *t);

/* Set the prompt from the user and the current room; it shows at the
 * next tty_print_end(). */
void tty_prompt_update(struct chat_tty *t);

/* Print above the input line: begin clears it, end draws it again. All
 * output of the chat goes between the two. */
void tty_print_begin(struct chat_tty *t);
void tty_print_end(struct chat_tty *t);

/* A note line ("-- text"), printed above the input line. */
void tty_note(struct chat_tty *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- client_chat_slash.c ---- */

/* One typed line. */
void tty_line(struct chat_tty *t, const char *line);

/* Join room and wait for the answer (at start). EXIT_OK or a status after
 * printing why. */
int tty_join_first(struct chat_tty *t, const char *room);

/* ---- client_chat_feed.c ---- */

int tty_feed_init(struct chat_tty *t);
void tty_feed_free(struct chat_tty *t);

/* The chat layer's callbacks (arg: the chat_tty). */
void tty_on_message(struct chat *chat, const ts_envelope *env, enum chat_verdict v, void *arg);
void tty_on_state(struct chat *chat, ts_client_state state, const char *reason, void *arg);

/* A send callback for commands and messages of ours; arg from
 * tty_pending_new() (freed here). */
void tty_on_answer(ts_client *c, uint64_t id, int status, const ts_envelope *answer, void *arg);
void *tty_pending_new(struct chat_tty *t, enum tty_what what, const char *arg);

/* wake_fd is readable: show everything fed since. */
void tty_feed_show(struct chat_tty *t);

/* Show one answer (also used for the first join, which is waited for). */
void tty_answer_show(struct chat_tty *t, enum tty_what what, const char *arg, int status,
                     const ts_envelope *answer, const char *detail);

#endif /* TS_CLI_CLIENT_CHAT_TTY_H */
