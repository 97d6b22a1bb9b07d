#include "client/known_servers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tcpseal/error.h>
#include <tcpseal/identity.h>

#include "client/state_file.h"
#include "net/address.h"
#include "util/error.h"

#define KS_HEADER "# tcpseal known servers: one \"HOST:PORT SHA256:...\" per line\n"

/* The whole file in memory, NUL-terminated. */
struct ks_text {
    char *data;
    size_t len;
};

/* One parsed line: an entry when host and fingerprint were found. */
struct ks_entry {
    char host[NET_HOSTPORT_MAX];
    char fingerprint[TS_FINGERPRINT_MAX];
};

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Copy the next whitespace-separated word of [*p, end) into out. */
static bool next_word(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p, *e;

    while (s < end && is_blank(*s))
        s++;
    e = s;
    while (e < end && !is_blank(*e))
        e++;
    if (e == s || (size_t)(e - s) >= cap)
        return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    *p = e;
    return true;
}

/* "ADDRESS FINGERPRINT" with an optional trailing "# comment". */
static bool ks_parse_line(const char *line, size_t len, struct ks_entry *e)
{
    const char *p = line, *end = line + len;

    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return false;
    if (!next_word(&p, end, e->host, sizeof(e->host)) ||
        !next_word(&p, end, e->fingerprint, sizeof(e->fingerprint)) ||
        ts_fingerprint_validate(e->fingerprint) != TS_OK)
        return false;
    while (p < end && is_blank(*p))
        p++;
    return p == end || *p == '#';
}

/* Call visit for each line (without its newline); stop when it returns
 * false. */
static void ks_each_line(const struct ks_text *t,
                         bool (*visit)(void *arg, const char *line, size_t len,
                                       size_t number),
                         void *arg)
{
    size_t pos = 0, number = 0;

    while (pos < t->len) {
        const char *nl = memchr(t->data + pos, '\n', t->len - pos);
        size_t len = nl != NULL ? (size_t)(nl - (t->data + pos)) : t->len - pos;

        if (!visit(arg, t->data + pos, len, ++number))
            return;
        pos += len + (nl != NULL ? 1 : 0);
    }
}

struct ks_check {
    const char *hostport;
    const char *fingerprint;   /* NULL: just find the first */
    bool matched;
    bool seen;
    char first[TS_FINGERPRINT_MAX];
    size_t first_line;
};

static bool check_visit(void *arg, const char *line, size_t len, size_t number)
{
    struct ks_check *k = arg;
    struct ks_entry e;

    if (!ks_parse_line(line, len, &e) || strcasecmp(e.host, k->hostport) != 0)
        return true;
    if (!k->seen) {
        k->seen = true;
        snprintf(k->first, sizeof(k->first), "%s", e.fingerprint);
        k->first_line = number;
    }
    if (k->fingerprint != NULL && strcmp(e.fingerprint, k->fingerprint) == 0) {
        k->matched = true;
        return false;
    }
    return true;
}

static int ks_verdict(const struct ks_check *k, char *expected, size_t *line)
{
    if (k->matched)
        return TS_OK;
    if (!k->seen)
        return TS_ERR_NOT_FOUND;
    if (expected != NULL)
        snprintf(expected, TS_FINGERPRINT_MAX, "%s", k->first);
    if (line != NULL)
        *line = k->first_line;
    return TS_ERR_KEY_MISMATCH;
}

/* Read the file at path under a shared lock; a missing file is empty. */
static int ks_load(const char *path, struct ks_text *t)
{
    int fd = -1, rc;

    t->data = NULL;
    t->len = 0;
    rc = state_file_open_locked(path, O_RDONLY, LOCK_SH, &fd);
    if (rc == TS_ERR_NOT_FOUND)
        return TS_OK;
    if (rc == TS_OK)
        rc = state_file_read_all(fd, path, KNOWN_SERVERS_MAX_SIZE, &t->data, &t->len);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int ks_scan(const char *path, struct ks_check *k)
{
    struct ks_text t;
    int rc = ks_load(path, &t);

    if (rc != TS_OK)
        return rc;
    if (t.data != NULL)
        ks_each_line(&t, check_visit, k);
    free(t.data);
    return TS_OK;
}

int known_servers_check(const char *path, const char *hostport,
                        const char *fingerprint, char *expected, size_t *line)
{
    struct ks_check k = {.hostport = hostport, .fingerprint = fingerprint};
    int rc = ks_scan(path, &k);

    return rc != TS_OK ? rc : ks_verdict(&k, expected, line);
}

int known_servers_lookup(const char *path, const char *hostport, char *fingerprint)
{
    struct ks_check k = {.hostport = hostport};
    int rc = ks_scan(path, &k);

    if (rc != TS_OK)
        return rc;
    if (!k.seen)
        return TS_ERR_NOT_FOUND;
    snprintf(fingerprint, TS_FINGERPRINT_MAX, "%s", k.first);
    return TS_OK;
}

static int entry_check(const char *hostport, const char *fingerprint)
{
    if (*hostport == '\0' || strlen(hostport) >= NET_HOSTPORT_MAX ||
        strpbrk(hostport, " \t\r\n#") != NULL)
        return error_set(TS_ERR_INVALID, "invalid server address '%.80s'", hostport);
    if (ts_fingerprint_validate(fingerprint) != TS_OK)
        return error_set(TS_ERR_INVALID, "malformed fingerprint '%.60s'", fingerprint);
    return TS_OK;
}

/* Append the entry (and the header to a new file) at the end of fd. */
static int ks_append(int fd, const char *path, const struct ks_text *t,
                     const char *hostport, const char *fingerprint)
{
    char line[NET_HOSTPORT_MAX + TS_FINGERPRINT_MAX + sizeof(KS_HEADER) + 4];
    int n;

    n = snprintf(line, sizeof(line), "%s%s%s %s\n", t->len == 0 ? KS_HEADER : "",
                 t->len > 0 && t->data[t->len - 1] != '\n' ? "\n" : "", hostport,
                 fingerprint);
    if (n < 0 || (size_t)n >= sizeof(line))
        return error_set(TS_ERR_INVALID, "known-servers entry too long");
    return state_file_append_sync(fd, path, line, (size_t)n);
}

int known_servers_add(const char *path, const char *hostport, const char *fingerprint)
{
    struct ks_check k = {.hostport = hostport, .fingerprint = fingerprint};
    struct ks_text t = {NULL, 0};
    int fd = -1, rc;

    if ((rc = entry_check(hostport, fingerprint)) != TS_OK)
        return rc;
    rc = state_file_open_locked(path, O_RDWR | O_CREAT | O_APPEND, LOCK_EX, &fd);
    if (rc != TS_OK)
        goto done;
    if ((rc = state_file_read_all(fd, path, KNOWN_SERVERS_MAX_SIZE, &t.data,
                                  &t.len)) != TS_OK)
        goto done;
    /* Someone may have recorded it while we were connecting. */
    ks_each_line(&t, check_visit, &k);
    rc = ks_verdict(&k, NULL, NULL);
    if (rc == TS_OK)
        rc = TS_ERR_EXISTS;
    else if (rc == TS_ERR_KEY_MISMATCH)
        rc = error_set(rc, "%s is already known with another key", hostport);
    else if (rc == TS_ERR_NOT_FOUND)
        rc = ks_append(fd, path, &t, hostport, fingerprint);
done:
    free(t.data);
    if (fd >= 0)
        close(fd);
    return rc;
}

struct ks_filter {
    const char *hostport;
    char *out;
    size_t len;
    size_t removed;
};

static bool filter_visit(void *arg, const char *line, size_t len, size_t number)
{
    struct ks_filter *f = arg;
    struct ks_entry e;

    if (ks_parse_line(line, len, &e) && strcasecmp(e.host, f->hostport) == 0) {
        f->removed++;
        return true;
    }
    memcpy(f->out + f->len, line, len);
    f->len += len;
    f->out[f->len++] = '\n';
    return true;
}

int known_servers_forget(const char *path, const char *hostport, size_t *removed)
{
    struct ks_filter f = {.hostport = hostport};
    struct ks_text t = {NULL, 0};
    int fd = -1, rc;

    if (removed != NULL)
        *removed = 0;
    rc = state_file_open_locked(path, O_RDWR, LOCK_EX, &fd);
    if (rc == TS_ERR_NOT_FOUND)
        rc = error_set(TS_ERR_NOT_FOUND, "%s is not a known server", hostport);
    if (rc != TS_OK ||
        (rc = state_file_read_all(fd, path, KNOWN_SERVERS_MAX_SIZE, &t.data,
                                  &t.len)) != TS_OK)
        goto done;
    /* Each kept line gains at most a newline. */
    if ((f.out = malloc(t.len + 1)) == NULL) {
        rc = error_set(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ks_each_line(&t, filter_visit, &f);
    if (f.removed == 0)
        rc = error_set(TS_ERR_NOT_FOUND, "%s is not a known server", hostport);
    else
        rc = state_file_replace(path, f.out, f.len);
    if (rc == TS_OK && removed != NULL)
        *removed = f.removed;
done:
    free(f.out);
    free(t.data);
    if (fd >= 0)
        close(fd);
    return rc;
}

void known_servers_mismatch_message(char *out, size_t cap, const char *program,
                                    const char *hostport, const char *expected,
                                    const char *got)
{
    snprintf(out, cap,
             "WARNING: the identity of %s has changed! Someone may be impersonating "
             "it, or its key was replaced. Expected %s, got %s; not connecting. If "
             "you trust the new key, run: %s forget %s",
             hostport, expected, got, program, hostport);
}
