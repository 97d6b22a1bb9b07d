/*
 * tcp_server: runs a tcpseal server and drives a running one through its
 * control socket. Each command lives in a file of its own.
 */
#include <signal.h>
#include <stddef.h>

#include "cli/cli_common.h"
#include "cli/server_cmds.h"
#include "cli/server_paths.h"

int main(int argc, char **argv)
{
    /* Copies of the tables, in the order `tcp_server --help` lists them. */
    const struct cli_command commands[] = {
        server_cmd_start,   server_cmd_status,  server_cmd_connections,
        server_cmd_stop,    server_cmd_kick,    server_cmd_send,
        server_cmd_fingerprint,
        server_cmd_users,   server_cmd_useradd, server_cmd_userdel,
        server_cmd_passwd,  server_cmd_lock,    server_cmd_unlock,
        server_cmd_verify_db, server_cmd_history, server_cmd_certs,
    };

    /* A peer that goes away must give EPIPE, not end the program. */
    signal(SIGPIPE, SIG_IGN);
    return cli_dispatch(SERVER_PROGRAM, "Run a tcpseal server, or drive the running one.",
                        commands, sizeof(commands) / sizeof(commands[0]), argc, argv);
}
