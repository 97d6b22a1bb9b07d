/*
 * The client state directory and the client identity kept in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "cli/client_cli.h"

int client_state_dir(char **dir)
{
    if (cli_state_dir(CLIENT_PROGRAM, NULL, CLIENT_DIR_ENV, CLIENT_DIR_LEAF, dir) != 0)
        return EXIT_LOCAL_STATE;
    return EXIT_OK;
}

char *client_state_path(const char *dir, const char *name)
{
    char *path = cli_path_join(dir, name);

    if (path == NULL)
        cli_error(CLIENT_PROGRAM, "out of memory");
    return path;
}

/* The passphrase from the environment, or NULL when none is set. A
 * passphrase file that cannot be read is an error, not "no passphrase":
 * a new key would otherwise be written in clear. 0 or -1 (printed). */
static int passphrase_get(char **out)
{
    const char *file = getenv(CLIENT_PASSPHRASE_FILE_ENV);
    const char *value = getenv(CLIENT_PASSPHRASE_ENV);
    bool file_set = file != NULL && *file != '\0';

    errno = 0;
    *out = cli_secret_from_env(CLIENT_PASSPHRASE_ENV, CLIENT_PASSPHRASE_FILE_ENV);
    if (*out == NULL && file_set) {
        cli_error(CLIENT_PROGRAM, "cannot read the passphrase file %s (%s): %s", file,
                  CLIENT_PASSPHRASE_FILE_ENV,
                  errno != 0 ? strerror(errno) : "out of memory");
        return -1;
    }
    if (*out == NULL && value != NULL) {
        cli_error(CLIENT_PROGRAM, "cannot hold the passphrase: out of memory");
        return -1;
    }
    return 0;
}

static int identity_create(const char *path, const char *passphrase, ts_identity **out)
{
    char fp[TS_FINGERPRINT_MAX];
    int rc;

    if ((rc = ts_identity_generate(out)) != TS_OK ||
        (rc = ts_identity_save(*out, path, passphrase)) != TS_OK) {
        cli_error(CLIENT_PROGRAM, "cannot create the client identity: %s",
                  ts_error_detail(rc));
        ts_identity_free(*out);
        *out = NULL;
        return EXIT_LOCAL_STATE;
    }
    ts_identity_fingerprint(*out, fp);
    fprintf(stderr, "%s: created client identity %s in %s%s\n", CLIENT_PROGRAM, fp, path,
            passphrase != NULL && *passphrase != '\0' ? " (encrypted)" : "");
    return EXIT_OK;
}

static int identity_load_or_create(const char *path, ts_identity **out)
{
    char *passphrase = NULL;
    int rc, status = EXIT_LOCAL_STATE;

    if (passphrase_get(&passphrase) != 0)
        return EXIT_LOCAL_STATE;
    rc = ts_identity_load(out, path, passphrase);
    if (rc == TS_OK)
        status = EXIT_OK;
    else if (rc == TS_ERR_NOT_FOUND)
        status = identity_create(path, passphrase, out);
    else if (rc == TS_ERR_PASSPHRASE && passphrase == NULL)
        cli_error(CLIENT_PROGRAM, "cannot load the client identity: %s; set %s or %s",
                  ts_error_detail(rc), CLIENT_PASSPHRASE_ENV, CLIENT_PASSPHRASE_FILE_ENV);
    else
        cli_error(CLIENT_PROGRAM, "cannot load the client identity: %s",
                  ts_error_detail(rc));
    cli_secret_free(passphrase);
    return status;
}

/* Two first runs at once must not each create a key (the second save
 * would replace the key the first one is using): creation happens under
 * an exclusive lock on the state directory itself. */
int client_identity_open(const char *dir, ts_identity **out)
{
    char *path = client_state_path(dir, CLIENT_IDENTITY_FILE);
    int dfd = -1, status = EXIT_LOCAL_STATE;

    *out = NULL;
    if (path == NULL)
        return EXIT_LOCAL_STATE;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot lock the state directory %s: %s", dir,
                  strerror(errno));
        goto done;
    }
    status = identity_load_or_create(path, out);
done:
    if (dfd >= 0)
        close(dfd);
    free(path);
    return status;
}
