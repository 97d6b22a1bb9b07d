/*
 * The configuration model of tcp_server: the table of settings, their
 * values, the INI file, and building a configuration from defaults, file
 * and flags (the flags themselves are parsed in server_flags.c).
 */
#include "cli/server_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/ssl.h>

#include <tcpseal/error.h>

#include "cli/cli_common.h"

#define FIELD(member) offsetof(struct server_config, member)

/* docs/configuration.md describes each of these; keep the two in step. */
const struct server_setting server_settings[] = {
    {"server", "host", "host", 'H', KIND_HOST, FIELD(host), "HOST",
     "name or address to listen on (localhost)"},
    {"server", "port", "port", 'p', KIND_PORT, FIELD(cfg.port), "PORT",
     "TCP port; 0 picks a free one (8080)"},
    {"server", "state_dir", "state-dir", 0, KIND_PATH, FIELD(state_dir), "DIR",
     "state directory ($TCPSEAL_SERVER_DIR, else ~/.local/state/tcpseal/server)"},
    {"server", "workers", "workers", 0, KIND_COUNT, FIELD(cfg.workers), "N",
     "event-loop threads; 0 = one per core (0)"},
    {"server", "log_level", "log-level", 0, KIND_LEVEL, FIELD(log_level), "LEVEL",
     "error, warn, info, debug or trace (info; TCPSEAL_LOG)"},
    {"server", "log_file", "log-file", 0, KIND_PATH, FIELD(log_file), "FILE",
     "append log lines to FILE (stderr; daemon: STATE_DIR/server.log)"},
    {"server", "syslog", "syslog", 0, KIND_BOOL, FIELD(syslog), NULL,
     "log to syslog, facility daemon (no)"},
    {"server", "daemon", "daemon", 'd', KIND_BOOL, FIELD(daemon), NULL,
     "detach once listening; writes STATE_DIR/tcp_server.pid (no)"},
    {"server", "plain", "plain", 0, KIND_NOT_BOOL, FIELD(cfg.no_plain), NULL,
     "listen without TLS on port; no: TLS listener only (yes)"},

    {"limits", "max_clients", "max-clients", 0, KIND_COUNT, FIELD(cfg.max_clients), "N",
     "concurrent connections; 0 = no limit (10000)"},
    {"limits", "max_per_address", "max-per-address", 0, KIND_COUNT,
     FIELD(cfg.max_per_address), "N", "connections per remote address; 0 = no limit (0)"},
    {"limits", "connect_rate", "connect-rate", 0, KIND_COUNT, FIELD(cfg.connect_rate), "N",
     "new connections per second per address; 0 = no limit (0)"},
    {"limits", "handshake_timeout", "handshake-timeout", 0, KIND_MS32,
     FIELD(cfg.handshake_timeout_ms), "DURATION",
     "hello and handshake must finish within (10s)"},
    {"limits", "heartbeat", "heartbeat", 0, KIND_MS32, FIELD(cfg.heartbeat_ms), "DURATION",
     "ping a silent client after; 0 = off (15s)"},
    {"limits", "idle_timeout", "idle-timeout", 0, KIND_MS32, FIELD(cfg.idle_timeout_ms),
     "DURATION", "close a client that sent no message or ping for; 0 = off (5m)"},
    {"limits", "max_message", "max-message", 0, KIND_SIZE, FIELD(cfg.max_message), "SIZE",
     "largest message accepted (1MiB)"},
    {"limits", "message_rate", "message-rate", 0, KIND_U32, FIELD(cfg.message_rate), "N",
     "messages per second per client; 0 = no limit (0)"},
    {"limits", "message_burst", "message-burst", 0, KIND_U32, FIELD(cfg.message_burst), "N",
     "messages allowed at once; 0 = message_rate (0)"},
    {"limits", "byte_rate", "byte-rate", 0, KIND_SIZE64, FIELD(cfg.byte_rate), "SIZE",
     "message bytes per second per client; 0 = no limit (0)"},
    {"limits", "byte_burst", "byte-burst", 0, KIND_SIZE64, FIELD(cfg.byte_burst), "SIZE",
     "bytes allowed at once; 0 = larger of byte_rate and max_message (0)"},
    {"limits", "max_output", "max-output", 0, KIND_SIZE, FIELD(cfg.max_output), "SIZE",
     "output queued for a slow client before it is cut off (8MiB)"},

    {"messages", "handler", "handler", 0, KIND_HANDLER, FIELD(cfg.handler), "echo|ack",
     "answer requests with their payload, or with \"ack <hash>\" (echo)"},
    {"messages", "sign_responses", "sign-responses", 0, KIND_BOOL,
     FIELD(cfg.sign_responses), NULL, "sign every response, not only signed requests' (no)"},
    {"messages", "timestamp_skew", "timestamp-skew", 0, KIND_MS64,
     FIELD(cfg.timestamp_skew_ms), "DURATION",
     "accepted clock difference of a message; 0 = off (5m)"},

    {"store", "path", "store", 0, KIND_PATH, FIELD(store_path), "FILE",
     "SQLite file of accounts and history (STATE_DIR/tcpseal.db)"},
    {"store", "synchronous", "synchronous", 0, KIND_SYNC, FIELD(cfg.store_sync_normal),
     "full|normal", "fsync every commit (full), or let the OS choose (normal) (full)"},

    {"accounts", "allow_anonymous", "allow-anonymous", 0, KIND_BOOL,
     FIELD(cfg.allow_anonymous), NULL,
     "keys bound to no account may send requests (yes)"},
    {"accounts", "open_registration", "open-registration", 0, KIND_BOOL,
     FIELD(cfg.open_registration), NULL,
     "anyone may register; no: operators add users (yes)"},
    {"accounts", "min_password_length", "min-password-length", 0, KIND_COUNT,
     FIELD(cfg.min_password_length), "N", "shortest password accepted (8)"},
    {"accounts", "password_passes", "password-passes", 0, KIND_COUNT,
     FIELD(cfg.password_opslimit), "N", "Argon2id passes of new password hashes (2)"},
    {"accounts", "password_memory", "password-memory", 0, KIND_SIZE,
     FIELD(cfg.password_memlimit), "SIZE", "Argon2id memory of new password hashes (64MiB)"},
    {"accounts", "login_max_failures", "login-max-failures", 0, KIND_COUNT,
     FIELD(cfg.login_max_failures), "N", "failed logins that lock an account name out (5)"},
    {"accounts", "login_lockout", "login-lockout", 0, KIND_MS32, FIELD(cfg.login_lockout_ms),
     "DURATION", "how long a lockout lasts (15m)"},
    {"accounts", "auth_timeout", "auth-timeout", 0, KIND_MS32, FIELD(cfg.auth_timeout_ms),
     "DURATION", "without allow_anonymous: log in within (30s)"},

    {"chat", "history_on_join", "history-on-join", 0, KIND_COUNT,
     FIELD(cfg.history_on_join), "N", "room messages sent on join, at most 1000 (50)"},

    {"tls", "enabled", "tls", 0, KIND_BOOL, FIELD(cfg.tls_enabled), NULL,
     "run a TLS listener on the TLS port (no)"},
    {"tls", "port", "tls-port", 0, KIND_PORT, FIELD(cfg.tls_port), "PORT",
     "TLS listener port; 0 picks a free one (8443)"},
    {"tls", "cert", "cert", 0, KIND_PATH, FIELD(tls_cert), "FILE",
     "certificate chain, PEM: the server's certificate first"},
    {"tls", "key", "key", 0, KIND_PATH, FIELD(tls_key), "FILE", "its private key, PEM"},
    {"tls", "ca", "ca", 0, KIND_PATH, FIELD(tls_ca), "FILE|DIR",
     "CA certificates that sign client certificates"},
    {"tls", "verify_client", "verify-client", 0, KIND_VERIFY, FIELD(cfg.tls_verify_client),
     "none|optional|required", "ask for client certificates, and require them (none)"},
    {"tls", "min_version", "tls-min-version", 0, KIND_TLS_VERSION,
     FIELD(cfg.tls_min_version), "1.2|1.3", "oldest TLS version accepted (1.3)"},
    {"tls", "ciphersuites", "tls-ciphersuites", 0, KIND_TEXT, FIELD(tls_ciphersuites),
     "LIST", "TLS 1.3 suites, OpenSSL syntax (the AEAD suites)"},
    {"tls", "ciphers", "tls-ciphers", 0, KIND_TEXT, FIELD(tls_ciphers), "LIST",
     "TLS 1.2 ciphers, OpenSSL syntax (ECDHE with AES-GCM or ChaCha20-Poly1305)"},
    {"tls", "session_tickets", "session-tickets", 0, KIND_BOOL,
     FIELD(cfg.tls_session_tickets), NULL, "TLS session resumption by ticket (yes)"},
    {"tls", "map_cn_to_account", "map-cn", 0, KIND_BOOL, FIELD(cfg.tls_map_cn), NULL,
     "log a client in as the account named by its certificate's CN (no)"},

    {"channel", "rekey_after_messages", "rekey-after-messages", 0, KIND_U64,
     FIELD(cfg.rekey_after_frames), "N", "new channel keys after N frames (1000000)"},
    {"channel", "rekey_after", "rekey-after", 0, KIND_MS64, FIELD(cfg.rekey_after_ms),
     "DURATION", "new channel keys after (1h)"},
};

const size_t server_settings_count = sizeof(server_settings) / sizeof(server_settings[0]);

static void say(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static const struct server_setting *setting_find(const char *section, const char *key)
{
    for (size_t i = 0; i < server_settings_count; i++) {
        const struct server_setting *s = &server_settings[i];

        if (strcmp(s->section, section) == 0 && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < server_settings_count; i++) {
        if (strcmp(server_settings[i].section, section) == 0)
            return true;
    }
    return false;
}

const char *server_log_level_name(ts_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};

    return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}

/* ------------------------------------------------------------------ */
/* Values                                                               */

int server_path_absolute(const char *base, const char *path, char **out)
{
    char cwd[PATH_MAX];

    if (path[0] == '/') {
        *out = strdup(path);
        return *out != NULL ? 0 : -1;
    }
    if (base == NULL) {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return -1;
        base = cwd;
    }
    *out = cli_path_join(base, path);
    return *out != NULL ? 0 : -1;
}

static int set_string(char **field, const char *base, const char *value, bool path)
{
    char *copy = NULL;

    if (*value != '\0') {
        int rc = path ? server_path_absolute(base, value, &copy)
                      : (copy = strdup(value)) != NULL ? 0 : -1;

        if (rc != 0)
            return -1;
    }
    free(*field);
    *field = copy;
    return 0;
}

/* Parse value into the field. why receives what was expected on failure. */
static int setting_parse(struct server_config *sc, const struct server_setting *s,
                         const char *value, const char *base, const char **why)
{
    void *field = (char *)sc + s->offset;
    uint64_t n;

    switch (s->kind) {
    case KIND_HOST:
        *why = "expected a host name or address";
        return *value == '\0' ? -1 : set_string(field, base, value, false);
    case KIND_PATH:
        *why = "cannot resolve the path";
        return set_string(field, base, value, true);
    case KIND_PORT:
        *why = "expected a port number (0-65535)";
        if (cli_parse_uint(value, UINT16_MAX, &n) != 0)
            return -1;
        *(uint16_t *)field = (uint16_t)n;
        return 0;
    case KIND_COUNT:
        *why = "expected a whole number";
        if (cli_parse_uint(value, UINT_MAX, &n) != 0)
            return -1;
        *(unsigned *)field = (unsigned)n;
        return 0;
    case KIND_U32:
        *why = "expected a whole number";
        if (cli_parse_uint(value, UINT32_MAX, &n) != 0)
            return -1;
        *(uint32_t *)field = (uint32_t)n;
        return 0;
    case KIND_U64:
        *why = "expected a whole number";
        return cli_parse_uint(value, UINT64_MAX, field);
    case KIND_MS32:
        *why = "expected a duration such as 10s, 250ms, 2m or 1h (at most 49 days)";
        if (cli_parse_duration_ms(value, &n) != 0 || n > UINT32_MAX)
            return -1;
        *(uint32_t *)field = (uint32_t)n;
        return 0;
    case KIND_MS64:
        *why = "expected a duration such as 10s, 250ms, 2m or 1h";
        return cli_parse_duration_ms(value, field);
    case KIND_SIZE:
        *why = "expected a size such as 65536, 64KiB or 1MiB";
        if (cli_parse_size(value, &n) != 0 || n > SIZE_MAX)
            return -1;
        *(size_t *)field = (size_t)n;
        return 0;
    case KIND_SIZE64:
        *why = "expected a size such as 65536, 64KiB or 1MiB";
        return cli_parse_size(value, field);
    case KIND_BOOL:
        *why = "expected yes or no";
        return cli_parse_bool(value, field);
    case KIND_LEVEL:
        *why = "expected error, warn, info, debug or trace";
        return ts_log_parse_level(value, field) == TS_OK ? 0 : -1;
    case KIND_NOT_BOOL:
        *why = "expected yes or no";
        if (cli_parse_bool(value, field) != 0)
            return -1;
        *(bool *)field = !*(bool *)field;
        return 0;
    case KIND_TEXT:
        *why = "expected some text";
        return *value == '\0' ? -1 : set_string(field, base, value, false);
    case KIND_VERIFY:
        *why = "expected none, optional or required";
        if (strcmp(value, "none") == 0)
            *(ts_tls_verify *)field = TS_TLS_VERIFY_NONE;
        else if (strcmp(value, "optional") == 0)
            *(ts_tls_verify *)field = TS_TLS_VERIFY_OPTIONAL;
        else if (strcmp(value, "required") == 0)
            *(ts_tls_verify *)field = TS_TLS_VERIFY_REQUIRED;
        else
            return -1;
        return 0;
    case KIND_TLS_VERSION:
        *why = "expected 1.2 or 1.3";
        if (strcmp(value, "1.2") == 0)
            *(int *)field = TLS1_2_VERSION;
        else if (strcmp(value, "1.3") == 0)
            *(int *)field = TLS1_3_VERSION;
        else
            return -1;
        return 0;
    case KIND_SYNC:
        *why = "expected full or normal";
        if (strcmp(value, "full") == 0)
            *(bool *)field = false;
        else if (strcmp(value, "normal") == 0)
            *(bool *)field = true;
        else
            return -1;
        return 0;
    case KIND_HANDLER:
        *why = "expected echo or ack";
        if (strcmp(value, "echo") == 0)
            *(ts_builtin_handler *)field = TS_HANDLER_ECHO;
        else if (strcmp(value, "ack") == 0)
            *(ts_builtin_handler *)field = TS_HANDLER_ACK;
        else
            return -1;
        return 0;
    }
    return -1;
}

static int setting_apply(struct server_config *sc, const struct server_setting *s,
                         const char *value, const char *base, enum setting_source source,
                         const char **why)
{
    if (setting_parse(sc, s, value, base, why) != 0)
        return -1;
    if (s->kind == KIND_LEVEL)
        sc->log_level_source = source;
    if (s->offset == offsetof(struct server_config, cfg.tls_enabled))
        sc->tls_enabled_given = true;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The INI file                                                         */

struct ini_ctx {
    struct server_config *sc;
    const char *path;
    char *dir;           /* the file's directory: base of relative paths */
    FILE *f;
    int line;            /* lines handed to inih so far */
    int err_line;        /* line of the first error we described; 0 = none */
    char *err;
    size_t cap;
};

static void ini_fail(struct ini_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first error only: inih goes on parsing and reports the first
 * failing line, which is the one we describe. */
static void ini_fail(struct ini_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ctx->err_line != 0)
        return;
    ctx->err_line = ctx->line;
    n = snprintf(ctx->err, ctx->cap, "%s:%d: ", ctx->path, ctx->line);
    if (n < 0 || (size_t)n >= ctx->cap)
        return;
    va_start(ap, fmt);
    vsnprintf(ctx->err + n, ctx->cap - (size_t)n, fmt, ap);
    va_end(ap);
}

/*
 * inih's line reader. Counting lines here gives the handler its line
 * number (Debian's inih is built without INI_HANDLER_LINENO), and a line
 * longer than inih's buffer is refused whole: inih would otherwise parse
 * its tail as a line of its own.
 */
static char *ini_read_line(char *str, int num, void *stream)
{
    struct ini_ctx *ctx = stream;
    size_t len;
    int c;

    if (fgets(str, num, ctx->f) == NULL)
        return NULL;
    ctx->line++;
    len = strlen(str);
    if (len == 0 || str[len - 1] == '\n')
        return str;
    c = fgetc(ctx->f);
    if (c == EOF || c == '\n')
        return str;
    while (c != EOF && c != '\n')
        c = fgetc(ctx->f);
    ini_fail(ctx, "line longer than %d characters", num - 1);
    str[0] = '\0';
    return str;
}

static int ini_on_value(void *user, const char *section, const char *name,
                        const char *value)
{
    struct ini_ctx *ctx = user;
    const struct server_setting *s = setting_find(section, name);
    const char *why = "";

    if (s == NULL) {
        if (*section == '\0')
            ini_fail(ctx, "setting '%s' outside any section", name);
        else if (!section_known(section))
            ini_fail(ctx, "unknown section [%s]", section);
        else
            ini_fail(ctx, "unknown setting '%s' in [%s]", name, section);
        return 0;
    }
    if (setting_apply(ctx->sc, s, value, ctx->dir, SOURCE_FILE, &why) != 0) {
        ini_fail(ctx, "bad value '%s' for %s in [%s]: %s", value, name, section, why);
        return 0;
    }
    return 1;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int config_read_file(struct server_config *sc, const char *path, char *err,
                            size_t cap)
{
    struct ini_ctx ctx = {.sc = sc, .path = path, .err = err, .cap = cap};
    int rc = -1, line;

    ctx.dir = dir_of(path);
    if (ctx.dir == NULL) {
        say(err, cap, "out of memory");
        goto out;
    }
    ctx.f = fopen(path, "r");
    if (ctx.f == NULL) {
        say(err, cap, "cannot read config file %s: %s", path, strerror(errno));
        goto out;
    }
    line = ini_parse_stream(ini_read_line, &ctx, ini_on_value, &ctx);
    if (line == -2) {
        say(err, cap, "out of memory reading %s", path);
    } else if (ferror(ctx.f)) {
        say(err, cap, "cannot read config file %s: %s", path, strerror(errno));
    } else if (line > 0 && (ctx.err_line == 0 || line < ctx.err_line)) {
        /* inih failed a line without calling us: no '=' or ':', or an
         * unclosed '[' */
        say(err, cap, "%s:%d: syntax error (expected 'name = value' or '[section]')",
            path, line);
    } else if (line == 0 && ctx.err_line == 0) {
        rc = 0;
    }
out:
    if (ctx.f != NULL)
        fclose(ctx.f);
    free(ctx.dir);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Building a configuration                                             */

void server_config_free(struct server_config *sc)
{
    free(sc->host);
    free(sc->state_dir);
    free(sc->log_file);
    free(sc->store_path);
    free(sc->tls_cert);
    free(sc->tls_key);
    free(sc->tls_ca);
    free(sc->tls_ciphersuites);
    free(sc->tls_ciphers);
    memset(sc, 0, sizeof(*sc));
}

static void config_defaults(struct server_config *sc)
{
    memset(sc, 0, sizeof(*sc));
    ts_server_config_init(&sc->cfg);
    sc->log_level = TS_LOG_INFO;
    sc->log_level_source = SOURCE_DEFAULT;
}

static int config_apply_flags(struct server_config *sc, const struct server_flags *fl,
                              char *err, size_t cap)
{
    for (size_t i = 0; i < fl->n; i++) {
        const struct server_setting *s = fl->items[i].setting;
        const char *why = "";

        if (setting_apply(sc, s, fl->items[i].value, NULL, SOURCE_FLAG, &why) != 0) {
            say(err, cap, "bad value '%s' for --%s: %s", fl->items[i].value, s->flag, why);
            return -1;
        }
    }
    return 0;
}

/* Checks that concern the program rather than the library. */
static int config_check(struct server_config *sc, char *err, size_t cap)
{
    int rc;

    if (sc->syslog && sc->log_file != NULL) {
        say(err, cap, "invalid configuration: log_file and syslog cannot both be set");
        return -1;
    }
    if (sc->host != NULL)
        sc->cfg.host = sc->host;
    /* A certificate and its key are what a TLS listener needs: giving
     * them is asking for one, unless `enabled` says otherwise. */
    if (!sc->tls_enabled_given && sc->tls_cert != NULL && sc->tls_key != NULL)
        sc->cfg.tls_enabled = true;
    sc->cfg.tls_cert_file = sc->tls_cert;
    sc->cfg.tls_key_file = sc->tls_key;
    sc->cfg.tls_ca = sc->tls_ca;
    sc->cfg.tls_ciphersuites = sc->tls_ciphersuites;
    sc->cfg.tls_cipher_list = sc->tls_ciphers;
    rc = ts_server_config_check(&sc->cfg);
    if (rc != TS_OK) {
        say(err, cap, "invalid configuration: %s", ts_error_detail(rc));
        return -1;
    }
    return 0;
}

int server_config_load(struct server_config *sc, const struct server_flags *fl,
                       char *err, size_t cap)
{
    config_defaults(sc);
    if (fl->config_path != NULL && config_read_file(sc, fl->config_path, err, cap) != 0)
        goto fail;
    if (config_apply_flags(sc, fl, err, cap) != 0 || config_check(sc, err, cap) != 0)
        goto fail;
    return 0;
fail:
    server_config_free(sc);
    return -1;
}
