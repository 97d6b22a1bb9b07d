/*
 * Handshake responder: a server channel that received a valid ClientHello
 * is fed arbitrary bytes as the rest of the stream (msg1, msg3, frames).
 */
#include "fuzz_pair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_side client, server;

    uint8_t mode;

    if (size == 0)
        return 0;
    mode = data[0];
    data++;
    size--;
    fuzz_side_init(&client, NOISE_INITIATOR, 1);
    fuzz_side_init(&server, NOISE_RESPONDER, 3);
    if (channel_start(client.ch) != 0 || fuzz_deliver(&client, &server) != 0)
        abort();
    /* An odd first byte runs a real msg1 first so msg3 parsing is reached. */
    if (mode & 1) {
        if (fuzz_deliver(&server, &client) != 0 || fuzz_deliver(&client, &server) != 0)
            abort();
    }
    (void)channel_feed(server.ch, data, size);
    fuzz_side_free(&client);
    fuzz_side_free(&server);
    return 0;
}
