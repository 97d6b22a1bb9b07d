#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/log.h"

_Static_assert(STORE_CHAIN_LEN >= crypto_generichash_BYTES_MIN &&
                   STORE_CHAIN_LEN <= crypto_generichash_BYTES_MAX,
               "the chain is a BLAKE2b output");

void store_chain_next(const uint8_t prev[STORE_CHAIN_LEN],
                      const uint8_t hash[TS_ENVELOPE_HASH_LEN],
                      uint8_t out[STORE_CHAIN_LEN])
{
    uint8_t input[STORE_CHAIN_LEN + TS_ENVELOPE_HASH_LEN];

    memcpy(input, prev, STORE_CHAIN_LEN);
    memcpy(input + STORE_CHAIN_LEN, hash, TS_ENVELOPE_HASH_LEN);
    /* BLAKE2b fails only for output or key sizes out of range, which the
     * assertion above rules out; going on would write a wrong chain into
     * the history, so stop instead. */
    if (crypto_generichash(out, STORE_CHAIN_LEN, input, sizeof(input), NULL, 0) != 0) {
        LOG_ERROR("store_chain_failed", "reason=\"BLAKE2b refused its parameters\"");
        abort();
    }
}
