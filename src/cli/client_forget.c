/*
 * tcp_client forget: drop a server from the known servers, so that its
 * next (changed) key is recorded on first use again.
 */
#include <stdio.h>
#include <stdlib.h>

#include <tcpseal/error.h>

#include "cli/client_cli.h"
#include "client/known_servers.h"

static int forget_address(const char *text, uint16_t default_port, char *hostport,
                          size_t cap)
{
    char host[NET_HOST_MAX + 1];
    uint16_t port;
    int rc = net_hostport_parse(text, default_port, host, sizeof(host), &port);

    if (rc == TS_OK)
        rc = net_hostport_format(host, port, hostport, cap);
    if (rc != TS_OK) {
        cli_error(CLIENT_PROGRAM, "forget: invalid server address '%s': %s", text,
                  ts_error_detail(rc));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static const char forget_options[] =
    "  HOST[:PORT]          the server, as -H and -p would name it; PORT defaults\n"
    "                       to 8080, an IPv6 address is written [ADDRESS]:PORT\n"
    "  -H, --host HOST      the server's host instead of HOST[:PORT]\n"
    "  -p, --port PORT      its port (8080)\n"
    "  -h, --help           show this help\n";

/* The server named by the argument, else by -H and -p. */
static int forget_target(const struct client_simple *o, char *hostport, size_t cap)
{
    /* A port given with -p serves an argument that names none. */
    if (o->n_args == 1)
        return forget_address(o->args[0], o->port_given ? o->port : CLIENT_DEFAULT_PORT,
                              hostport, cap);
    if (!o->server_given)
        return cli_usage(CLIENT_PROGRAM, &client_cmd_forget, true);
    snprintf(hostport, cap, "%s", o->hostport);
    return EXIT_OK;
}

static int forget_run(int argc, char **argv)
{
    struct client_simple o = {.allow_server = true, .max_args = 1};
    char hostport[NET_HOSTPORT_MAX], *dir = NULL, *path = NULL;
    size_t removed = 0;
    int rc, status;

    status = client_simple_parse(&client_cmd_forget, forget_options, argc, argv, &o);
    if (status != -1)
        return status;
    if ((status = forget_target(&o, hostport, sizeof(hostport))) != EXIT_OK)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = EXIT_LOCAL_STATE;
    if ((path = client_state_path(dir, KNOWN_SERVERS_FILE)) == NULL)
        goto done;
    rc = known_servers_forget(path, hostport, &removed);
    if (rc == TS_OK) {
        printf("removed %s from the known servers; the next connection records its key "
               "again\n", hostport);
        status = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
    } else if (rc == TS_ERR_NOT_FOUND) {
        cli_error(CLIENT_PROGRAM, "%s is not a known server (%s)", hostport, path);
        status = EXIT_FAILURE_GENERIC;
    } else {
        cli_error(CLIENT_PROGRAM, "cannot update the known servers: %s",
                  ts_error_detail(rc));
    }
done:
    free(path);
    free(dir);
    return status;
}

const struct cli_command client_cmd_forget = {
    "forget",
    "Forget the recorded key of a server (to accept its new key on the next "
    "connection).",
    "forget HOST[:PORT] | forget [-H HOST] [-p PORT]",
    forget_run,
};
