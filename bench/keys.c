#include "keys.h"

#include <stdlib.h>

#include "bench.h"

int keys_create(struct bench_key **out, unsigned n)
{
    struct bench_key *keys = calloc(n, sizeof(*keys));
    int rc;

    *out = NULL;
    if (keys == NULL) {
        bench_error("out of memory for %u client keys", n);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct bench_key *k = &keys[i];

        if ((rc = ts_identity_generate(&k->id)) != TS_OK ||
            (rc = channel_credentials_init(&k->creds, k->id)) != TS_OK) {
            bench_error("cannot make a client key: %s", ts_error_detail(rc));
            keys_free(keys, n);
            return -1;
        }
        ts_identity_fingerprint(k->id, k->fingerprint);
        k->next_id = 1;
    }
    *out = keys;
    return 0;
}

void keys_free(struct bench_key *keys, unsigned n)
{
    if (keys == NULL)
        return;
    for (unsigned i = 0; i < n; i++) {
        channel_credentials_wipe(&keys[i].creds);
        ts_identity_free(keys[i].id);
    }
    free(keys);
}
