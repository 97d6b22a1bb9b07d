/*
 * The files of a tcp_server state directory:
 *
 *   identity.key    the server's identity (mode 0600)
 *   control.sock    the control socket of the running server (mode 0600)
 *   tcp_server.pid  pid of the running server, locked while it runs
 *   server.log      the log of a daemon started without --log-file
 */
#ifndef TS_CLI_SERVER_PATHS_H
#define TS_CLI_SERVER_PATHS_H

#include <stdbool.h>

/* Name of the program in messages. */
#define SERVER_PROGRAM "tcp_server"
/* Environment variable naming the state directory. */
#define SERVER_DIR_ENV "TCPSEAL_SERVER_DIR"

struct server_paths {
    char *dir;
    char *identity;
    char *control;
    char *pid;
    char *log;
    char *store;   /* the default store file */
};

/*
 * Resolve the state directory (explicit_dir, else $TCPSEAL_SERVER_DIR,
 * else ~/.local/state/tcpseal/server) and the names of its files. With
 * create, the directory is created 0700 as `start` needs; without it a
 * missing directory is not an error (the control commands then find no
 * server). 0, or -1 with a message on stderr.
 */
int server_paths_init(struct server_paths *p, const char *explicit_dir, bool create);

void server_paths_free(struct server_paths *p);

#endif /* TS_CLI_SERVER_PATHS_H */
