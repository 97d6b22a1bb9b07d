/*
 * The server's identity key: loaded (or created on first start) by
 * `start`, shown by `tcp_server fingerprint`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/cli_common.h"
#include "cli/server_cmds.h"
#include "cli/server_ctl.h"
#include "cli/server_run.h"
#include "identity/keyfile.h"
#include "util/log.h"

#define PASSPHRASE_ENV "TCPSEAL_PASSPHRASE"
#define PASSPHRASE_FILE_ENV "TCPSEAL_PASSPHRASE_FILE"

/* The passphrase from the environment, or NULL when none is set. A
 * passphrase file that cannot be read is an error, not "no passphrase":
 * the key would otherwise be written in clear. 0 or -1 (printed). */
static int passphrase_get(char **out)
{
    const char *file = getenv(PASSPHRASE_FILE_ENV);

    /* cli_secret_from_env() holds the secret in sodium_malloc'd memory,
     * which aborts the program unless libsodium was initialised first. */
    if (sodium_init() < 0) {
        cli_error(SERVER_PROGRAM, "cannot initialise libsodium");
        return -1;
    }
    errno = 0;
    *out = cli_secret_from_env(PASSPHRASE_ENV, PASSPHRASE_FILE_ENV);
    if (*out == NULL && file != NULL && *file != '\0') {
        cli_error(SERVER_PROGRAM, "cannot read the passphrase file %s (%s): %s", file,
                  PASSPHRASE_FILE_ENV, errno != 0 ? strerror(errno) : "out of memory");
        return -1;
    }
    if (*out == NULL && getenv(PASSPHRASE_ENV) != NULL && (file == NULL || *file == '\0')) {
        cli_error(SERVER_PROGRAM, "cannot hold the passphrase: out of memory");
        return -1;
    }
    return 0;
}

static int identity_create(const struct server_paths *paths, const char *passphrase,
                           ts_identity **out)
{
    char fp[TS_FINGERPRINT_MAX];
    int rc;

    if ((rc = ts_identity_generate(out)) != TS_OK ||
        (rc = ts_identity_save(*out, paths->identity, passphrase)) != TS_OK) {
        cli_error(SERVER_PROGRAM, "cannot create the server identity: %s",
                  ts_error_detail(rc));
        ts_identity_free(*out);
        *out = NULL;
        return EXIT_LOCAL_STATE;
    }
    ts_identity_fingerprint(*out, fp);
    printf("%s: created server identity %s in %s%s\n", SERVER_PROGRAM, fp, paths->dir,
           passphrase != NULL && *passphrase != '\0' ? " (encrypted)" : "");
    fflush(stdout);
    LOG_INFO("identity_created", "fingerprint=%s path=\"%s\" encrypted=%s", fp,
             paths->identity, passphrase != NULL && *passphrase != '\0' ? "yes" : "no");
    return EXIT_OK;
}

int server_identity_open(const struct server_paths *paths, ts_identity **out)
{
    char *passphrase = NULL;
    int rc, status = EXIT_LOCAL_STATE;

    *out = NULL;
    if (passphrase_get(&passphrase) != 0)
        return EXIT_LOCAL_STATE;
    rc = ts_identity_load(out, paths->identity, passphrase);
    if (rc == TS_OK) {
        status = EXIT_OK;
    } else if (rc == TS_ERR_NOT_FOUND) {
        status = identity_create(paths, passphrase, out);
    } else if (rc == TS_ERR_PASSPHRASE && passphrase == NULL) {
        cli_error(SERVER_PROGRAM, "cannot load the server identity: %s; set %s or %s",
                  ts_error_detail(rc), PASSPHRASE_ENV, PASSPHRASE_FILE_ENV);
    } else {
        cli_error(SERVER_PROGRAM, "cannot load the server identity: %s", ts_error_detail(rc));
    }
    cli_secret_free(passphrase);
    return status;
}

/* ------------------------------------------------------------------ */
/* tcp_server fingerprint                                              */

/*
 * An encrypted key file keeps its public key readable (docs/identity.md),
 * so the fingerprint needs no passphrase: read that line only.
 */
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
    return rc;
}

/* A clear key file is loaded whole, which also checks that its public
 * key matches the secret one. */
static int clear_fingerprint(const char *path, char fp[TS_FINGERPRINT_MAX])
{
    ts_identity *id = NULL;
    int rc = ts_identity_load(&id, path, NULL);

    if (rc == TS_OK)
        ts_identity_fingerprint(id, fp);
    ts_identity_free(id);
    return rc;
}

static int fingerprint_run(int argc, char **argv)
{
    struct server_paths paths = {0};
    char fp[TS_FINGERPRINT_MAX];
    struct ctl_opts o;
    int status, rc;

    status = ctl_opts_parse(&server_cmd_fingerprint, 0, argc, argv, &o);
    if (status != CTL_CONTINUE)
        return status;
    if (o.argi < argc)
        return cli_usage(SERVER_PROGRAM, &server_cmd_fingerprint, true);
    if ((status = ctl_opts_paths(&o, &paths)) != EXIT_OK)
        return status;
    if (ts_identity_file_is_encrypted(paths.identity))
        rc = public_fingerprint(paths.identity, fp);
    else
        rc = clear_fingerprint(paths.identity, fp);
    if (rc == TS_OK) {
        printf("%s\n", fp);
        status = EXIT_OK;
    } else if (rc == TS_ERR_NOT_FOUND) {
        cli_error(SERVER_PROGRAM, "no server identity in %s yet ('%s start' creates it)",
                  paths.dir, SERVER_PROGRAM);
        status = EXIT_LOCAL_STATE;
    } else {
        cli_error(SERVER_PROGRAM, "cannot read the server identity: %s", ts_error_detail(rc));
        status = EXIT_LOCAL_STATE;
    }
    server_paths_free(&paths);
    return status;
}

const struct cli_command server_cmd_fingerprint = {
    "fingerprint",
    "Print the fingerprint of the server identity (no running server or passphrase "
    "needed).",
    "fingerprint [-c FILE] [--state-dir DIR]",
    fingerprint_run,
};
