#include "cli/cli_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util/timefmt.h"

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int cli_take_option(const char *program, int *argc, char **argv, const char *name,
                    const char **value)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) != 0)
            continue;
        if (i + 1 >= *argc) {
            cli_error(program, "%s needs a value", name);
            return -1;
        }
        *value = argv[i + 1];
        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(*argv));
        *argc -= 2;
        return 0;
    }
    return 0;
}

void cli_error(const char *program, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(const char *program, const struct cli_command *cmd, bool error)
{
    FILE *out = error ? stderr : stdout;

    fprintf(out, "usage: %s %s\n%s\n", program, cmd->usage, cmd->summary);
    return error ? EXIT_USAGE : EXIT_OK;
}

static void program_usage(FILE *out, const char *program, const char *description,
                          const struct cli_command *commands, size_t n)
{
    fprintf(out, "usage: %s COMMAND [OPTIONS]\n%s\n\ncommands:\n", program, description);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun '%s COMMAND --help' for the options of a command.\n", program);
}

static const struct cli_command *find_command(const struct cli_command *commands,
                                              size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

int cli_dispatch(const char *program, const char *description,
                 const struct cli_command *commands, size_t n, int argc, char **argv)
{
    const struct cli_command *cmd;

    if (argc < 2) {
        program_usage(stderr, program, description, commands, n);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("%s %s\n", program, TS_VERSION);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && (cmd = find_command(commands, n, argv[2])) != NULL)
            return cli_usage(program, cmd, false);
        program_usage(stdout, program, description, commands, n);
        return EXIT_OK;
    }
    cmd = find_command(commands, n, argv[1]);
    if (cmd == NULL) {
        cli_error(program, "unknown command '%s' (try '%s --help')", argv[1], program);
        return EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}

char *cli_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);

    if (path != NULL)
        snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* mkdir -p with mode 0700 for every component we create. */
static int make_dirs(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (char *p = copy + 1; *p != '\0' && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (rc == 0 && mkdir(copy, 0700) != 0 && errno != EEXIST)
        rc = -1;
    free(copy);
    return rc;
}

int cli_state_dir(const char *program, const char *explicit_dir, const char *env_var,
                  const char *leaf, char **out)
{
    const char *env = env_var != NULL ? getenv(env_var) : NULL;
    const char *home = getenv("HOME");
    struct stat st;
    char *dir;

    *out = NULL;
    if (explicit_dir != NULL && *explicit_dir != '\0') {
        dir = strdup(explicit_dir);
    } else if (env != NULL && *env != '\0') {
        dir = strdup(env);
    } else if (home != NULL && *home != '\0') {
        size_t n = strlen(home) + strlen(leaf) + 32;
        dir = malloc(n);
        if (dir != NULL)
            snprintf(dir, n, "%s/.local/state/tcpseal/%s", home, leaf);
    } else {
        cli_error(program, "no state directory: set %s or HOME", env_var);
        return -1;
    }
    if (dir == NULL) {
        cli_error(program, "out of memory");
        return -1;
    }
    if (make_dirs(dir) != 0 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error(program, "cannot create state directory %s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    if ((st.st_mode & 022) != 0) {
        cli_error(program, "state directory %s is writable by others; run: chmod 700 %s",
                  dir, dir);
        free(dir);
        return -1;
    }
    *out = dir;
    return 0;
}

/* Split "12.5ms" into a number and a unit. */
static int split_number(const char *text, double *value, const char **unit)
{
    char *end;

    if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    *value = strtod(text, &end);
    if (errno != 0 || end == text || *value < 0)
        return -1;
    *unit = end;
    return 0;
}

struct unit {
    const char *suffix;
    double factor;
};

/* A number with one of the given suffixes, times that suffix's factor,
 * at most max. */
static int parse_with_unit(const char *text, const struct unit *units, size_t n,
                           double max, double *out)
{
    const char *unit;
    double value;

    if (split_number(text, &value, &unit) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(unit, units[i].suffix) == 0 && value * units[i].factor <= max) {
            *out = value * units[i].factor;
            return 0;
        }
    }
    return -1;
}

int cli_parse_duration_ms(const char *text, uint64_t *out_ms)
{
    static const struct unit units[] = {
        {"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60000}, {"min", 60000}, {"h", 3600000},
    };
    double ms;

    if (parse_with_unit(text, units, sizeof(units) / sizeof(units[0]), 1e15, &ms) != 0)
        return -1;
    *out_ms = (uint64_t)(ms + 0.5);
    return 0;
}

int cli_parse_size(const char *text, uint64_t *out)
{
    static const struct unit units[] = {
        {"", 1}, {"b", 1}, {"k", 1024.0}, {"kib", 1024.0}, {"kb", 1024.0},
        {"m", 1048576.0}, {"mib", 1048576.0}, {"mb", 1048576.0},
        {"g", 1073741824.0}, {"gib", 1073741824.0}, {"gb", 1073741824.0},
    };
    double bytes;

    if (parse_with_unit(text, units, sizeof(units) / sizeof(units[0]), 1e18, &bytes) != 0)
        return -1;
    *out = (uint64_t)bytes;
    return 0;
}

int cli_parse_uint(const char *text, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Copy into guarded memory, dropping one trailing newline (files end
 * with one; the secret does not). */
static char *secret_copy(const char *text, size_t len)
{
    char *s;

    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    s = sodium_malloc(len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, text, len);
    s[len] = '\0';
    return s;
}

char *cli_secret_from_env(const char *env, const char *file_env)
{
    const char *path = file_env != NULL ? getenv(file_env) : NULL;
    const char *value = env != NULL ? getenv(env) : NULL;
    char buf[1024];
    char *secret;
    size_t n;
    FILE *f;

    /* Guarded allocations need libsodium ready. */
    if (sodium_init() < 0)
        return NULL;
    if (path != NULL && *path != '\0') {
        f = fopen(path, "r");
        if (f == NULL)
            return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        secret = secret_copy(buf, n);
        sodium_memzero(buf, sizeof(buf));
        return secret;
    }
    if (value != NULL)
        return secret_copy(value, strlen(value));
    return NULL;
}

void cli_secret_free(char *secret)
{
    if (secret != NULL)
        sodium_free(secret);
}

void cli_format_time(uint64_t unix_ms, char out[32])
{
    timefmt_iso8601(unix_ms, out);
}
