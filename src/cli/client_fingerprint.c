/*
 * tcp_client fingerprint: this client's identity fingerprint, which a
 * server operator compares or registers.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>
#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/client_cli.h"
#include "identity/keyfile.h"

/* An encrypted key file keeps its public key readable
 * (docs/identity.md), so showing it needs no passphrase. */
static int public_fingerprint(const char *path, char fp[TS_FINGERPRINT_MAX])
{
    char text[KEYFILE_MAX_SIZE];
    struct keyfile kf;
    size_t len = 0;
    int rc;

    rc = keyfile_read(path, true, text, sizeof(text), &len);
    if (rc == TS_OK)
        rc = keyfile_parse(path, text, len, &kf);
    if (rc == TS_OK)
        ts_fingerprint_of_key(kf.public_key, fp);
    sodium_memzero(&kf, sizeof(kf));
    sodium_memzero(text, sizeof(text));
    if (rc != TS_OK)
        cli_error(CLIENT_PROGRAM, "cannot read the client identity: %s",
                  ts_error_detail(rc));
    return rc == TS_OK ? EXIT_OK : EXIT_LOCAL_STATE;
}

/* A clear key (or none yet: it is created, as any command would). */
static int loaded_fingerprint(const char *dir, char fp[TS_FINGERPRINT_MAX])
{
    ts_identity *id = NULL;
    int status = client_identity_open(dir, &id);

    if (status == EXIT_OK)
        ts_identity_fingerprint(id, fp);
    ts_identity_free(id);
    return status;
}

static const char fingerprint_options[] =
    "      --json  print {\"fingerprint\":\"SHA256:...\"}\n  -h, --help  show this help\n";

static int fingerprint_run(int argc, char **argv)
{
    struct client_simple o = {.allow_json = true};
    char fp[TS_FINGERPRINT_MAX], *dir = NULL, *path = NULL;
    int status;

    status = client_simple_parse(&client_cmd_fingerprint, fingerprint_options, argc, argv,
                                 &o);
    if (status != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = EXIT_LOCAL_STATE;
    if ((path = client_state_path(dir, CLIENT_IDENTITY_FILE)) == NULL)
        goto done;
    status = ts_identity_file_is_encrypted(path) ? public_fingerprint(path, fp)
                                                 : loaded_fingerprint(dir, fp);
    if (status != EXIT_OK)
        goto done;
    if (o.json)
        printf("{\"fingerprint\":\"%s\"}\n", fp);
    else
        printf("%s\n", fp);
    status = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
done:
    free(path);
    free(dir);
    return status;
}

const struct cli_command client_cmd_fingerprint = {
    "fingerprint",
    "Print this client's identity fingerprint (the identity is created on first use).",
    "fingerprint [--json]",
    fingerprint_run,
};
