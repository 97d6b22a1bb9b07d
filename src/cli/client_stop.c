/*
 * tcp_client stop: the agent closes its session with the reason "client
 * exiting" and ends; this command returns once it is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tcpseal/error.h>

#include "cli/client_agent.h"
#include "util/clock.h"

#define STOP_TIMEOUT_MS 10000u
#define STOP_POLL_MS 20

static const char stop_options[] = "  -h, --help  show this help\n";

/* The agent releases agent.pid last: once it is free, the agent is gone. */
static int wait_gone(const char *dir, long pid)
{
    char *path = client_state_path(dir, AGENT_PID_FILE);
    uint64_t deadline = clock_mono_ms() + STOP_TIMEOUT_MS;
    struct timespec pause = {0, STOP_POLL_MS * 1000000L};
    long holder;

    if (path == NULL)
        return EXIT_LOCAL_STATE;
    while ((holder = agent_pidfile_holder(path)) != 0 && clock_mono_ms() < deadline)
        nanosleep(&pause, NULL);
    free(path);
    if (holder != 0) {
        cli_error(CLIENT_PROGRAM, "the agent (pid %ld) did not end within %u s", pid,
                  STOP_TIMEOUT_MS / 1000u);
        return EXIT_TIMEOUT;
    }
    printf("%s agent stopped (pid %ld)\n", CLIENT_PROGRAM, pid);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_GENERIC;
}

static int stop_run(int argc, char **argv)
{
    struct client_simple o = {0};
    json_t *answer = NULL;
    char *dir = NULL;
    long pid;
    int status;

    if ((status = client_simple_parse(&client_cmd_stop, stop_options, argc, argv, &o)) != -1)
        return status;
    if ((status = client_state_dir(&dir)) != EXIT_OK)
        return status;
    status = agent_call(dir, json_pack("{s:s}", "cmd", "stop"), STOP_TIMEOUT_MS, &answer,
                        NULL);
    if (status == EXIT_NOT_RUNNING) {
        free(dir);
        return agent_not_running(false);
    }
    if (status == EXIT_OK && !json_is_true(json_object_get(answer, "ok")))
        status = agent_refused("stop", answer);
    if (status == EXIT_OK) {
        pid = (long)json_integer_value(json_object_get(answer, "pid"));
        status = wait_gone(dir, pid);
    }
    json_decref(answer);
    free(dir);
    return status;
}

const struct cli_command client_cmd_stop = {
    "stop",
    "Stop the agent: it closes its session (reason: client exiting) and ends; queued "
    "messages stay in its outbox for the next start.",
    "stop",
    stop_run,
};
