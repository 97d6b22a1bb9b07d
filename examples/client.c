/*
 * A tcpseal client in a few dozen lines: connect, one blocking request,
 * then a background thread with callbacks and one asynchronous send.
 *
 *     example_client HOST PORT [SERVER_FINGERPRINT]
 *
 * The identity is made fresh for each run; a real program loads one with
 * ts_identity_load(). Without a fingerprint, any server is accepted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <tcpseal/client.h>
#include <tcpseal/log.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
static int done;

static void on_state(ts_client *c, ts_client_state state, const char *reason, void *arg)
{
    printf("state: %s%s%s\n", ts_client_state_name(state), *reason ? " - " : "", reason);
}

static void on_answer(ts_client *c, uint64_t id, int status, const ts_envelope *answer,
                      void *arg)
{
    size_t len = 0;
    const uint8_t *text = answer ? ts_envelope_payload(answer, &len) : NULL;

    printf("answer to %llu: %.*s\n", (unsigned long long)id, (int)len, (const char *)text);
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_signal(&answered);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    ts_identity *id = NULL;
    ts_client *c = NULL;
    ts_envelope *response = NULL;
    ts_client_config cfg;
    const uint8_t *text;
    unsigned long port = argc >= 3 ? strtoul(argv[2], NULL, 10) : 0;
    size_t len;
    int rc;

    if (argc < 3 || port == 0 || port > 65535) {
        fprintf(stderr, "usage: %s HOST PORT [SERVER_FINGERPRINT]\n", argv[0]);
        return 2;
    }
    ts_log_set_level(TS_LOG_WARN); /* the library's info lines stay quiet */
    if (ts_identity_generate(&id) != TS_OK)
        return 1;
    ts_client_config_init(&cfg);
    cfg.host = argv[1];
    cfg.port = (uint16_t)port;
    cfg.identity = id;
    cfg.server_key = argc > 3 ? argv[3] : NULL;
    if ((rc = ts_client_new(&c, &cfg)) != TS_OK)
        goto fail;
    ts_client_set_state_callback(c, on_state, NULL);
    if ((rc = ts_client_connect(c, 5000)) != TS_OK)
        goto fail;
    /* Blocking: this thread drives the connection until the answer. */
    if ((rc = ts_client_request(c, "hello", 5, TS_SEND_SIGN, 5000, &response)) != TS_OK)
        goto fail;
    text = ts_envelope_payload(response, &len);
    printf("response: %.*s\n", (int)len, (const char *)text);
    ts_envelope_free(response);
    /* From here a background thread runs the callbacks. */
    if ((rc = ts_client_listen_start(c)) != TS_OK ||
        (rc = ts_client_send(c, "async hello", 11, 0, on_answer, NULL, NULL)) != TS_OK)
        goto fail;
    pthread_mutex_lock(&lock);
    while (!done)
        pthread_cond_wait(&answered, &lock);
    pthread_mutex_unlock(&lock);
    ts_client_free(c); /* closes the session: "client exiting" */
    ts_identity_free(id);
    return 0;
fail:
    fprintf(stderr, "example_client: %s\n", ts_error_detail(rc));
    ts_client_free(c);
    ts_identity_free(id);
    return 1;
}
