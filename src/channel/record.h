/*
 * Records: messages of any size (up to the configured maximum) carried in
 * transport frames of at most 65535 bytes.
 *
 * A record starts with a RECORD_BEGIN frame holding the record's total
 * length and its first bytes, and continues with RECORD_CONT frames until
 * the total is reached. Control frames (ping, rekey...) may come between the
 * fragments of a record; another RECORD_BEGIN may not. Because the total
 * comes first, the maximum message size is enforced before anything is
 * buffered: an announced record over the limit is skipped frame by frame
 * and reported once, and the connection can go on.
 *
 * This file only tracks reassembly; the channel encrypts and decrypts the
 * frames around it.
 */
#ifndef TS_CHANNEL_RECORD_H
#define TS_CHANNEL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise/noise.h"
#include "util/dbuf.h"

/* Plaintext frame types (first byte of every decrypted transport frame). */
enum frame_type {
    FRAME_RECORD_BEGIN = 0x01, /* u32 total length, then fragment bytes */
    FRAME_RECORD_CONT = 0x02,  /* fragment bytes (at least one) */
    FRAME_PING = 0x03,         /* 8 opaque bytes, answered by a PONG */
    FRAME_PONG = 0x04,         /* the 8 bytes of the PING it answers */
    FRAME_REKEY = 0x05,        /* empty: sender rekeys after this frame */
    FRAME_CLOSE = 0x06,        /* u16 reason, u8 text length, text */
};

/* A frame's plaintext: the frame minus its 2-byte length and 16-byte tag. */
#define FRAME_MAX_PLAINTEXT (NOISE_MAX_MESSAGE - NOISE_TAG_LEN)
#define RECORD_BEGIN_HEADER 5 /* type + u32 total */
#define RECORD_CONT_HEADER 1  /* type */
#define RECORD_BEGIN_MAX_FRAGMENT (FRAME_MAX_PLAINTEXT - RECORD_BEGIN_HEADER)
#define RECORD_CONT_MAX_FRAGMENT (FRAME_MAX_PLAINTEXT - RECORD_CONT_HEADER)

struct record_reader {
    size_t max;          /* largest record accepted */
    bool active;         /* inside a record */
    bool discarding;     /* inside a record over the limit */
    uint32_t total;      /* announced length of the current record */
    uint32_t received;   /* bytes of it seen so far */
    struct dbuf buf;     /* reassembly; allocated only for multi-frame records */
};

/* What one frame completed. */
struct record_result {
    enum {
        RECORD_PENDING,  /* more fragments to come */
        RECORD_COMPLETE, /* data/len hold the whole record */
        RECORD_OVERSIZE, /* a record of `total` bytes was refused; skipping it */
    } status;
    uint8_t *data;       /* into the frame or the reader; valid until the next call */
    size_t len;
    uint32_t total;
};

void record_reader_init(struct record_reader *rr, size_t max);

/*
 * Feed the body of a RECORD_BEGIN or RECORD_CONT frame (everything after
 * the type byte). Returns 0 with *res filled, or TS_ERR_PROTOCOL when the
 * frame breaks the record rules (BEGIN inside a record, CONT outside one,
 * empty CONT, more bytes than announced) and TS_ERR_NOMEM.
 */
int record_reader_frame(struct record_reader *rr, uint8_t type, uint8_t *body,
                        size_t len, struct record_result *res);

/* Call once a RECORD_COMPLETE result has been consumed: releases a
 * reassembly buffer so an idle connection does not keep a large record's
 * memory. */
void record_reader_release(struct record_reader *rr);

/* Release the reassembly buffer (wiped). */
void record_reader_free(struct record_reader *rr);

#endif /* TS_CHANNEL_RECORD_H */
