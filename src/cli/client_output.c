/*
 * What tcp_client shows: payloads, Error texts, the JSON view of an
 * answer, and the saved last response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/client_cli.h"
#include "client/server_error.h"
#include "client/state_file.h"

void client_error_text(const uint8_t *payload, size_t len, char *out, size_t cap)
{
    struct server_error e;

    /* A payload of another shape is still shown, as text. */
    (void)server_error_parse(payload, len, &e);
    server_error_describe(&e, out, cap);
}

int client_answer_json(const ts_envelope *env, bool verified, const char *hostport,
                       const char *server_key, char **out)
{
    char *base = NULL, *full;
    size_t len, n;
    int rc = ts_envelope_to_json(env, &base);

    *out = NULL;
    if (rc != TS_OK || (len = strlen(base)) < 2 || base[len - 1] != '}') {
        cli_error(CLIENT_PROGRAM, "cannot render the answer as JSON: %s",
                  ts_error_detail(rc != TS_OK ? rc : TS_ERR_MALFORMED));
        free(base);
        return EXIT_FAILURE_GENERIC;
    }
    /* The addition is plain ASCII: a canonical host:port has no quotes or
     * backslashes, a fingerprint is base64. */
    n = len + strlen(hostport) + strlen(server_key) + 64;
    if ((full = malloc(n)) == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        free(base);
        return EXIT_FAILURE_GENERIC;
    }
    base[len - 1] = '\0';
    snprintf(full, n, "%s,\"verified\":%s,\"server\":\"%s\",\"server_key\":\"%s\"}", base,
             verified ? "true" : "false", hostport, server_key);
    free(base);
    *out = full;
    return EXIT_OK;
}

int client_answer_save(const char *dir, const char *json)
{
    char *path = client_state_path(dir, CLIENT_LAST_RESPONSE_FILE);
    size_t len = strlen(json);
    char *line;
    int rc, status = EXIT_LOCAL_STATE;

    if (path == NULL)
        return EXIT_LOCAL_STATE;
    if ((line = malloc(len + 2)) == NULL) {
        cli_error(CLIENT_PROGRAM, "out of memory");
        goto done;
    }
    memcpy(line, json, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    rc = state_file_replace(path, line, len + 1);
    if (rc != TS_OK)
        cli_error(CLIENT_PROGRAM, "cannot save the response: %s", ts_error_detail(rc));
    else
        status = EXIT_OK;
    free(line);
done:
    free(path);
    return status;
}

int client_print_payload(const uint8_t *data, size_t len)
{
    if ((len > 0 && fwrite(data, 1, len, stdout) != len) || putchar('\n') == EOF ||
        fflush(stdout) != 0) {
        cli_error(CLIENT_PROGRAM, "cannot write the output");
        return EXIT_FAILURE_GENERIC;
    }
    return EXIT_OK;
}

/* The one-shot client's statuses (docs/client.md) for the library's
 * errors. */
int client_exit_status(int rc, const char *detail)
{
    switch (rc) {
    case TS_ERR_CONNECT:
        return EXIT_NOT_RUNNING;
    case TS_ERR_TIMEOUT:
        return EXIT_TIMEOUT;
    case TS_ERR_REJECTED:
        return EXIT_REFUSED;
    case TS_ERR_KEY_MISMATCH:
        return EXIT_KEY_MISMATCH;
    case TS_ERR_CLOSED:
    case TS_ERR_NOMEM:
    case TS_ERR_LIMIT:
    case TS_ERR_STATE:
        return EXIT_FAILURE_GENERIC;
    case TS_ERR_TOO_LARGE:
    case TS_ERR_INVALID:
        return EXIT_USAGE;
    default:
        return strstr(detail, "cannot check the server key") != NULL ? EXIT_LOCAL_STATE
                                                                      : EXIT_PROTOCOL;
    }
}
