/*
 * What the server does with each message a client sends: decode, check
 * rate limits, verify hash, signature, timestamp and sender, refuse
 * duplicates, then route by type. A client's mistake is answered with an
 * Error envelope and the connection goes on.
 */
#ifndef TS_SERVER_DISPATCH_H
#define TS_SERVER_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* One complete record from c. */
void dispatch_message(struct conn *c, const uint8_t *data, size_t len);

/* The same without charging the rate limits (a message that waited). */
void dispatch_envelope(struct conn *c, const uint8_t *data, size_t len);

/* c announced a record of size bytes, over the limit (already skipped). */
void dispatch_oversize(struct conn *c, uint64_t size);

#endif /* TS_SERVER_DISPATCH_H */
