/*
 * One-time initialisation of the crypto libraries. libsodium must be
 * initialised before its first use; every entry point that reaches a
 * primitive calls crypto_init() first, so embedders need no setup call.
 */
#ifndef TS_UTIL_CRYPTO_INIT_H
#define TS_UTIL_CRYPTO_INIT_H

/* 0, or TS_ERR_CRYPTO when libsodium cannot initialise. Thread-safe and
 * cheap after the first call. */
int crypto_init(void);

#endif /* TS_UTIL_CRYPTO_INIT_H */
