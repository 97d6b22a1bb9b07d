#include "cli/cli_password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli_common.h"

/* Guarded copy of the first line of text. */
static char *guarded_line(const char *text, size_t len)
{
    char *s;

    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' || text[i] == '\r') {
            len = i;
            break;
        }
    }
    if ((s = sodium_malloc(len + 1)) == NULL)
        return NULL;
    memcpy(s, text, len);
    s[len] = '\0';
    return s;
}

static int from_file(const char *program, const char *file, char **out)
{
    char buf[CLI_PASSWORD_MAX + 2];
    size_t n;
    FILE *f = fopen(file, "r");

    if (f == NULL) {
        cli_error(program, "cannot read password file %s: %s", file, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    *out = guarded_line(buf, n);
    sodium_memzero(buf, sizeof(buf));
    return *out != NULL ? 0 : -1;
}

/* One line from the terminal with echo off. */
static int ask(int tty, const char *prompt, char *buf, size_t cap)
{
    struct termios saved, quiet;
    ssize_t n;
    size_t len = 0;
    char c;

    if (tcgetattr(tty, &saved) != 0)
        return -1;
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (write(tty, prompt, strlen(prompt)) < 0 || tcsetattr(tty, TCSAFLUSH, &quiet) != 0)
        return -1;
    while ((n = read(tty, &c, 1)) == 1 && c != '\n') {
        if (len + 1 < cap)
            buf[len++] = c;
    }
    buf[len] = '\0';
    tcsetattr(tty, TCSAFLUSH, &saved);
    if (write(tty, "\n", 1) < 0)
        return -1;
    return n == 1 ? 0 : -1;
}

static int from_terminal(const char *program, const char *prompt, bool confirm, char **out)
{
    char first[CLI_PASSWORD_MAX + 1], second[CLI_PASSWORD_MAX + 1];
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    int rc = -1;

    if (tty < 0) {
        cli_error(program, "no terminal to ask for the password: use --password-file FILE "
                  "or set %s", CLI_PASSWORD_ENV);
        return -1;
    }
    if (ask(tty, prompt, first, sizeof(first)) != 0 ||
        (confirm && ask(tty, "Again: ", second, sizeof(second)) != 0)) {
        cli_error(program, "could not read the password from the terminal");
    } else if (confirm && strcmp(first, second) != 0) {
        cli_error(program, "the two passwords differ");
    } else if ((*out = guarded_line(first, strlen(first))) != NULL) {
        rc = 0;
    }
    sodium_memzero(first, sizeof(first));
    sodium_memzero(second, sizeof(second));
    close(tty);
    return rc;
}

int cli_password_read(const char *program, const char *file, const char *prompt,
                      bool confirm, char **out)
{
    const char *env = getenv(CLI_PASSWORD_ENV);

    *out = NULL;
    if (sodium_init() < 0) {
        cli_error(program, "libsodium failed to initialise");
        return -1;
    }
    if (file != NULL)
        return from_file(program, file, out);
    if (env != NULL)
        return (*out = guarded_line(env, strlen(env))) != NULL ? 0 : -1;
    return from_terminal(program, prompt, confirm, out);
}
