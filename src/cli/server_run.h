/*
 * `tcp_server start`: the state of one running server program, shared by
 * the files that start it (server_start.c), detach it (server_daemon.c)
 * and serve and reload it (server_serve.c).
 */
#ifndef TS_CLI_SERVER_RUN_H
#define TS_CLI_SERVER_RUN_H

#include <stdbool.h>

#include <tcpseal/identity.h>
#include <tcpseal/server.h>

#include "cli/server_config.h"
#include "cli/server_paths.h"

/* Time clients get to receive their close reason on a graceful stop. */
#define SERVER_STOP_GRACE_MS 5000

struct server_run {
    struct server_flags flags;   /* kept: a reload applies them again */
    struct server_config sc;     /* the configuration being served */
    struct server_paths paths;
    ts_identity *identity;
    ts_server *srv;
    int pid_fd;                  /* the locked pid file; -1 = none */
    int ready_fd;                /* daemon child: pipe to the waiting parent; -1 = none */
};

/* server_serve.c */

/*
 * Apply sc's log level (a --log-level flag, else TCPSEAL_LOG, else the
 * file's log_level) and destination (syslog, log_file, STATE_DIR/server.log
 * for a daemon, else stderr). Reopens the file, so a reload after log
 * rotation writes to the new one. 0, or -1 with a message in err.
 */
int server_log_apply(const struct server_run *run, const struct server_config *sc,
                     char *err, size_t cap);

/*
 * Serve until stopped by a signal or the control socket: start the
 * server, announce it (or tell a waiting parent), handle SIGINT/SIGTERM
 * (graceful stop, a second one forces) and SIGHUP (reload) on a thread of
 * their own. Returns the program's exit status.
 */
int server_serve(struct server_run *run);

/* server_daemon.c */

/*
 * Lock the pid file (held for the life of the server, so two servers
 * cannot share a state directory). 0 with *fd set; 1 when another process
 * holds it (*holder: its pid, or 0 when unknown); -1 with a message on
 * stderr.
 */
int pidfile_lock(const char *path, int *fd, long *holder);

/* Record our pid in the locked pid file. 0, or -1 with a message. */
int pidfile_write(int fd, const char *path);

/* Remove the pid file (while still holding the lock) and close it. */
void pidfile_release(int *fd, const char *path);

/*
 * Fork for -d. The parent waits until the child reports readiness (or
 * fails, printing its own error on the shared stderr), prints
 * "tcp_server started (pid N), listening on ..." and gets the exit status
 * back with *is_parent set. The child starts a new session, changes to /
 * and gets EXIT_OK with run->ready_fd set.
 */
int daemon_detach(struct server_run *run, bool *is_parent);

/* Child: detach stdio from the terminal and tell the parent we serve on
 * addresses (a space-separated list). */
void daemon_report_ready(struct server_run *run, const char *addresses);

/* server_identity.c */

/* Load STATE_DIR/identity.key, or create it on first start (encrypted
 * when TCPSEAL_PASSPHRASE or TCPSEAL_PASSPHRASE_FILE is set). EXIT_OK, or
 * EXIT_LOCAL_STATE with the reason on stderr. */
int server_identity_open(const struct server_paths *paths, ts_identity **out);

#endif /* TS_CLI_SERVER_RUN_H */
