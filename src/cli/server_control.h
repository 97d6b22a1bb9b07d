/*
 * Client side of the control socket of a running tcp_server
 * (docs/control.md): one JSON request line, one JSON answer line.
 */
#ifndef TS_CLI_SERVER_CONTROL_H
#define TS_CLI_SERVER_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* How long a control command waits for the server's answer. */
#define CTL_TIMEOUT_MS 10000

enum ctl_result {
    CTL_OK = 0,
    CTL_NOT_RUNNING,  /* no socket file, or nothing listens on it */
    CTL_FAILED,       /* anything else: err says what */
    CTL_TIMEOUT,      /* no answer before the deadline */
};

/*
 * Send request (a JSON object) to the control socket at path and read the
 * answer. On CTL_OK *answer is a new reference to the answer object
 * (whatever its "ok" says); otherwise err (capacity cap) holds one line.
 */
enum ctl_result ctl_exchange(const char *path, json_t *request, uint64_t timeout_ms,
                             json_t **answer, char *err, size_t cap);

/*
 * One command for the control commands of tcp_server: sends {"cmd":cmd}
 * merged with the fields of args (may be NULL; its reference is taken),
 * and checks the answer's "ok". Prints any failure on stderr and returns
 * the exit status: EXIT_OK (with *answer set; the caller releases it),
 * EXIT_NOT_RUNNING, EXIT_TIMEOUT or EXIT_FAILURE_GENERIC (the server's
 * "error" text is printed).
 */
int ctl_command(const char *path, const char *cmd, json_t *args, json_t **answer);

/* The "not running" message, shared by every command. */
void ctl_print_not_running(const char *path, int to_stdout);

#endif /* TS_CLI_SERVER_CONTROL_H */
