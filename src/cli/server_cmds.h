/*
 * The subcommands of tcp_server, one struct cli_command each, defined
 * next to their code and usage text and listed in server_main.c.
 */
#ifndef TS_CLI_SERVER_CMDS_H
#define TS_CLI_SERVER_CMDS_H

#include "cli/cli_common.h"

extern const struct cli_command server_cmd_start;       /* server_start.c */
extern const struct cli_command server_cmd_status;      /* server_ctl.c */
extern const struct cli_command server_cmd_connections; /* server_ctl.c */
extern const struct cli_command server_cmd_stop;        /* server_ctl.c */
extern const struct cli_command server_cmd_kick;        /* server_ctl.c */
extern const struct cli_command server_cmd_send;        /* server_ctl.c */
extern const struct cli_command server_cmd_fingerprint; /* server_identity.c */
extern const struct cli_command server_cmd_users;       /* server_users.c */
extern const struct cli_command server_cmd_useradd;     /* server_users.c */
extern const struct cli_command server_cmd_userdel;     /* server_users.c */
extern const struct cli_command server_cmd_passwd;      /* server_users.c */
extern const struct cli_command server_cmd_lock;        /* server_users.c */
extern const struct cli_command server_cmd_unlock;      /* server_users.c */
extern const struct cli_command server_cmd_verify_db;   /* server_store_cmds.c */
extern const struct cli_command server_cmd_history;     /* server_store_cmds.c */
extern const struct cli_command server_cmd_certs;       /* server_certs.c */

#endif /* TS_CLI_SERVER_CMDS_H */
