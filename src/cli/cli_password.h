/*
 * Passwords for command-line programs: never on the command line (other
 * users could read it from the process list). In order of preference:
 * the file given with --password-file, the TCPSEAL_PASSWORD environment
 * variable (for scripts), or the terminal, without echo. Also the checks
 * of what goes with a password into an account command.
 */
#ifndef TS_CLI_CLI_PASSWORD_H
#define TS_CLI_CLI_PASSWORD_H

#include <stdbool.h>

#include <jansson.h>

#define CLI_PASSWORD_ENV "TCPSEAL_PASSWORD"
/* Longest password in bytes (the server's limit). */
#define CLI_PASSWORD_MAX 1024
#define CLI_PASSWORD_MAX_TEXT "1024"

/*
 * Read a password. prompt is shown on the terminal; with confirm the
 * password is asked twice and must match. 0 with *out in guarded memory
 * (release with cli_secret_free()), or -1 after printing the reason
 * ("PROGRAM: ...") on stderr: among them a password that is not UTF-8
 * text, holds a NUL or is longer than CLI_PASSWORD_MAX bytes.
 */
int cli_password_read(const char *program, const char *file, const char *prompt,
                      bool confirm, char **out);

/*
 * Check a password *out (guarded memory) obtained some other way, as
 * cli_password_read() checks the ones it reads: 0, or -1 after printing
 * why and releasing *out (set to NULL).
 */
int cli_password_check(const char *program, char **out);

/*
 * Text from the command line that will travel as a JSON string (a user
 * name, for instance) must be UTF-8: 0, or -1 after printing
 * "PROGRAM: WHAT is not valid UTF-8 text".
 */
int cli_text_check(const char *program, const char *what, const char *text);

/*
 * Overwrite the string value of key in obj, if any, in place: for a
 * command object that carried a password, before its last reference is
 * dropped (jansson frees its strings without wiping them).
 */
void cli_json_wipe(json_t *obj, const char *key);

#endif /* TS_CLI_CLI_PASSWORD_H */
