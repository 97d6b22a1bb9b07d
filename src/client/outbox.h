/*
 * The outbox: Requests waiting for their answer, and the state machine
 * each one goes through.
 *
 *     add ──> QUEUED ──mark_sent──> SENT ──settle──> (removed; the answer
 *               ^                     │               goes to the inbox)
 *               └──────requeue────────┘  (the connection was lost)
 *
 * - An entry enters QUEUED with its final id (taken from the sequence
 *   file or the client's counter before add), and is in the store file
 *   (when there is one) before add returns.
 * - On each connection, QUEUED entries are sent in ascending id order
 *   (outbox_next_queued) and become SENT: in flight on that connection.
 *   Entries flagged TS_SEND_FIRST go before all others (in id order among
 *   themselves).
 * - When the connection is lost every SENT entry goes back to QUEUED; the
 *   next connection sends it again with its ORIGINAL id, so the server
 *   recognises the repeat and answers with its first result.
 * - An answer (a Response, an Ack or an Error, with the entry's id as its
 *   correlation id) settles the entry: it leaves the store and the list.
 *   An Error 107 (duplicate) to an entry that may have been sent before
 *   (sent more than once, or loaded from the store) means the server
 *   processed it but no longer remembers the result: it is settled too,
 *   as OUTBOX_FORGOTTEN.
 *
 * Entries loaded from the store start QUEUED and count as possibly sent
 * before. An entry flagged TS_SEND_VOLATILE (a Command carrying a
 * password) never touches the store: it lives and dies in memory. Nothing here touches the network or takes locks: the client
 * calls it under its own lock. Entry memory is stable (the list holds
 * pointers), so a sender may read an entry's id and payload without the
 * lock while the entry is SENT: only settle and free release it.
 */
#ifndef TS_CLIENT_OUTBOX_H
#define TS_CLIENT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcpseal/client.h>

struct client_db;

enum outbox_state {
    OUTBOX_QUEUED, /* waiting to be sent on the current (or next) connection */
    OUTBOX_SENT,   /* written to the current connection, not answered yet */
};

struct outbox_entry {
    uint64_t id;
    unsigned flags;          /* TS_SEND_* */
    ts_msg_type type;        /* TS_MSG_REQUEST, TS_MSG_COMMAND or TS_MSG_CHAT */
    /* Envelope fields, owned; NULL for the defaults (ts_client_outgoing). */
    char *sender, *recipient, *content_type;
    uint64_t created_ms;     /* wall clock when added */
    uint8_t *payload;        /* owned; wiped when freed */
    size_t len;
    enum outbox_state state;
    uint32_t attempts;       /* times sent by this process */
    bool loaded;             /* came from the store: may have been sent before */
    /* Who hears the answer (not stored): a callback, and/or a blocking
     * request's slot (client code). */
    ts_send_callback cb;
    void *cb_arg;
    void *waiter;
};

struct outbox {
    struct client_db *db;    /* NULL: memory only */
    struct outbox_entry **items; /* ascending id */
    size_t n, cap;
    size_t cursor;           /* no QUEUED entry below this index */
    size_t queued_first;     /* QUEUED entries flagged TS_SEND_FIRST */
    size_t in_flight;        /* entries SENT */
    size_t bytes;            /* payload bytes held */
    size_t max_entries, max_bytes;
};

/* How an answer settled an entry. */
enum outbox_outcome {
    OUTBOX_ANSWERED,  /* a Response (or an Ack) */
    OUTBOX_REFUSED,   /* an Error */
    OUTBOX_FORGOTTEN, /* Error 107 to a message that may have been sent before */
    OUTBOX_NOT_OURS,  /* no entry has that id: not an answer to the outbox */
};

/* Empty outbox, persisted in db when not NULL (borrowed), holding at most
 * max_entries messages and max_bytes payload bytes (0 = the TS_CLIENT_*
 * defaults). */
void outbox_init(struct outbox *ob, struct client_db *db, size_t max_entries,
                 size_t max_bytes);

/*
 * Add a QUEUED entry for the message m describes (m->payload and
 * m->flags; the id is given). Stored first unless m->flags has
 * TS_SEND_VOLATILE (or there is no store). Errors as outbox_add(), and
 * TS_ERR_INVALID for a type other than Request, Command or Chat.
 */
int outbox_add_message(struct outbox *ob, uint64_t id, const ts_client_outgoing *m,
                       uint64_t created_ms, struct outbox_entry **out);

/* Load the stored entries (QUEUED, loaded = true). Entries over the
 * limits are loaded anyway (they were accepted before). 0, TS_ERR_IO or
 * TS_ERR_NOMEM. */
int outbox_load(struct outbox *ob);

/*
 * Add a QUEUED Request entry: stored first (when there is a store), then listed.
 * *out (may be NULL) gets the entry. 0, TS_ERR_LIMIT (full), TS_ERR_EXISTS
 * (id already present), TS_ERR_INVALID (id 0), TS_ERR_IO or TS_ERR_NOMEM;
 * nothing changes on failure.
 */
int outbox_add(struct outbox *ob, uint64_t id, unsigned flags, const void *payload,
               size_t len, uint64_t created_ms, struct outbox_entry **out);

/* The QUEUED entry to send next: the lowest id among those flagged
 * TS_SEND_FIRST, else the lowest id; NULL when none is queued. */
struct outbox_entry *outbox_next_queued(struct outbox *ob);

/* QUEUED -> SENT (counts the attempt). */
void outbox_mark_sent(struct outbox *ob, struct outbox_entry *e);

/* The connection was lost: every SENT entry back to QUEUED. Returns how
 * many went back. */
size_t outbox_requeue(struct outbox *ob);

/* The entry with id, or NULL. */
struct outbox_entry *outbox_find(const struct outbox *ob, uint64_t id);

/*
 * An answer arrived: type (TS_MSG_RESPONSE, TS_MSG_ACK or TS_MSG_ERROR), the
 * correlation id, and for an Error its reason code (0 otherwise). When an
 * entry has that id it is removed from the store and the list and handed
 * over in *done (caller frees with outbox_entry_free); *outcome says how
 * it was settled. Other types and unknown ids give OUTBOX_NOT_OURS with
 * *done NULL. 0, or TS_ERR_IO when the store row could not be removed
 * (the entry then stays, and a repeat answer settles it later).
 */
int outbox_settle(struct outbox *ob, int type, uint64_t correlation_id,
                  uint16_t error_code, enum outbox_outcome *outcome,
                  struct outbox_entry **done);

/* Entries held, and SENT among them. */
static inline size_t outbox_count(const struct outbox *ob)
{
    return ob->n;
}

static inline size_t outbox_in_flight(const struct outbox *ob)
{
    return ob->in_flight;
}

/* Wipe and free one entry (NULL ignored). */
void outbox_entry_free(struct outbox_entry *e);

/* Free every entry (the store keeps its rows). */
void outbox_free(struct outbox *ob);

#endif /* TS_CLIENT_OUTBOX_H */
