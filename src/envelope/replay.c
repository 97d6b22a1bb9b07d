#include <inttypes.h>
#include <string.h>

#include <tcpseal/envelope.h>

#include "util/error.h"

#define WORD_BITS 64u
#define WINDOW_WORDS (TS_REPLAY_WINDOW / WORD_BITS)

_Static_assert(TS_REPLAY_WINDOW % WORD_BITS == 0, "the window is whole words");

void ts_replay_window_init(ts_replay_window *w)
{
    memset(w, 0, sizeof(*w));
}

/* Move every remembered bit up by shift positions (bit i, meaning
 * highest - i, becomes bit i + shift) as highest advances; bits that pass
 * the end of the window are forgotten. */
static void window_shift(ts_replay_window *w, uint64_t shift)
{
    if (shift >= TS_REPLAY_WINDOW) {
        memset(w->bits, 0, sizeof(w->bits));
        return;
    }
    const size_t words = (size_t)(shift / WORD_BITS);
    const unsigned bits = (unsigned)(shift % WORD_BITS);
    for (size_t i = WINDOW_WORDS; i-- > 0;) {
        uint64_t v = 0;
        if (i >= words) {
            v = w->bits[i - words] << bits;
            if (bits != 0 && i > words)
                v |= w->bits[i - words - 1] >> (WORD_BITS - bits);
        }
        w->bits[i] = v;
    }
}

static bool window_has(const ts_replay_window *w, uint64_t offset)
{
    return (w->bits[offset / WORD_BITS] >> (offset % WORD_BITS) & 1u) != 0;
}

int ts_replay_window_check(const ts_replay_window *w, uint64_t seq)
{
    uint64_t offset;

    if (seq == 0)
        return error_set(TS_ERR_INVALID, "sequence number 0 is not valid");
    if (seq > w->highest)
        return TS_OK;
    offset = w->highest - seq;
    if (offset >= TS_REPLAY_WINDOW)
        return error_set(TS_ERR_DUPLICATE,
                         "sequence %" PRIu64 " is older than the replay window "
                         "(highest %" PRIu64 ")",
                         seq, w->highest);
    if (window_has(w, offset))
        return error_set(TS_ERR_DUPLICATE, "sequence %" PRIu64 " was already accepted", seq);
    return TS_OK;
}

int ts_replay_window_accept(ts_replay_window *w, uint64_t seq)
{
    uint64_t offset;
    int rc;

    if ((rc = ts_replay_window_check(w, seq)) != TS_OK)
        return rc;
    if (seq > w->highest) {
        /* Before the first number, nothing is remembered to shift. */
        window_shift(w, w->highest == 0 ? TS_REPLAY_WINDOW : seq - w->highest);
        w->highest = seq;
    }
    offset = w->highest - seq;
    w->bits[offset / WORD_BITS] |= (uint64_t)1 << (offset % WORD_BITS);
    return TS_OK;
}
