/*
 * Known servers: the server identities a client has accepted, by address.
 *
 * The file (KNOWN_SERVERS_FILE in the client state directory) is text,
 * one server per line:
 *
 *     # comment
 *     localhost:8080 SHA256:JPbtasv+EAnAMNfKVnwzykgwkRSYI2tVYabIKr7F3ig
 *     [::1]:9000 SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw
 *
 * The address is written as net_hostport_format() does and compared
 * without regard to case; blank lines and lines starting with '#' are
 * comments; a line that is not "ADDRESS FINGERPRINT" is ignored (and kept
 * when the file is rewritten). An address may appear more than once; a key
 * matches when any of its lines names it.
 *
 * Concurrency: readers take a shared flock, writers an exclusive one.
 * Adding appends; forgetting writes a new file and renames it over the old
 * one, so a reader sees the old or the new file, never half of one, and a
 * writer that waited on the replaced file notices and opens the new one.
 *
 * Nothing here prints; the caller words the warning with
 * known_servers_mismatch_message().
 */
#ifndef TS_CLIENT_KNOWN_SERVERS_H
#define TS_CLIENT_KNOWN_SERVERS_H

#include <stddef.h>

#include <tcpseal/common.h>

#define KNOWN_SERVERS_FILE "known_servers"
/* A known-servers file larger than this is refused as damaged. */
#define KNOWN_SERVERS_MAX_SIZE (4u * 1024u * 1024u)

/*
 * Is fingerprint the known key of hostport in the file at path?
 *   0                    yes;
 *   TS_ERR_NOT_FOUND     hostport has no entry (or the file does not exist);
 *   TS_ERR_KEY_MISMATCH  hostport is known under other keys: expected
 *                        (capacity TS_FINGERPRINT_MAX, may be NULL) gets
 *                        the first one and *line (may be NULL) its line
 *                        number;
 *   TS_ERR_IO, TS_ERR_TOO_LARGE, TS_ERR_NOMEM.
 */
int known_servers_check(const char *path, const char *hostport,
                        const char *fingerprint, char *expected, size_t *line);

/* The first fingerprint recorded for hostport, into fingerprint
 * (capacity TS_FINGERPRINT_MAX). 0, TS_ERR_NOT_FOUND, TS_ERR_IO,
 * TS_ERR_TOO_LARGE or TS_ERR_NOMEM. */
int known_servers_lookup(const char *path, const char *hostport, char *fingerprint);

/*
 * Record that hostport has the key fingerprint: appends a line under an
 * exclusive lock, creating the file (mode 0600, with a comment saying what
 * it is) when missing, and syncs it to disk. When hostport is already
 * recorded (another process may have been first): TS_ERR_EXISTS if with
 * this key (nothing is written), TS_ERR_KEY_MISMATCH if only with others.
 * TS_ERR_INVALID for a hostport with spaces or '#' or a malformed
 * fingerprint; TS_ERR_IO.
 */
int known_servers_add(const char *path, const char *hostport, const char *fingerprint);

/*
 * Remove every line for hostport, keeping all other lines as they were:
 * writes the new content to a temporary file (mode 0600) in the same
 * directory, syncs it and renames it over path. *removed (may be NULL)
 * gets the number of lines removed. 0, TS_ERR_NOT_FOUND (no line for
 * hostport, or no file), TS_ERR_IO, TS_ERR_TOO_LARGE or TS_ERR_NOMEM.
 */
int known_servers_forget(const char *path, const char *hostport, size_t *removed);

/*
 * Word the warning for a changed server key, as one line (no newline) in
 * out (capacity cap; cut to fit): it names the server, both fingerprints,
 * and the command that accepts the new key ("PROGRAM forget HOSTPORT").
 */
void known_servers_mismatch_message(char *out, size_t cap, const char *program,
                                    const char *hostport, const char *expected,
                                    const char *got);

#endif /* TS_CLIENT_KNOWN_SERVERS_H */
