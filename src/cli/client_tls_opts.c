/*
 * The TLS options of tcp_client (client_tls_opts.h).
 */
#include "cli/client_tls_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_cli.h"
#include "tls/pin.h"

static int tls_usage(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int tls_usage(const struct cli_command *cmd, const char *fmt, ...)
{
    char text[PATH_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cli_error(CLIENT_PROGRAM, "%s: %s", cmd->name, text);
    return cli_usage(CLIENT_PROGRAM, cmd, true);
}

bool client_tls_is_option(int opt)
{
    return opt >= CLIENT_OPT_TLS && opt <= CLIENT_OPT_TLS_MIN_VERSION;
}

/* An existing file (or, for the CA, directory) as an absolute path. */
static int path_value(const struct cli_command *cmd, const char *option, const char *arg,
                      char out[PATH_MAX])
{
    if (arg[0] == '\0')
        return tls_usage(cmd, "%s needs a file name", option);
    if (realpath(arg, out) == NULL) {
        out[0] = '\0';
        return tls_usage(cmd, "%s %s: %s", option, arg, strerror(errno));
    }
    return -1;
}

int client_tls_take(const struct cli_command *cmd, struct client_tls_opts *o, int opt,
                    const char *arg)
{
    uint8_t digest[TLS_PIN_DIGEST_LEN];

    if (opt == CLIENT_OPT_TLS) {
        o->enabled = true;
        return -1;
    }
    o->given = true;
    switch (opt) {
    case CLIENT_OPT_TLS_CA:
        return path_value(cmd, "--ca", arg, o->ca);
    case CLIENT_OPT_TLS_CERT:
        return path_value(cmd, "--cert", arg, o->cert);
    case CLIENT_OPT_TLS_KEY:
        return path_value(cmd, "--key", arg, o->key);
    case CLIENT_OPT_TLS_SERVERNAME:
        if (arg[0] == '\0' || strlen(arg) > TLS_SERVER_NAME_MAX)
            return tls_usage(cmd, "--servername wants a name of 1 to %d characters",
                             TLS_SERVER_NAME_MAX);
        snprintf(o->server_name, sizeof(o->server_name), "%s", arg);
        return -1;
    case CLIENT_OPT_TLS_PIN:
        if (strlen(arg) >= sizeof(o->pin) || tls_pin_parse(arg, digest) != TS_OK)
            return tls_usage(cmd, "--pin wants sha256// and the base64 of a 32-byte "
                             "SHA-256, not '%.80s'", arg);
        snprintf(o->pin, sizeof(o->pin), "%s", arg);
        return -1;
    case CLIENT_OPT_TLS_MIN_VERSION:
        if (tls_version_parse(arg, &o->min_version) != TS_OK)
            return tls_usage(cmd, "--tls-min-version is 1.2 or 1.3, not '%.20s'", arg);
        return -1;
    default:
        return tls_usage(cmd, "unknown TLS option");
    }
}

int client_tls_finish(const struct cli_command *cmd, const struct client_tls_opts *o)
{
    /* Without --tls the connection would be plain TCP and the options
     * silently unused. */
    if (o->given && !o->enabled)
        return tls_usage(cmd, "--ca, --cert, --key, --servername, --pin and "
                         "--tls-min-version are TLS options: add --tls");
    if ((o->cert[0] == '\0') != (o->key[0] == '\0'))
        return tls_usage(cmd, "a client certificate needs both --cert FILE and --key FILE");
    return -1;
}

static const char *or_null(const char *s)
{
    return s[0] != '\0' ? s : NULL;
}

void client_tls_apply(const struct client_tls_opts *o, ts_client_config *cfg)
{
    if (!o->enabled)
        return;
    cfg->tls = true;
    cfg->tls_ca = or_null(o->ca);
    cfg->tls_cert = or_null(o->cert);
    cfg->tls_key = or_null(o->key);
    cfg->tls_server_name = or_null(o->server_name);
    cfg->tls_pin = or_null(o->pin);
    cfg->tls_min_version = o->min_version;
}

int client_tls_context(const struct client_tls_opts *o, tls_client_ctx **out)
{
    struct tls_client_config cfg = {
        .ca = or_null(o->ca),
        .cert_file = or_null(o->cert),
        .key_file = or_null(o->key),
        .server_name = or_null(o->server_name),
        .pin = or_null(o->pin),
        .min_version = o->min_version,
    };

    *out = NULL;
    if (!o->enabled)
        return TS_OK;
    return tls_client_ctx_new(out, &cfg);
}
