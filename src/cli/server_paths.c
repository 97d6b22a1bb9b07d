#include "cli/server_paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_common.h"

/*
 * cli_state_dir() always creates the directory. A control command such as
 * `status` should not leave a directory behind on a machine where no
 * server ever ran, so it resolves the same name without creating it.
 */
static int state_dir_name(const char *explicit_dir, char **out)
{
    const char *env = getenv(SERVER_DIR_ENV);
    const char *home = getenv("HOME");
    size_t n;

    if (explicit_dir != NULL && *explicit_dir != '\0') {
        *out = strdup(explicit_dir);
    } else if (env != NULL && *env != '\0') {
        *out = strdup(env);
    } else if (home != NULL && *home != '\0') {
        n = strlen(home) + sizeof("/.local/state/tcpseal/server");
        *out = malloc(n);
        if (*out != NULL)
            snprintf(*out, n, "%s/.local/state/tcpseal/server", home);
    } else {
        cli_error(SERVER_PROGRAM, "no state directory: set %s or HOME", SERVER_DIR_ENV);
        return -1;
    }
    if (*out == NULL) {
        cli_error(SERVER_PROGRAM, "cannot resolve the state directory: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* A daemon changes to / after start-up, so every path is made absolute. */
static int make_absolute(char **dir)
{
    char cwd[PATH_MAX];
    char *abs;

    if ((*dir)[0] == '/')
        return 0;
    if (getcwd(cwd, sizeof(cwd)) == NULL || (abs = cli_path_join(cwd, *dir)) == NULL)
        return -1;
    free(*dir);
    *dir = abs;
    return 0;
}

int server_paths_init(struct server_paths *p, const char *explicit_dir, bool create)
{
    memset(p, 0, sizeof(*p));
    if (create) {
        if (cli_state_dir(SERVER_PROGRAM, explicit_dir, SERVER_DIR_ENV, "server", &p->dir) != 0)
            return -1;
    } else if (state_dir_name(explicit_dir, &p->dir) != 0) {
        return -1;
    }
    if (make_absolute(&p->dir) != 0)
        goto fail;
    p->identity = cli_path_join(p->dir, "identity.key");
    p->control = cli_path_join(p->dir, "control.sock");
    p->pid = cli_path_join(p->dir, "tcp_server.pid");
    p->log = cli_path_join(p->dir, "server.log");
    p->store = cli_path_join(p->dir, "tcpseal.db");
    if (p->identity == NULL || p->control == NULL || p->pid == NULL || p->log == NULL ||
        p->store == NULL)
        goto fail;
    return 0;
fail:
    cli_error(SERVER_PROGRAM, "cannot resolve the state directory: %s", strerror(errno));
    server_paths_free(p);
    return -1;
}

void server_paths_free(struct server_paths *p)
{
    free(p->dir);
    free(p->identity);
    free(p->control);
    free(p->pid);
    free(p->log);
    free(p->store);
    memset(p, 0, sizeof(*p));
}
