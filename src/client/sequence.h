/*
 * The envelope sequence counter of a client identity.
 *
 * Receivers refuse a (sender, id) pair they have seen (within a window of
 * TS_REPLAY_WINDOW ids), so every envelope a client sends needs a fresh
 * id, across runs and across programs running at the same time with the
 * same state directory. The last id handed out is kept in a file
 * (SEQUENCE_FILE), read and advanced under an exclusive flock and synced
 * to disk before the id is used: an id is never handed out twice, even
 * after a crash (a crash can only skip ids, which receivers accept).
 *
 * The file holds the last id as 20 decimal digits and a newline. It is
 * always rewritten in place with the same length, so no write ever leaves
 * a shorter value followed by old digits.
 */
#ifndef TS_CLIENT_SEQUENCE_H
#define TS_CLIENT_SEQUENCE_H

#include <stdint.h>

#define SEQUENCE_FILE "sequence"

/*
 * Reserve count consecutive ids: *first gets the first (ids start at 1),
 * and the file records first + count - 1 before this returns. The file is
 * created (mode 0600) when missing. Errors: TS_ERR_INVALID (count 0),
 * TS_ERR_MALFORMED (the file does not hold a number: it was damaged or
 * edited; the detail names it), TS_ERR_LIMIT (ids exhausted), TS_ERR_IO.
 */
int sequence_reserve(const char *path, uint64_t count, uint64_t *first);

/* Reserve one id. */
int sequence_next(const char *path, uint64_t *id);

/* The last id handed out (0 when none, or no file), without reserving.
 * TS_ERR_MALFORMED or TS_ERR_IO on failure. */
int sequence_last(const char *path, uint64_t *last);

#endif /* TS_CLIENT_SEQUENCE_H */
