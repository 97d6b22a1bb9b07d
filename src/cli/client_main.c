/*
 * tcp_client: the tcpseal client, one-shot or through its agent. Each
 * command lives in a file of its own (client_send.c, client_start.c, ...);
 * docs/client.md and docs/agent.md are the user's guides.
 */
#include <stdio.h>

#include <tcpseal/error.h>
#include <tcpseal/log.h>

#include "cli/client_chat_cli.h"
#include "cli/client_cli.h"
#include "util/crypto_init.h"

static const struct cli_command *const commands_list[] = {
    &client_cmd_send,
    &client_cmd_sign,
    &client_cmd_response,
    &client_cmd_forget,
    &client_cmd_fingerprint,
    &client_cmd_start,
    &client_cmd_status,
    &client_cmd_stop,
    &client_cmd_register,
    &client_cmd_login,
    &client_cmd_logout,
    &client_cmd_whoami,
    &client_cmd_passwd,
    &client_cmd_say,
    &client_cmd_dm,
    &client_cmd_users,
    &client_cmd_history,
    &client_cmd_listen,
    &client_cmd_chat,
};

#define N_COMMANDS (sizeof(commands_list) / sizeof(commands_list[0]))

int main(int argc, char **argv)
{
    struct cli_command table[N_COMMANDS];

    for (size_t i = 0; i < N_COMMANDS; i++)
        table[i] = *commands_list[i];
    /* The library's informational lines would only clutter a one-shot
     * command's output; TCPSEAL_LOG can still ask for them. */
    /* Passphrases live in sodium_malloc() memory, which libsodium hands
     * out only once it is initialised. */
    if (crypto_init() != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot initialise libsodium");
        return EXIT_FAILURE_GENERIC;
    }
    ts_log_set_level(TS_LOG_WARN);
    if (ts_log_init_from_env() != TS_OK)
        cli_error(CLIENT_PROGRAM, "ignoring TCPSEAL_LOG: not one of error, warn, info, "
                  "debug, trace");
    return cli_dispatch(CLIENT_PROGRAM,
                        "Send requests to a tcpseal server over an encrypted, "
                        "authenticated channel.",
                        table, N_COMMANDS, argc, argv);
}
