/*
 * The configuration of tcp_server: the library's ts_server_config plus the
 * program's own settings (state directory, logging, daemon mode).
 *
 * A configuration is built in three layers, each overriding the one
 * before: the defaults of ts_server_config_init(), the INI file named by
 * -c/--config, then the command-line flags in the order given. The flags
 * are kept (struct server_flags) so that a reload on SIGHUP re-reads the
 * file and applies the same flags again: a flag keeps winning over the
 * file for the life of the server.
 *
 * Every setting has a [section] and key in the file and a long flag;
 * docs/configuration.md lists them.
 */
#ifndef TS_CLI_SERVER_CONFIG_H
#define TS_CLI_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <tcpseal/log.h>
#include <tcpseal/server.h>

/* Room for one error message: "FILE:LINE: what is wrong". */
#define SERVER_CONFIG_ERR_MAX 1024

/* Where a setting's value came from; the log level needs it because
 * TCPSEAL_LOG sits between the file and the flags. */
enum setting_source {
    SOURCE_DEFAULT = 0,
    SOURCE_FILE,
    SOURCE_FLAG,
};

struct server_config {
    /* The library's settings. cfg.host points at host below, or at the
     * default; cfg.control_socket is left NULL here (it is derived from
     * the state directory by `start`). */
    ts_server_config cfg;
    char *host;              /* owned; NULL = the library's default */
    char *state_dir;         /* absolute; NULL = TCPSEAL_SERVER_DIR or default */
    char *log_file;          /* absolute; NULL = stderr (daemon: STATE_DIR/server.log) */
    char *store_path;        /* absolute; NULL = STATE_DIR/tcpseal.db */
    char *tls_cert;          /* absolute paths, or NULL; cfg.tls_* point here */
    char *tls_key;
    char *tls_ca;
    char *tls_ciphersuites;  /* cfg.tls_* point here, or NULL for the defaults */
    char *tls_ciphers;
    bool tls_enabled_given;  /* [tls] enabled set: else a certificate and key enable it */
    bool syslog;             /* log to syslog instead of stderr or a file */
    bool daemon;             /* detach after start-up */
    ts_log_level log_level;
    enum setting_source log_level_source;
};

/* How a setting's text becomes a value, and the field type it writes. */
enum setting_kind {
    KIND_HOST,     /* char *, must not be empty */
    KIND_PATH,     /* char *, made absolute; empty = unset */
    KIND_PORT,     /* uint16_t */
    KIND_COUNT,    /* unsigned */
    KIND_U32,      /* uint32_t count */
    KIND_U64,      /* uint64_t count */
    KIND_MS32,     /* uint32_t milliseconds, from a duration */
    KIND_MS64,     /* uint64_t milliseconds, from a duration */
    KIND_SIZE,     /* size_t bytes, from a size */
    KIND_SIZE64,   /* uint64_t bytes, from a size */
    KIND_BOOL,     /* bool */
    KIND_LEVEL,    /* ts_log_level */
    KIND_HANDLER,  /* ts_builtin_handler */
    KIND_SYNC,     /* bool: "normal" = true, "full" = false */
    KIND_NOT_BOOL, /* bool holding the opposite of the yes/no given */
    KIND_TEXT,     /* char *, must not be empty */
    KIND_VERIFY,   /* ts_tls_verify: none, optional, required */
    KIND_TLS_VERSION, /* int: 1.2 or 1.3 */
};

/* One setting: where it lives in the file, its flag, and its field. */
struct server_setting {
    const char *section;
    const char *key;
    const char *flag;    /* long option, without "--" */
    char short_flag;     /* 0 = none */
    enum setting_kind kind;
    size_t offset;       /* of the field in struct server_config */
    const char *arg;     /* placeholder shown in --help; NULL for yes/no */
    const char *help;
};

/* Every setting, in the order of docs/configuration.md. */
extern const struct server_setting server_settings[];
extern const size_t server_settings_count;

/* One flag from the command line, kept for reloads. value points into
 * argv (or at a literal for flags without a value). */
struct server_flag {
    const struct server_setting *setting;
    const char *value;
};

struct server_flags {
    char *config_path;          /* -c/--config made absolute; NULL = none */
    struct server_flag *items;  /* malloc'd, in command-line order */
    size_t n;
    bool help;                  /* -h/--help was given */
};

/*
 * Parse the options of `tcp_server start` (argv[0] is the command name).
 * Fills fl; release it with server_flags_free(). 0, or -1 with a message in
 * err (capacity cap) for an unknown option, a missing value or an extra
 * argument. Values are checked later, by server_config_load().
 */
int server_flags_parse(struct server_flags *fl, int argc, char **argv, char *err,
                       size_t cap);

/* Add one flag by setting name ("state_dir") after parsing, as the
 * control commands do for their --state-dir. 0, or -1 (out of memory or
 * unknown name). */
int server_flags_add(struct server_flags *fl, const char *key, const char *value);

void server_flags_free(struct server_flags *fl);

/*
 * Build a configuration: defaults, then the file fl->config_path (when
 * set), then the flags, then ts_server_config_check(). 0, or -1 with one
 * line in err such as
 *   /etc/tcpseal/server.ini:12: unknown setting 'prot' in [server]
 *   bad value 'x' for --port: expected a port number (0-65535)
 * On failure sc holds nothing to free; on success release it with
 * server_config_free().
 */
int server_config_load(struct server_config *sc, const struct server_flags *fl,
                       char *err, size_t cap);

void server_config_free(struct server_config *sc);

/* Print every flag of `start` with its argument and meaning (for --help). */
void server_config_print_flags(FILE *out);

/* path made absolute against the directory base (NULL: the current
 * one), so a daemon can change to / and a reload reads the same files.
 * *out is malloc'd. 0 or -1 (errno set). */
int server_path_absolute(const char *base, const char *path, char **out);

/* Name of a log level ("info"). */
const char *server_log_level_name(ts_log_level level);

#endif /* TS_CLI_SERVER_CONFIG_H */
