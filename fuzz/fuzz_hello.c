/*
 * Hello parsers: any input either fails cleanly or parses to a value that
 * encodes back to the same bytes.
 */
#include <string.h>

#include <tcpseal/error.h>

#include "channel/hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_client(const uint8_t *data, size_t size)
{
    struct hello_client h;
    uint8_t again[HELLO_MAX_LEN];
    size_t len;

    if (hello_client_parse(data, size, &h) != TS_OK)
        return;
    if (hello_client_encode(&h, again, sizeof(again), &len) != TS_OK ||
        len != size || memcmp(again, data, size) != 0)
        __builtin_trap();
}

static void check_server(const uint8_t *data, size_t size)
{
    struct hello_server h;

    (void)hello_server_parse(data, size, &h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t total;

    if (hello_header_parse(data, size, &total) == TS_OK && total != 0 &&
        total > size)
        return 0;
    check_client(data, size);
    check_server(data, size);
    return 0;
}
