/*
 * The interactive chat's input line (client_chat_tty.h). On a terminal,
 * libedit edits it (its readline interface, in callback mode, so the main
 * loop can wait for stdin and for arrivals at once); output clears the
 * line, prints, and has libedit draw the prompt and the half-typed line
 * again. Without a terminal, stdin is read as plain lines and nothing is
 * redrawn.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>
#include <tcpseal/error.h>

#include "cli/client_chat_tty.h"

#define READ_CHUNK 4096u

/* libedit's readline interface calls back without an argument: the one
 * chat of the process. */
static struct chat_tty *active;

static void on_line(char *line)
{
    struct chat_tty *t = active;

    /* libedit leaves character-at-a-time reading after a line; asking for
     * it again keeps arrivals showing while the next line is typed. */
    rl_callback_handler_install(t->prompt, on_line);
    if (line == NULL) {
        t->quit = true; /* end of input (Ctrl-D) */
        return;
    }
    if (line[0] != '\0')
        add_history(line);
    tty_line(t, line);
    free(line);
}

int tty_lines_open(struct chat_tty *t)
{
    t->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    dbuf_init(&t->in, CHAT_TTY_LINE_MAX);
    if (!t->tty)
        return 0;
    active = t;
    /* Signals come through the main loop's signalfd, not libedit. */
    rl_catch_signals = 0;
    rl_readline_name = CLIENT_PROGRAM;
    tty_prompt_update(t);
    rl_callback_handler_install(t->prompt, on_line);
    return 0;
}

void tty_lines_close(struct chat_tty *t)
{
    if (t->tty && active == t) {
        rl_callback_handler_remove();
        putchar('\n');
        fflush(stdout);
        active = NULL;
    }
    dbuf_free(&t->in);
}

/* Complete lines in t->in, one at a time; the rest waits for more. */
static void plain_lines(struct chat_tty *t)
{
    uint8_t *nl;

    while (!t->quit && (nl = memchr(dbuf_ptr(&t->in), '\n', dbuf_size(&t->in))) != NULL) {
        size_t len = (size_t)(nl - dbuf_ptr(&t->in));
        char *line = strndup((const char *)dbuf_ptr(&t->in), len);

        dbuf_consume(&t->in, len + 1);
        if (line == NULL) {
            cli_error(CLIENT_PROGRAM, "out of memory");
            t->quit = true;
            return;
        }
        tty_line(t, line);
        free(line);
    }
}

static void plain_read(struct chat_tty *t)
{
    uint8_t *dst = dbuf_reserve(&t->in, READ_CHUNK);
    ssize_t n;

    if (dst == NULL) {
        cli_error(CLIENT_PROGRAM, "input line longer than %u bytes", CHAT_TTY_LINE_MAX);
        t->quit = true;
        return;
    }
    n = read(STDIN_FILENO, dst, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* A last line without its newline still counts. */
        if (dbuf_size(&t->in) > 0 && dbuf_append(&t->in, "\n", 1) == TS_OK)
            plain_lines(t);
        t->quit = true;
        return;
    }
    dbuf_commit(&t->in, (size_t)n);
    plain_lines(t);
}

void tty_lines_read(struct chat_tty *t)
{
    if (t->tty)
        rl_callback_read_char();
    else
        plain_read(t);
}

void tty_prompt_update(struct chat_tty *t)
{
    char user[CHAT_NAME_MAX + 1];

    if (!chat_user(t->chat, user))
        snprintf(user, sizeof(user), "(anonymous)");
    if (t->room[0] != '\0')
        snprintf(t->prompt, sizeof(t->prompt), "[#%s] %s> ", t->room, user);
    else
        snprintf(t->prompt, sizeof(t->prompt), "[no room] %s> ", user);
    if (t->tty && active == t)
        rl_set_prompt(t->prompt);
}

void tty_print_begin(struct chat_tty *t)
{
    if (t->tty && active == t) {
        /* Carriage return and erase to the end of the line. */
        fputs("\r\033[K", stdout);
    }
}

void tty_print_end(struct chat_tty *t)
{
    fflush(stdout);
    if (t->tty && active == t)
        rl_forced_update_display();
}

void tty_note(struct chat_tty *t, const char *fmt, ...)
{
    va_list ap;

    tty_print_begin(t);
    fputs("-- ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    tty_print_end(t);
}
