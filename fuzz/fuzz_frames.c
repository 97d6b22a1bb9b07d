/*
 * Transport frames and record reassembly as seen by an established server:
 * the input is a sequence of plaintext frames [type u8][length u16][body],
 * each encrypted by the real client so it passes authentication and reaches
 * the frame and record parsers.
 */
#include "fuzz_pair.h"

#include "util/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int establish(struct fuzz_side *c, struct fuzz_side *s)
{
    if (channel_start(c->ch) != 0)
        return -1;
    while (dbuf_size(&c->out) > 0 || dbuf_size(&s->out) > 0) {
        if (fuzz_deliver(c, s) != 0 || fuzz_deliver(s, c) != 0)
            return -1;
    }
    return channel_get_state(c->ch) == CHANNEL_ESTABLISHED ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_side client, server;
    struct reader r;

    fuzz_side_init(&client, NOISE_INITIATOR, 1);
    fuzz_side_init(&server, NOISE_RESPONDER, 3);
    if (establish(&client, &server) != 0)
        abort();
    reader_init(&r, data, size);
    while (reader_remaining(&r) >= 3) {
        uint8_t type;
        uint16_t len;
        const uint8_t *body;

        reader_u8(&r, &type);
        reader_u16(&r, &len);
        if (len > reader_remaining(&r))
            len = (uint16_t)reader_remaining(&r);
        reader_bytes(&r, len, &body);
        if (channel_write_frame(client.ch, type, body, len, NULL, 0) != 0)
            break;
        if (fuzz_deliver(&client, &server) != 0)
            break;
        dbuf_reset(&server.out);
    }
    fuzz_side_free(&client);
    fuzz_side_free(&server);
    return 0;
}
