/*
 * Envelope decoder fuzzer: whatever decodes must encode back to the same
 * bytes, render as JSON and go through verification without faults.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/envelope.h>

/* RFC 8032 test 1 public key: the seeds are signed by its secret half, so
 * inputs reach the Ed25519 check. */
static const uint8_t fuzz_public_key[TS_PUBLIC_KEY_LEN] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
    0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
    0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};

/* Fixed clock, so a run replays identically. */
#define FUZZ_NOW_MS 1727181296789ull
#define FUZZ_SKEW_MS 60000u

static void check_round_trip(const ts_envelope *env, const uint8_t *data, size_t size)
{
    uint8_t *enc = NULL;
    size_t len = 0;

    if (ts_envelope_encoded_size(env) != size ||
        ts_envelope_encode(env, &enc, &len) != TS_OK || len != size ||
        memcmp(enc, data, size) != 0)
        abort();
    free(enc);
}

static void check_json(const ts_envelope *env)
{
    char *json = NULL;

    if (ts_envelope_to_json(env, &json) != TS_OK || json == NULL || json[0] != '{')
        abort();
    free(json);
}

static void check_verify(ts_envelope *env)
{
    ts_verify_opts opts = {
        .public_key = fuzz_public_key,
        .max_skew_ms = FUZZ_SKEW_MS,
        .now_ms = FUZZ_NOW_MS,
    };

    (void)ts_envelope_verify(env, &opts);
    opts.require_signature = true;
    (void)ts_envelope_verify(env, &opts);
    /* Whatever arrived, sealing it afresh must give a hash that verifies. */
    if (ts_envelope_seal(env, NULL) != TS_OK || ts_envelope_verify(env, NULL) != TS_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_envelope *env = NULL;

    if (ts_envelope_decode(data, size, &env) != TS_OK) {
        if (env != NULL)
            abort();
        return 0;
    }
    check_round_trip(env, data, size);
    check_json(env);
    check_verify(env);
    ts_envelope_free(env);
    return 0;
}
