/*
 * The command line of `tcp_server start`: one long flag per setting of
 * the configuration (server_settings[]), plus -c/--config and -h/--help.
 */
#include "cli/server_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long values: settings are numbered from here, past any char. */
#define OPT_SETTING_BASE 1000
#define OPT_CONFIG 'c'
#define OPT_HELP 'h'

static void flags_error(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void flags_error(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int flags_push(struct server_flags *fl, size_t cap_items,
                      const struct server_setting *s, const char *value)
{
    if (fl->n >= cap_items)
        return -1;
    fl->items[fl->n].setting = s;
    fl->items[fl->n].value = value;
    fl->n++;
    return 0;
}

/* Long options: one per setting, then --config and --help. Flags that
 * turn something on take an optional value (--sign-responses=no). */
static struct option *long_options_build(void)
{
    size_t n = server_settings_count;
    struct option *opts = calloc(n + 3, sizeof(*opts));

    if (opts == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        opts[i].name = server_settings[i].flag;
        opts[i].has_arg = server_settings[i].kind == KIND_BOOL ||
                                  server_settings[i].kind == KIND_NOT_BOOL
                              ? optional_argument
                              : required_argument;
        opts[i].val = OPT_SETTING_BASE + (int)i;
    }
    opts[n] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[n + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
    return opts;
}

static const struct server_setting *setting_by_short(int c)
{
    for (size_t i = 0; i < server_settings_count; i++) {
        if (server_settings[i].short_flag != 0 && server_settings[i].short_flag == c)
            return &server_settings[i];
    }
    return NULL;
}

static void option_error(int c, char **argv, char *err, size_t cap)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";

    if (c == ':')
        flags_error(err, cap, "option '%s' needs a value (try --help)", arg);
    else if (optopt != 0)
        flags_error(err, cap, "unknown option '-%c' (try --help)", optopt);
    else
        flags_error(err, cap, "unknown option '%s' (try --help)", arg);
}

/* Handle one getopt_long result. 0, or -1 with err set. */
static int flags_take(struct server_flags *fl, size_t cap_items, int c, char **argv,
                      char *err, size_t cap)
{
    const struct server_setting *s = NULL;
    const char *value = optarg;

    if (c == OPT_HELP) {
        fl->help = true;
        return 0;
    }
    if (c == OPT_CONFIG) {
        free(fl->config_path);
        if (server_path_absolute(NULL, optarg, &fl->config_path) != 0) {
            flags_error(err, cap, "cannot resolve config path %s: %s", optarg, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (c >= OPT_SETTING_BASE && (size_t)(c - OPT_SETTING_BASE) < server_settings_count)
        s = &server_settings[c - OPT_SETTING_BASE];
    else if (c != '?' && c != ':')
        s = setting_by_short(c);
    if (s == NULL) {
        option_error(c, argv, err, cap);
        return -1;
    }
    if ((s->kind == KIND_BOOL || s->kind == KIND_NOT_BOOL) && value == NULL)
        value = "yes";
    if (flags_push(fl, cap_items, s, value) != 0) {
        flags_error(err, cap, "too many options");
        return -1;
    }
    return 0;
}

int server_flags_parse(struct server_flags *fl, int argc, char **argv, char *err,
                       size_t cap)
{
    struct option *opts = long_options_build();
    size_t cap_items = argc > 0 ? (size_t)argc : 1;
    int c, rc = -1;

    memset(fl, 0, sizeof(*fl));
    fl->items = calloc(cap_items, sizeof(*fl->items));
    if (opts == NULL || fl->items == NULL) {
        flags_error(err, cap, "out of memory");
        goto out;
    }
    optind = 0; /* GNU: full reinitialisation, so tests may parse again */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:H:p:dh", opts, NULL)) != -1) {
        if (flags_take(fl, cap_items, c, argv, err, cap) != 0)
            goto out;
    }
    if (optind < argc && !fl->help) {
        flags_error(err, cap, "unexpected argument '%s' (try --help)", argv[optind]);
        goto out;
    }
    rc = 0;
out:
    free(opts);
    if (rc != 0)
        server_flags_free(fl);
    return rc;
}

int server_flags_add(struct server_flags *fl, const char *key, const char *value)
{
    const struct server_setting *s = NULL;
    struct server_flag *items;

    for (size_t i = 0; i < server_settings_count && s == NULL; i++) {
        if (strcmp(server_settings[i].key, key) == 0)
            s = &server_settings[i];
    }
    if (s == NULL)
        return -1;
    items = realloc(fl->items, (fl->n + 1) * sizeof(*items));
    if (items == NULL)
        return -1;
    fl->items = items;
    fl->items[fl->n].setting = s;
    fl->items[fl->n].value = value;
    fl->n++;
    return 0;
}

void server_flags_free(struct server_flags *fl)
{
    free(fl->config_path);
    free(fl->items);
    memset(fl, 0, sizeof(*fl));
}

void server_config_print_flags(FILE *out)
{
    char left[64];

    fprintf(out, "  %-32s %s\n", "-c, --config FILE",
            "read settings from an INI file (flags win over it)");
    for (size_t i = 0; i < server_settings_count; i++) {
        const struct server_setting *s = &server_settings[i];

        if (s->short_flag != 0)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", s->short_flag, s->flag,
                     s->arg != NULL ? " " : "", s->arg != NULL ? s->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", s->flag,
                     s->arg != NULL ? " " : "", s->arg != NULL ? s->arg : "");
        fprintf(out, "  %-32s %s\n", left, s->help);
    }
    fprintf(out, "  %-32s %s\n", "-h, --help", "show this help");
}
