#include "util/crypto_init.h"

#include <pthread.h>

#include <sodium.h>

#include "util/error.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void crypto_init_once(void)
{
    init_result = sodium_init() < 0 ? TS_ERR_CRYPTO : TS_OK;
}

int crypto_init(void)
{
    pthread_once(&init_once, crypto_init_once);
    if (init_result != TS_OK)
        return error_set(TS_ERR_CRYPTO, "libsodium failed to initialise");
    return TS_OK;
}
