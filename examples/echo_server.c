/*
 * A tcpseal server that answers every request with its payload reversed,
 * on the port given as the first argument (default 9000).
 *
 *   ./build/bin/echo_server 9000
 *   ./build/bin/tcp_client send -p 9000 "Hello"      ->  olleH
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/identity.h>
#include <tcpseal/protocol.h>
#include <tcpseal/server.h>

static void reverse_handler(ts_server *srv, ts_client_id client,
                            const ts_envelope *request, void *arg)
{
    size_t len;
    const uint8_t *payload = ts_envelope_payload(request, &len);
    char *reply = malloc(len + 1);

    if (reply == NULL) {
        ts_server_reply_error(srv, client, request, TS_REASON_SERVER_ERROR, "out of memory");
        return;
    }
    for (size_t i = 0; i < len; i++)
        reply[i] = (char)payload[len - 1 - i];
    ts_server_reply(srv, client, request, reply, len, "text/plain; charset=utf-8");
    free(reply);
}

int main(int argc, char **argv)
{
    ts_server_config cfg;
    ts_identity *identity = NULL;
    ts_server *srv = NULL;
    sigset_t stop;
    int sig, rc;

    ts_server_config_init(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 9000);

    /* A fresh identity each run; a real server loads a saved one. */
    if ((rc = ts_identity_generate(&identity)) != TS_OK ||
        (rc = ts_server_new(&srv, &cfg, identity)) != TS_OK)
        goto done;
    ts_server_set_handler(srv, reverse_handler, NULL);

    /* Serve on a background thread; stop cleanly on Ctrl-C. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    if ((rc = ts_server_start(srv)) != TS_OK)
        goto done;
    printf("echo_server listening on 127.0.0.1:%u\n", ts_server_port(srv));
    fflush(stdout);
    sigwait(&stop, &sig);
    ts_server_shutdown(srv, 2000);
    rc = ts_server_wait(srv);
done:
    if (rc != TS_OK)
        fprintf(stderr, "echo_server: %s\n", ts_error_detail(rc));
    ts_server_free(srv);
    ts_identity_free(identity);
    return rc == TS_OK ? 0 : 1;
}
