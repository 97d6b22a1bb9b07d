#include "channel/record.h"

#include "util/bytes.h"
#include "util/error.h"

void record_reader_init(struct record_reader *rr, size_t max)
{
    rr->max = max;
    rr->active = false;
    rr->discarding = false;
    rr->total = 0;
    rr->received = 0;
    dbuf_init(&rr->buf, max);
}

static int record_begin(struct record_reader *rr, uint8_t *body, size_t len,
                        struct record_result *res)
{
    size_t fragment;
    uint32_t total;

    if (rr->active)
        return error_set(TS_ERR_PROTOCOL, "record started inside another record");
    if (len < RECORD_BEGIN_HEADER - 1)
        return error_set(TS_ERR_PROTOCOL, "record header truncated");
    total = load_u32(body);
    fragment = len - (RECORD_BEGIN_HEADER - 1);
    if (fragment > total)
        return error_set(TS_ERR_PROTOCOL, "record fragment longer than the record");
    res->total = total;
    if (total > rr->max) {
        /* Refuse before buffering anything; skip the rest as it arrives. */
        res->status = RECORD_OVERSIZE;
        rr->active = rr->discarding = fragment < total;
        rr->total = total;
        rr->received = (uint32_t)fragment;
        return TS_OK;
    }
    if (fragment == total) {
        res->status = RECORD_COMPLETE;
        res->data = body + (RECORD_BEGIN_HEADER - 1);
        res->len = fragment;
        return TS_OK;
    }
    dbuf_reset(&rr->buf);
    if (dbuf_append(&rr->buf, body + (RECORD_BEGIN_HEADER - 1), fragment) != TS_OK)
        return error_set(TS_ERR_NOMEM, "no memory for a %u-byte record", total);
    rr->active = true;
    rr->discarding = false;
    rr->total = total;
    rr->received = (uint32_t)fragment;
    res->status = RECORD_PENDING;
    return TS_OK;
}

static int record_continue(struct record_reader *rr, uint8_t *body, size_t len,
                           struct record_result *res)
{
    if (!rr->active)
        return error_set(TS_ERR_PROTOCOL, "record continuation outside a record");
    if (len == 0)
        return error_set(TS_ERR_PROTOCOL, "empty record continuation");
    if (len > (size_t)(rr->total - rr->received))
        return error_set(TS_ERR_PROTOCOL, "record continues past its announced length");
    rr->received += (uint32_t)len;
    res->total = rr->total;
    res->status = RECORD_PENDING;
    if (!rr->discarding &&
        dbuf_append(&rr->buf, body, len) != TS_OK)
        return error_set(TS_ERR_NOMEM, "no memory for a %u-byte record", rr->total);
    if (rr->received < rr->total)
        return TS_OK;
    rr->active = false;
    if (rr->discarding) {
        rr->discarding = false;
        return TS_OK;
    }
    res->status = RECORD_COMPLETE;
    res->data = dbuf_ptr(&rr->buf);
    res->len = dbuf_size(&rr->buf);
    return TS_OK;
}

int record_reader_frame(struct record_reader *rr, uint8_t type, uint8_t *body,
                        size_t len, struct record_result *res)
{
    res->status = RECORD_PENDING;
    res->data = NULL;
    res->len = 0;
    res->total = 0;
    if (type == FRAME_RECORD_BEGIN)
        return record_begin(rr, body, len, res);
    if (type == FRAME_RECORD_CONT)
        return record_continue(rr, body, len, res);
    return error_set(TS_ERR_INVALID, "frame type %u is not a record frame", type);
}

void record_reader_release(struct record_reader *rr)
{
    if (!rr->active)
        dbuf_free(&rr->buf);
}

void record_reader_free(struct record_reader *rr)
{
    dbuf_free(&rr->buf);
    rr->active = rr->discarding = false;
}
