/*
 * Relayed envelopes and the ts_client: a hook for the chat layer.
 *
 * A Chat envelope relayed from another user carries that user's
 * signature, which only the sender's registered keys can check (the
 * server's `whois`, docs/protocol.md section 10.2). The chat layer
 * (chat.h) installs a relay hook: each relayed envelope that passed its
 * hash check goes to the hook instead of the inbox and the message
 * callback, and the hook keeps it in the inbox once it has a verdict.
 * Without a hook, relayed envelopes go to the inbox and the message
 * callback at once, with verified false.
 *
 * Also here: the inbox listed with each entry's verdict, which
 * ts_client_inbox() leaves out.
 */
#ifndef TS_CLIENT_CLIENT_RELAY_H
#define TS_CLIENT_CLIENT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/client.h>

/* Called on the thread driving the client, without its lock; env is
 * valid during the call. */
typedef void (*client_relay_fn)(ts_client *c, const ts_envelope *env, void *arg);

/* Install the hook (fn NULL removes it). Like the callbacks: before
 * connecting or listening, from the thread that made the client. */
void client_set_relay_hook(ts_client *c, client_relay_fn fn, void *arg);

/* Keep a relayed envelope in the inbox with its verdict (signed, and the
 * signature verified against a registered key of its sender). 0,
 * TS_ERR_IO or TS_ERR_NOMEM. Any thread. */
int client_relay_keep(ts_client *c, const ts_envelope *env, bool verified);

/* One inbox entry with its verdict: for server messages, signed and
 * verified against the server identity; for relayed ones, what
 * client_relay_keep() was told. */
struct client_inbox_entry {
    ts_envelope *env;
    bool verified;
    uint64_t received_ms;
};

/* The newest max entries, oldest first, copied into *out (an array freed
 * with client_inbox_entries_free; NULL with *n 0 when empty). 0,
 * TS_ERR_IO or TS_ERR_NOMEM. Any thread. */
int client_inbox_entries(ts_client *c, size_t max, struct client_inbox_entry **out,
                         size_t *n);
void client_inbox_entries_free(struct client_inbox_entry *list, size_t n);

#endif /* TS_CLIENT_CLIENT_RELAY_H */
