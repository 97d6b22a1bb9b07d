#include "cli/server_show.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/server_paths.h"

#define CELL_MAX 80
#define N_COLUMNS 11

void show_duration(uint64_t seconds, char *out, size_t cap)
{
    uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
             s = seconds % 60;

    if (d > 0)
        snprintf(out, cap, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", d, h, m, s);
    else if (h > 0)
        snprintf(out, cap, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, s);
    else if (m > 0)
        snprintf(out, cap, "%" PRIu64 "m %" PRIu64 "s", m, s);
    else
        snprintf(out, cap, "%" PRIu64 "s", s);
}

void show_size(uint64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024) {
        snprintf(out, cap, "%" PRIu64 " B", bytes);
        return;
    }
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, cap, "%.1f %s", v, units[u]);
}

/* A counter from the document: -1 when absent (shown as "?"). */
static int64_t num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
                                                            : -1;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "?";
}

static void fmt_num(int64_t v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "?");
    else
        snprintf(out, cap, "%" PRId64, v);
}

static void fmt_size(int64_t v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "?");
    else
        show_size((uint64_t)v, out, cap);
}

/* "2026-11-21T10:00:00.000Z" (the server's timestamps) in ms since the
 * epoch; -1 when it does not parse. */
static int64_t parse_time(const char *text)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    time_t t;

    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 || text[n] != '\0')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

static int64_t now_unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Time since the timestamp at key, as a duration; "?" when unknown. */
static void fmt_age(json_t *obj, const char *key, int64_t now, char *out, size_t cap)
{
    int64_t t = parse_time(str(obj, key));

    if (t < 0)
        snprintf(out, cap, "?");
    else
        show_duration(now > t ? (uint64_t)(now - t) / 1000 : 0, out, cap);
}

/* ------------------------------------------------------------------ */
/* status                                                               */

static void status_listen(FILE *out, json_t *listen)
{
    size_t i;
    json_t *v;

    if (!json_is_array(listen) || json_array_size(listen) == 0) {
        fprintf(out, "?\n");
        return;
    }
    json_array_foreach(listen, i, v)
        fprintf(out, "%s%s", i > 0 ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
    fputc('\n', out);
}

/* Only the reasons that happened, e.g. "server_full 3, bad_hello 1". */
static void status_rejected(FILE *out, json_t *rejected)
{
    const char *reason;
    bool any = false;
    json_t *v;

    json_object_foreach(rejected, reason, v) {
        if (!json_is_integer(v) || json_integer_value(v) == 0)
            continue;
        fprintf(out, "%s%s %" JSON_INTEGER_FORMAT, any ? ", " : "", reason,
                json_integer_value(v));
        any = true;
    }
    fprintf(out, "%s\n", any ? "" : "none");
}

static void status_pair(FILE *out, const char *label, json_t *obj, const char *k1,
                        const char *n1, const char *k2, const char *n2, bool sizes)
{
    char a[32], b[32];

    if (sizes) {
        fmt_size(num(obj, k1), a, sizeof(a));
        fmt_size(num(obj, k2), b, sizeof(b));
    } else {
        fmt_num(num(obj, k1), a, sizeof(a));
        fmt_num(num(obj, k2), b, sizeof(b));
    }
    fprintf(out, "  %-12s %s %s, %s %s\n", label, a, n1, b, n2);
}

void show_status(FILE *out, json_t *st)
{
    json_t *conns = json_object_get(st, "connections");
    char up[48], a[32], b[32], c[32];

    fmt_num(num(st, "pid"), a, sizeof(a));
    fprintf(out, "%s is running (pid %s, version %s)\n", SERVER_PROGRAM, a, str(st, "version"));
    if (num(st, "uptime_s") >= 0)
        show_duration((uint64_t)num(st, "uptime_s"), up, sizeof(up));
    else
        snprintf(up, sizeof(up), "?");
    fprintf(out, "  %-12s %s (since %s)\n", "uptime", up, str(st, "started_at"));
    fprintf(out, "  %-12s ", "listening");
    status_listen(out, json_object_get(st, "listen"));
    if (json_array_size(json_object_get(st, "tls_listen")) > 0) {
        fprintf(out, "  %-12s ", "tls");
        status_listen(out, json_object_get(st, "tls_listen"));
    }
    fprintf(out, "  %-12s %s\n", "fingerprint", str(st, "fingerprint"));
    fmt_num(num(st, "workers"), a, sizeof(a));
    fprintf(out, "  %-12s %s\n", "workers", a);
    fmt_num(num(conns, "current"), a, sizeof(a));
    fmt_num(num(conns, "peak"), b, sizeof(b));
    fmt_num(num(conns, "total"), c, sizeof(c));
    fprintf(out, "  %-12s %s now, %s peak, %s in total\n", "connections", a, b, c);
    fprintf(out, "  %-12s ", "rejected");
    status_rejected(out, json_object_get(st, "rejected"));
    status_pair(out, "handshakes", json_object_get(st, "handshakes"), "ok", "ok", "failed",
                "failed", false);
    status_pair(out, "messages", json_object_get(st, "messages"), "in", "in", "out", "out",
                false);
    status_pair(out, "bytes", json_object_get(st, "bytes"), "in", "in", "out", "out", true);
    fmt_size(num(json_object_get(st, "memory"), "rss_bytes"), a, sizeof(a));
    fprintf(out, "  %-12s %s resident\n", "memory", a);
}

/* ------------------------------------------------------------------ */
/* connections                                                          */

/* Rows are shown in id order, i.e. the order clients connected. */
struct row_order {
    int64_t id;
    size_t index;
};

static int by_id(const void *a, const void *b)
{
    const struct row_order *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

struct column {
    const char *title;
    bool right;          /* numbers align right */
    size_t width;
};

typedef char row_t[N_COLUMNS][CELL_MAX];

static void connection_row(json_t *c, int64_t now, row_t row)
{
    const char *fp = str(c, "fingerprint");

    fmt_num(num(c, "id"), row[0], CELL_MAX);
    snprintf(row[1], CELL_MAX, "%s", str(c, "peer"));
    snprintf(row[2], CELL_MAX, "%s", str(c, "state"));
    fmt_age(c, "connected_at", now, row[3], CELL_MAX);
    fmt_age(c, "last_activity", now, row[4], CELL_MAX);
    fmt_num(num(c, "messages_in"), row[5], CELL_MAX);
    fmt_num(num(c, "messages_out"), row[6], CELL_MAX);
    fmt_size(num(c, "bytes_in"), row[7], CELL_MAX);
    fmt_size(num(c, "bytes_out"), row[8], CELL_MAX);
    /* TLS version and cipher, or "-" on the plain listener. */
    if (json_is_object(json_object_get(c, "tls")))
        snprintf(row[9], CELL_MAX, "%s %s", str(json_object_get(c, "tls"), "version"),
                 str(json_object_get(c, "tls"), "cipher"));
    else
        snprintf(row[9], CELL_MAX, "-");
    /* Empty until the handshake has shown who the client is. */
    snprintf(row[10], CELL_MAX, "%s", *fp != '\0' ? fp : "-");
}

static void print_row(FILE *out, const struct column *cols, char cells[N_COLUMNS][CELL_MAX])
{
    for (size_t i = 0; i < N_COLUMNS; i++) {
        bool last = i + 1 == N_COLUMNS;

        if (cols[i].right)
            fprintf(out, "%*s", (int)cols[i].width, cells[i]);
        else if (last)
            fputs(cells[i], out);
        else
            fprintf(out, "%-*s", (int)cols[i].width, cells[i]);
        fputs(last ? "\n" : "  ", out);
    }
}

int show_connections(FILE *out, json_t *list)
{
    struct column cols[N_COLUMNS] = {
        {"ID", true, 0},        {"PEER", false, 0},    {"STATE", false, 0},
        {"CONNECTED", true, 0}, {"IDLE", true, 0},     {"MSG IN", true, 0},
        {"MSG OUT", true, 0},   {"BYTES IN", true, 0}, {"BYTES OUT", true, 0},
        {"TLS", false, 0},      {"FINGERPRINT", false, 0},
    };
    size_t n = json_array_size(list), i;
    int64_t now = now_unix_ms();
    char header[N_COLUMNS][CELL_MAX];
    struct row_order *order;
    row_t *rows;
    json_t *c;

    if (n == 0) {
        fprintf(out, "no clients connected\n");
        return 0;
    }
    rows = calloc(n, sizeof(*rows));
    order = calloc(n, sizeof(*order));
    if (rows == NULL || order == NULL) {
        fprintf(stderr, "%s: out of memory\n", SERVER_PROGRAM);
        free(rows);
        free(order);
        return -1;
    }
    for (size_t k = 0; k < N_COLUMNS; k++) {
        snprintf(header[k], CELL_MAX, "%s", cols[k].title);
        cols[k].width = strlen(header[k]);
    }
    json_array_foreach(list, i, c) {
        order[i].id = num(c, "id");
        order[i].index = i;
        connection_row(c, now, rows[i]);
        for (size_t k = 0; k < N_COLUMNS; k++) {
            size_t w = strlen(rows[i][k]);
            cols[k].width = w > cols[k].width ? w : cols[k].width;
        }
    }
    qsort(order, n, sizeof(*order), by_id);
    print_row(out, cols, header);
    for (i = 0; i < n; i++)
        print_row(out, cols, rows[order[i].index]);
    free(order);
    free(rows);
    return 0;
}
