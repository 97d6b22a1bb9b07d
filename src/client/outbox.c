/*
 * The outbox state machine (outbox.h).
 */
#include "client/outbox.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tcpseal/envelope.h>
#include <tcpseal/error.h>
#include <tcpseal/protocol.h>

#include "client/outbox_store.h"
#include "util/error.h"

#define OUTBOX_INITIAL_CAP 16

void outbox_init(struct outbox *ob, struct client_db *db, size_t max_entries,
                 size_t max_bytes)
{
    memset(ob, 0, sizeof(*ob));
    ob->db = db;
    ob->max_entries = max_entries != 0 ? max_entries : TS_CLIENT_OUTBOX_MAX;
    ob->max_bytes = max_bytes != 0 ? max_bytes : TS_CLIENT_OUTBOX_MAX_BYTES;
}

void outbox_entry_free(struct outbox_entry *e)
{
    if (e == NULL)
        return;
    if (e->payload != NULL) {
        sodium_memzero(e->payload, e->len);
        free(e->payload);
    }
    free(e->sender);
    free(e->recipient);
    free(e->content_type);
    free(e);
}

void outbox_free(struct outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++)
        outbox_entry_free(ob->items[i]);
    free(ob->items);
    ob->items = NULL;
    ob->n = ob->cap = ob->cursor = ob->in_flight = ob->bytes = ob->queued_first = 0;
}

/* Index of the first entry with an id >= id. */
static size_t lower_bound(const struct outbox *ob, uint64_t id)
{
    size_t lo = 0, hi = ob->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ob->items[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct outbox_entry *outbox_find(const struct outbox *ob, uint64_t id)
{
    size_t i = lower_bound(ob, id);

    return i < ob->n && ob->items[i]->id == id ? ob->items[i] : NULL;
}

static int grow(struct outbox *ob)
{
    size_t cap = ob->cap != 0 ? ob->cap * 2 : OUTBOX_INITIAL_CAP;
    struct outbox_entry **items;

    if (ob->n < ob->cap)
        return TS_OK;
    if ((items = realloc(ob->items, cap * sizeof(*items))) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    ob->items = items;
    ob->cap = cap;
    return TS_OK;
}

static int copy_field(const char *src, char **dst)
{
    *dst = NULL;
    return src == NULL || (*dst = strdup(src)) != NULL ? TS_OK : TS_ERR_NOMEM;
}

static struct outbox_entry *entry_new(uint64_t id, const ts_client_outgoing *m,
                                      uint64_t created_ms)
{
    struct outbox_entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    /* One byte at least, so an empty payload still has a buffer. */
    if ((e->payload = malloc(m->len > 0 ? m->len : 1)) == NULL ||
        copy_field(m->sender, &e->sender) != TS_OK ||
        copy_field(m->recipient, &e->recipient) != TS_OK ||
        copy_field(m->content_type, &e->content_type) != TS_OK) {
        outbox_entry_free(e);
        return NULL;
    }
    if (m->len > 0)
        memcpy(e->payload, m->payload, m->len);
    e->id = id;
    e->flags = m->flags;
    e->type = m->type;
    e->len = m->len;
    e->created_ms = created_ms;
    e->state = OUTBOX_QUEUED;
    return e;
}

/* Put e in order; the list has room. */
static void insert(struct outbox *ob, struct outbox_entry *e)
{
    size_t i = lower_bound(ob, e->id);

    memmove(ob->items + i + 1, ob->items + i, (ob->n - i) * sizeof(*ob->items));
    ob->items[i] = e;
    ob->n++;
    ob->bytes += e->len;
    if (i < ob->cursor)
        ob->cursor = i;
    if ((e->flags & TS_SEND_FIRST) != 0)
        ob->queued_first++;
}

int outbox_add_message(struct outbox *ob, uint64_t id, const ts_client_outgoing *m,
                       uint64_t created_ms, struct outbox_entry **out)
{
    struct outbox_entry *e;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (id == 0)
        return error_set(TS_ERR_INVALID, "message id 0 is not allowed");
    if (m->type != TS_MSG_REQUEST && m->type != TS_MSG_COMMAND && m->type != TS_MSG_CHAT)
        return error_set(TS_ERR_INVALID, "a client sends Requests, Commands and Chat "
                         "messages, not type %d", (int)m->type);
    if (ob->n >= ob->max_entries || ob->bytes > ob->max_bytes ||
        m->len > ob->max_bytes - ob->bytes)
        return error_set(TS_ERR_LIMIT,
                         "the outbox is full (%zu messages, %zu bytes waiting for answers)",
                         ob->n, ob->bytes);
    if (outbox_find(ob, id) != NULL)
        return error_set(TS_ERR_EXISTS, "message %llu is in the outbox already",
                         (unsigned long long)id);
    if ((rc = grow(ob)) != TS_OK)
        return rc;
    if ((e = entry_new(id, m, created_ms)) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    /* On disk before anyone hears the id; a volatile message never is. */
    if (ob->db != NULL && (m->flags & TS_SEND_VOLATILE) == 0 &&
        (rc = outbox_store_put_message(ob->db, id, m, created_ms)) != TS_OK) {
        outbox_entry_free(e);
        return rc;
    }
    insert(ob, e);
    if (out != NULL)
        *out = e;
    return TS_OK;
}

int outbox_add(struct outbox *ob, uint64_t id, unsigned flags, const void *payload,
               size_t len, uint64_t created_ms, struct outbox_entry **out)
{
    ts_client_outgoing m = {
        .type = TS_MSG_REQUEST, .flags = flags, .payload = payload, .len = len,
    };

    return outbox_add_message(ob, id, &m, created_ms, out);
}

static int load_row(void *arg, uint64_t id, const ts_client_outgoing *m,
                    uint64_t created_ms)
{
    struct outbox *ob = arg;
    struct outbox_entry *e;
    int rc;

    if (outbox_find(ob, id) != NULL)
        return TS_OK;
    if ((rc = grow(ob)) != TS_OK)
        return rc;
    if ((e = entry_new(id, m, created_ms)) == NULL)
        return error_set(TS_ERR_NOMEM, "out of memory");
    e->loaded = true;
    insert(ob, e);
    return TS_OK;
}

int outbox_load(struct outbox *ob)
{
    if (ob->db == NULL)
        return TS_OK;
    return outbox_store_load(ob->db, load_row, ob);
}

/* Rare and few (commands that set up a session): a scan is enough. */
static struct outbox_entry *first_queued(const struct outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++) {
        if (ob->items[i]->state == OUTBOX_QUEUED && (ob->items[i]->flags & TS_SEND_FIRST) != 0)
            return ob->items[i];
    }
    return NULL;
}

struct outbox_entry *outbox_next_queued(struct outbox *ob)
{
    if (ob->queued_first > 0)
        return first_queued(ob);
    while (ob->cursor < ob->n && ob->items[ob->cursor]->state != OUTBOX_QUEUED)
        ob->cursor++;
    return ob->cursor < ob->n ? ob->items[ob->cursor] : NULL;
}

void outbox_mark_sent(struct outbox *ob, struct outbox_entry *e)
{
    if (e->state == OUTBOX_SENT)
        return;
    e->state = OUTBOX_SENT;
    if (e->attempts < UINT32_MAX)
        e->attempts++;
    ob->in_flight++;
    if ((e->flags & TS_SEND_FIRST) != 0)
        ob->queued_first--;
}

size_t outbox_requeue(struct outbox *ob)
{
    size_t moved = 0;

    for (size_t i = 0; i < ob->n; i++) {
        if (ob->items[i]->state == OUTBOX_SENT) {
            ob->items[i]->state = OUTBOX_QUEUED;
            ob->queued_first += (ob->items[i]->flags & TS_SEND_FIRST) != 0;
            moved++;
        }
    }
    ob->in_flight = 0;
    ob->cursor = 0;
    return moved;
}

static void remove_at(struct outbox *ob, size_t i)
{
    struct outbox_entry *e = ob->items[i];

    if (e->state == OUTBOX_SENT)
        ob->in_flight--;
    else if ((e->flags & TS_SEND_FIRST) != 0)
        ob->queued_first--;
    ob->bytes -= e->len;
    memmove(ob->items + i, ob->items + i + 1, (ob->n - i - 1) * sizeof(*ob->items));
    ob->n--;
    if (i < ob->cursor)
        ob->cursor--;
}

int outbox_settle(struct outbox *ob, int type, uint64_t correlation_id,
                  uint16_t error_code, enum outbox_outcome *outcome,
                  struct outbox_entry **done)
{
    struct outbox_entry *e;
    size_t i;
    int rc;

    *done = NULL;
    *outcome = OUTBOX_NOT_OURS;
    if ((type != TS_MSG_RESPONSE && type != TS_MSG_ERROR && type != TS_MSG_ACK) ||
        correlation_id == 0)
        return TS_OK;
    i = lower_bound(ob, correlation_id);
    if (i >= ob->n || ob->items[i]->id != correlation_id)
        return TS_OK;
    e = ob->items[i];
    if (ob->db != NULL && (e->flags & TS_SEND_VOLATILE) == 0 &&
        (rc = outbox_store_delete(ob->db, e->id)) != TS_OK)
        return rc;
    remove_at(ob, i);
    if (type != TS_MSG_ERROR)
        *outcome = OUTBOX_ANSWERED;
    else if (error_code == TS_REASON_DUPLICATE && (e->attempts > 1 || e->loaded))
        *outcome = OUTBOX_FORGOTTEN;
    else
        *outcome = OUTBOX_REFUSED;
    *done = e;
    return TS_OK;
}
