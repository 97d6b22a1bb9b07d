/*
 * tcp_bench's command line (see options.h).
 */
#include "options.h"

#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/identity.h>

#include "cli/cli_common.h"
#include "net/tls.h"
#include "tls/pin.h"

static void print_scenarios(FILE *out, const struct scenario *const *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-9s %s\n", table[i]->name, table[i]->summary);
}

void bench_options_usage(FILE *out, const struct scenario *const *table, size_t n)
{
    fprintf(out,
            "usage: %s SCENARIO [options]\n"
            "\n"
            "Drive a running tcpseal server over many connections and report\n"
            "throughput and latency percentiles (p50, p90, p99, p99.9, max).\n"
            "\n"
            "scenarios:\n",
            BENCH_PROGRAM);
    print_scenarios(out, table, n);
    fprintf(out,
            "\n"
            "options:\n"
            "  -H, --host HOST        server address (default %s; loopback only\n"
            "                         unless --allow-remote)\n"
            "  -p, --port PORT        server port (default %d)\n"
            "  -c, --connections N    connections, or concurrent workers for connect\n"
            "                         (default %d; chat: %d senders; fanout: %d members)\n"
            "  -d, --duration TIME    time measured, or held for idle (default 10s);\n"
            "                         TIME is 10, 1.5s, 250ms, 2m\n"
            "  -s, --size BYTES       payload of each request or chat message, e.g. 64\n"
            "                         or 4k (default %d)\n"
            "      --pipeline DEPTH   reqresp, chat, fanout: requests or chat messages\n"
            "                         in flight per sending connection (default 1)\n"
            "      --rate N           reqresp: open loop, N requests/s in all, latency\n"
            "                         counted from when each was due;\n"
            "                         idle: open N connections/s\n"
            "      --senders N        fanout: members that also send (default %d)\n"
            "      --slow N           fanout: members that stop reading, to be cut off\n"
            "                         by the server (default 0)\n"
            "      --threads N        event-loop threads; connections are spread\n"
            "                         over them (default 1)\n"
            "      --sign             sign every request or chat message\n"
            "      --request          connect: one round trip on each connection\n"
            "      --warmup TIME      reqresp, connect, chat, fanout: run this long\n"
            "                         before measuring (default 1s)\n"
            "      --server-key FP    require the server key with this fingerprint\n"
            "      --server-pid PID   idle: server memory growth per connection\n"
            "      --tls              connect over TLS (the server's TLS port)\n"
            "      --ca FILE|DIR      CA certificates that sign the server's (default:\n"
            "                         the system's)\n"
            "      --cert FILE        client certificate for mutual TLS (with --key)\n"
            "      --key FILE         its private key\n"
            "      --servername NAME  name sent as SNI and checked in the server's\n"
            "                         certificate (default: HOST)\n"
            "      --pin sha256//B64  also require this server public key (SPKI pin)\n"
            "      --tls-min-version 1.2|1.3  oldest TLS version accepted (1.3)\n"
            "      --json             one JSON object on stdout instead of text\n"
            "      --allow-remote     allow a server that is not on this machine\n"
            "  -h, --help             show this help\n"
            "      --version          show the version\n",
            BENCH_DEFAULT_HOST, BENCH_DEFAULT_PORT, BENCH_DEFAULT_CONNECTIONS,
            BENCH_DEFAULT_CHAT_SENDERS, BENCH_DEFAULT_FANOUT_MEMBERS, BENCH_DEFAULT_PAYLOAD,
            BENCH_DEFAULT_FANOUT_SENDERS);
}

enum long_only {
    LONG_PIPELINE = 256,
    LONG_RATE,
    LONG_SENDERS,
    LONG_SLOW,
    LONG_THREADS,
    LONG_SIGN,
    LONG_REQUEST,
    LONG_WARMUP,
    LONG_SERVER_KEY,
    LONG_SERVER_PID,
    LONG_TLS,
    LONG_CA,
    LONG_CERT,
    LONG_KEY,
    LONG_SERVERNAME,
    LONG_PIN,
    LONG_TLS_MIN_VERSION,
    LONG_JSON,
    LONG_ALLOW_REMOTE,
    LONG_VERSION,
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"connections", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"size", required_argument, NULL, 's'},
    {"pipeline", required_argument, NULL, LONG_PIPELINE},
    {"rate", required_argument, NULL, LONG_RATE},
    {"senders", required_argument, NULL, LONG_SENDERS},
    {"slow", required_argument, NULL, LONG_SLOW},
    {"threads", required_argument, NULL, LONG_THREADS},
    {"sign", no_argument, NULL, LONG_SIGN},
    {"request", no_argument, NULL, LONG_REQUEST},
    {"warmup", required_argument, NULL, LONG_WARMUP},
    {"server-key", required_argument, NULL, LONG_SERVER_KEY},
    {"server-pid", required_argument, NULL, LONG_SERVER_PID},
    {"tls", no_argument, NULL, LONG_TLS},
    {"ca", required_argument, NULL, LONG_CA},
    {"cert", required_argument, NULL, LONG_CERT},
    {"key", required_argument, NULL, LONG_KEY},
    {"servername", required_argument, NULL, LONG_SERVERNAME},
    {"pin", required_argument, NULL, LONG_PIN},
    {"tls-min-version", required_argument, NULL, LONG_TLS_MIN_VERSION},
    {"json", no_argument, NULL, LONG_JSON},
    {"allow-remote", no_argument, NULL, LONG_ALLOW_REMOTE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, LONG_VERSION},
    {NULL, 0, NULL, 0},
};

/* Names of the scenario-specific options, for error messages. */
static const struct {
    unsigned bit;
    const char *name;
} opt_names[] = {
    {OPT_PAYLOAD, "--size"},       {OPT_PIPELINE, "--pipeline"},
    {OPT_RATE, "--rate"},          {OPT_SIGN, "--sign"},
    {OPT_WARMUP, "--warmup"},      {OPT_REQUEST, "--request"},
    {OPT_SERVER_PID, "--server-pid"}, {OPT_SENDERS, "--senders"},
    {OPT_SLOW, "--slow"},
};

static int parse_uint(const char *name, const char *text, uint64_t min, uint64_t max,
                      uint64_t *out)
{
    if (cli_parse_uint(text, max, out) != 0 || *out < min) {
        bench_error("%s: '%s' is not a number from %llu to %llu", name, text,
                    (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    return 0;
}

static int parse_duration(const char *name, const char *text, uint64_t *out_ms)
{
    if (cli_parse_duration_ms(text, out_ms) != 0) {
        bench_error("%s: '%s' is not a duration (10, 1.5s, 250ms, 2m)", name, text);
        return -1;
    }
    return 0;
}

/* The TLS options: 0, -1 on a bad value, 1 when ch is not one of them. */
static int apply_tls_option(struct bench_tls_options *t, int ch, const char *arg)
{
    uint8_t digest[TLS_PIN_DIGEST_LEN];

    switch (ch) {
    case LONG_TLS:
        t->enabled = true;
        return 0;
    case LONG_CA:
        t->ca = arg;
        return 0;
    case LONG_CERT:
        t->cert = arg;
        return 0;
    case LONG_KEY:
        t->key = arg;
        return 0;
    case LONG_SERVERNAME:
        if (arg[0] == '\0' || strlen(arg) > TLS_SERVER_NAME_MAX) {
            bench_error("--servername: a name of 1 to %d characters", TLS_SERVER_NAME_MAX);
            return -1;
        }
        t->server_name = arg;
        return 0;
    case LONG_PIN:
        if (tls_pin_parse(arg, digest) != TS_OK) {
            bench_error("--pin: %s", ts_error_detail(TS_ERR_INVALID));
            return -1;
        }
        t->pin = arg;
        return 0;
    case LONG_TLS_MIN_VERSION:
        if (tls_version_parse(arg, &t->min_version) != TS_OK) {
            bench_error("--tls-min-version: '%s' is not 1.2 or 1.3", arg);
            return -1;
        }
        return 0;
    }
    return 1;
}

/* The options that take a number; 0, -1 on a bad value, 1 when ch is
 * not one of them. */
static int apply_count_option(struct bench_options *o, int ch, const char *arg)
{
    uint64_t v;

    switch (ch) {
    case 'p':
        if (parse_uint("--port", arg, 1, 65535, &v) != 0)
            return -1;
        o->port = (uint16_t)v;
        return 0;
    case 'c':
        if (parse_uint("--connections", arg, 1, BENCH_MAX_CONNECTIONS, &v) != 0)
            return -1;
        o->connections = (unsigned)v;
        return 0;
    case LONG_PIPELINE:
        if (parse_uint("--pipeline", arg, 1, BENCH_MAX_PIPELINE, &v) != 0)
            return -1;
        o->pipeline = (unsigned)v;
        o->given |= OPT_PIPELINE;
        return 0;
    case LONG_RATE:
        if (parse_uint("--rate", arg, 1, 100000000, &o->rate) != 0)
            return -1;
        o->given |= OPT_RATE;
        return 0;
    case LONG_SENDERS:
        if (parse_uint("--senders", arg, 1, BENCH_MAX_CONNECTIONS, &v) != 0)
            return -1;
        o->senders = (unsigned)v;
        o->given |= OPT_SENDERS;
        return 0;
    case LONG_SLOW:
        if (parse_uint("--slow", arg, 0, BENCH_MAX_CONNECTIONS, &v) != 0)
            return -1;
        o->slow = (unsigned)v;
        o->given |= OPT_SLOW;
        return 0;
    case LONG_THREADS:
        if (parse_uint("--threads", arg, 1, BENCH_MAX_THREADS, &v) != 0)
            return -1;
        o->threads = (unsigned)v;
        return 0;
    case LONG_SERVER_PID:
        if (parse_uint("--server-pid", arg, 1, INT_MAX, &v) != 0)
            return -1;
        o->server_pid = (pid_t)v;
        o->given |= OPT_SERVER_PID;
        return 0;
    }
    return 1;
}

/* One option; 0, -1 on a bad value. */
static int apply_option(struct bench_options *o, int ch, const char *arg)
{
    uint64_t v;
    int rc;

    if ((rc = apply_count_option(o, ch, arg)) <= 0 ||
        (rc = apply_tls_option(&o->tls, ch, arg)) <= 0)
        return rc;
    switch (ch) {
    case 'H':
        o->host = arg;
        return 0;
    case 'd':
        if (parse_duration("--duration", arg, &o->duration_ms) != 0)
            return -1;
        if (o->duration_ms == 0) {
            bench_error("--duration must be more than 0");
            return -1;
        }
        return 0;
    case 's':
        if (cli_parse_size(arg, &v) != 0 || v > BENCH_MAX_PAYLOAD) {
            bench_error("--size: '%s' is not a size up to %u bytes (64, 4k, 1m)", arg,
                        BENCH_MAX_PAYLOAD);
            return -1;
        }
        o->payload = (size_t)v;
        o->given |= OPT_PAYLOAD;
        return 0;
    case LONG_SIGN:
        o->sign = true;
        o->given |= OPT_SIGN;
        return 0;
    case LONG_REQUEST:
        o->request = true;
        o->given |= OPT_REQUEST;
        return 0;
    case LONG_WARMUP:
        if (parse_duration("--warmup", arg, &o->warmup_ms) != 0)
            return -1;
        o->given |= OPT_WARMUP;
        return 0;
    case LONG_SERVER_KEY:
        if (ts_fingerprint_validate(arg) != TS_OK) {
            bench_error("--server-key: '%s' is not a fingerprint (SHA256:...)", arg);
            return -1;
        }
        o->server_key = arg;
        return 0;
    case LONG_JSON:
        o->json = true;
        return 0;
    case LONG_ALLOW_REMOTE:
        o->allow_remote = true;
        return 0;
    }
    return -1;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Resolve --host and --port into o->addr, refusing remote servers unless
 * allowed: the measurements this program makes are meant for loopback. */
static int resolve(struct bench_options *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    char port[8], host[NI_MAXHOST];
    int rc;

    snprintf(port, sizeof(port), "%u", o->port);
    if ((rc = getaddrinfo(o->host, port, &hints, &res)) != 0) {
        bench_error("cannot resolve %s: %s", o->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    if ((rc = getnameinfo((struct sockaddr *)&o->addr, o->addrlen, host, sizeof(host), NULL,
                          0, NI_NUMERICHOST)) != 0) {
        bench_error("cannot format the address of %s: %s", o->host, gai_strerror(rc));
        return -1;
    }
    snprintf(o->addr_text, sizeof(o->addr_text),
             o->addr.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, o->port);
    if (!o->allow_remote && !is_loopback((struct sockaddr *)&o->addr)) {
        bench_error("%s is not a loopback address; pass --allow-remote to load a server "
                    "on another machine",
                    host);
        return -1;
    }
    return 0;
}

/* TLS settings without --tls would be silently unused. */
static int check_tls(const struct bench_tls_options *t)
{
    const char *given = t->ca != NULL            ? "--ca"
                        : t->cert != NULL        ? "--cert"
                        : t->key != NULL         ? "--key"
                        : t->server_name != NULL ? "--servername"
                        : t->pin != NULL         ? "--pin"
                        : t->min_version != 0    ? "--tls-min-version"
                                                 : NULL;

    if (!t->enabled && given != NULL) {
        bench_error("%s needs --tls", given);
        return -1;
    }
    if ((t->cert == NULL) != (t->key == NULL)) {
        bench_error("a client certificate needs both --cert FILE and --key FILE");
        return -1;
    }
    return 0;
}

/* Options given that the scenario does not use are mistakes, not noise. */
static int check_options(struct bench_options *o)
{
    const struct scenario *sc = o->scenario;

    for (size_t i = 0; i < sizeof(opt_names) / sizeof(opt_names[0]); i++) {
        if ((o->given & opt_names[i].bit) && !(sc->accepts & opt_names[i].bit)) {
            bench_error("%s does not apply to the %s scenario", opt_names[i].name, sc->name);
            return -1;
        }
    }
    if (check_tls(&o->tls) != 0)
        return -1;
    if (o->threads > o->connections) {
        bench_error("--threads %u is more than the %u connections", o->threads,
                    o->connections);
        return -1;
    }
    if (sc->check != NULL && sc->check(o) != 0)
        return -1;
    return resolve(o);
}

static const struct scenario *find_scenario(const char *name,
                                            const struct scenario *const *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    }
    return NULL;
}

static void options_init(struct bench_options *o, const struct scenario *sc)
{
    memset(o, 0, sizeof(*o));
    o->scenario = sc;
    o->host = BENCH_DEFAULT_HOST;
    o->port = BENCH_DEFAULT_PORT;
    o->connections = sc->default_connections != 0 ? sc->default_connections
                                                  : BENCH_DEFAULT_CONNECTIONS;
    o->duration_ms = BENCH_DEFAULT_DURATION_MS;
    o->warmup_ms = BENCH_DEFAULT_WARMUP_MS;
    o->payload = BENCH_DEFAULT_PAYLOAD;
    o->pipeline = 1;
    o->threads = 1;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

/* getopt's own messages would name the scenario as the program. */
static void bad_option(int ch, char **argv)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    bool is_short = optopt > 0 && optopt < 128;

    bench_error("%s option %s (see --help)", ch == ':' ? "missing value for" : "unknown",
                is_short ? shortopt : argv[optind - 1]);
}

int bench_options_parse(struct bench_options *o, int argc, char **argv,
                        const struct scenario *const *table, size_t n)
{
    const struct scenario *sc;
    int ch;

    memset(o, 0, sizeof(*o));
    if (argc < 2) {
        bench_options_usage(stderr, table, n);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        bench_options_usage(stdout, table, n);
        return -1;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", BENCH_PROGRAM, TS_VERSION);
        return -1;
    }
    if ((sc = find_scenario(argv[1], table, n)) == NULL) {
        bench_error("unknown scenario '%s' (see --help for the list)", argv[1]);
        return EXIT_USAGE;
    }
    options_init(o, sc);
    /* getopt sees the scenario as the program name. */
    opterr = 0;
    optind = 0; /* glibc: start afresh, also after an earlier parse */
    while ((ch = getopt_long(argc - 1, argv + 1, ":H:p:c:d:s:h", long_options, NULL)) != -1) {
        if (ch == '?' || ch == ':') {
            bad_option(ch, argv + 1);
            return EXIT_USAGE;
        }
        if (ch == 'h') {
            bench_options_usage(stdout, table, n);
            return -1;
        }
        if (ch == LONG_VERSION) {
            printf("%s %s\n", BENCH_PROGRAM, TS_VERSION);
            return -1;
        }
        if (apply_option(o, ch, optarg) != 0)
            return EXIT_USAGE;
    }
    if (optind < argc - 1) {
        bench_error("unexpected argument '%s'", argv[optind + 1]);
        return EXIT_USAGE;
    }
    return check_options(o) == 0 ? EXIT_OK : EXIT_USAGE;
}
