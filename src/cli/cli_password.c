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
#include "envelope/utf8.h"

/* Length of the first line of the len bytes at text. */
static size_t line_length(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' || text[i] == '\r')
            return i;
    }
    return len;
}

/* Guarded copy of the first line of text. */
static char *guarded_line(const char *text, size_t len)
{
    char *s;

    len = line_length(text, len);
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
    /* A NUL would silently end the password early: the server would get
     * another password than the file holds. */
    if (memchr(buf, '\0', line_length(buf, n)) != NULL) {
        sodium_memzero(buf, sizeof(buf));
        cli_error(program, "password file %s: the password contains a NUL byte", file);
        return -1;
    }
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
    /* One byte more than a password may have, so that a longer one is
     * seen (and refused) rather than cut. */
    char first[CLI_PASSWORD_MAX + 2], second[CLI_PASSWORD_MAX + 2];
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

/* A password travels as a JSON string (docs/protocol.md section 10.1),
 * which holds UTF-8 text only; the server takes at most
 * CLI_PASSWORD_MAX bytes. Refusing here names the problem, where the
 * command would otherwise fail to build or be refused without saying
 * which password was wrong. */
int cli_password_check(const char *program, char **out)
{
    size_t len = strlen(*out);
    const char *why = NULL;

    if (len > CLI_PASSWORD_MAX)
        why = "is longer than " CLI_PASSWORD_MAX_TEXT " bytes";
    else if (!utf8_valid((const uint8_t *)*out, len, false))
        why = "is not valid UTF-8 text";
    if (why == NULL)
        return 0;
    cli_error(program, "the password %s", why);
    cli_secret_free(*out);
    *out = NULL;
    return -1;
}

int cli_password_read(const char *program, const char *file, const char *prompt,
                      bool confirm, char **out)
{
    const char *env = getenv(CLI_PASSWORD_ENV);
    int rc;

    *out = NULL;
    if (sodium_init() < 0) {
        cli_error(program, "libsodium failed to initialise");
        return -1;
    }
    if (file != NULL)
        rc = from_file(program, file, out);
    else if (env != NULL)
        rc = (*out = guarded_line(env, strlen(env))) != NULL ? 0 : -1;
    else
        rc = from_terminal(program, prompt, confirm, out);
    return rc == 0 ? cli_password_check(program, out) : rc;
}

void cli_json_wipe(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    /* jansson keeps a string's bytes in its own writable allocation; the
     * const of json_string_value() only stops accidental edits. */
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

int cli_text_check(const char *program, const char *what, const char *text)
{
    if (utf8_valid((const uint8_t *)text, strlen(text), false))
        return 0;
    cli_error(program, "%s is not valid UTF-8 text", what);
    return -1;
}
