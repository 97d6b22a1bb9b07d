/*
 * Passwords for command-line programs: never on the command line (other
 * users could read it from the process list). In order of preference:
 * the file given with --password-file, the TCPSEAL_PASSWORD environment
 * variable (for scripts), or the terminal, without echo.
 */
#ifndef TS_CLI_CLI_PASSWORD_H
#define TS_CLI_CLI_PASSWORD_H

#include <stdbool.h>

#define CLI_PASSWORD_ENV "TCPSEAL_PASSWORD"
#define CLI_PASSWORD_MAX 1024

/*
 * Read a password. prompt is shown on the terminal; with confirm the
 * password is asked twice and must match. 0 with *out in guarded memory
 * (release with cli_secret_free()), or -1 after printing the reason
 * ("PROGRAM: ...") on stderr.
 */
int cli_password_read(const char *program, const char *file, const char *prompt,
                      bool confirm, char **out);

#endif /* TS_CLI_CLI_PASSWORD_H */
