/*
 * tcp_server certs: a CA, a server certificate and client certificates
 * for TLS (src/tls/certgen.h does the work; docs/tls.md shows the use).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcpseal/error.h>

#include "cli/cli_common.h"
#include "cli/server_cmds.h"
#include "cli/server_paths.h"
#include "tls/certgen.h"
#include "tls/pin.h"

enum {
    OPT_OUT = 1000,
    OPT_CN,
    OPT_DAYS,
    OPT_CLIENT,
    OPT_CA_DIR,
    OPT_EXPIRED,
    OPT_FORCE,
};

/* certs_parse(): the arguments are complete; go on. */
#define CERTS_CONTINUE (-1)

struct certs_args {
    struct certgen_options gen;
    const char **clients; /* points into argv; grows with each --client */
    size_t n_clients;
};

static void certs_help(void)
{
    printf("usage: %s %s\n%s\n\n"
           "options:\n"
           "  --out DIR       write the files here (created 0700 when missing)\n"
           "  --cn NAME       the server's name: DNS name or IP address (%s); the\n"
           "                  certificate also covers localhost, 127.0.0.1 and ::1\n"
           "  --days N        validity of the server and client certificates (%u);\n"
           "                  a new CA gets %u days, or N when longer\n"
           "  --client NAME   also make client-NAME.crt/.key with CN=NAME, for mutual\n"
           "                  TLS (repeat, or give a comma-separated list)\n"
           "  --ca-dir DIR2   sign with the CA in DIR2 (ca.crt, ca.key) instead of\n"
           "                  making a new one\n"
           "  --expired       testing aid: the server certificate's validity lies in\n"
           "                  the past, so clients must refuse it\n"
           "  --force         replace existing files (otherwise refused)\n",
           SERVER_PROGRAM, server_cmd_certs.usage, server_cmd_certs.summary,
           CERTGEN_DEFAULT_NAME, CERTGEN_DEFAULT_DAYS, CERTGEN_CA_DAYS);
}

/* Append each name of a comma-separated list; the list is split in
 * place (it is argv's own storage). 0 or -1. */
static int clients_add(struct certs_args *a, char *list)
{
    const char **grown;
    char *save = NULL;

    for (char *name = strtok_r(list, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save)) {
        grown = realloc(a->clients, (a->n_clients + 1) * sizeof(*grown));
        if (grown == NULL) {
            cli_error(SERVER_PROGRAM, "out of memory");
            return -1;
        }
        a->clients = grown;
        a->clients[a->n_clients++] = name;
    }
    return 0;
}

/* CERTS_CONTINUE, or the status to exit with. */
static int certs_parse(int argc, char **argv, struct certs_args *a)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"cn", required_argument, NULL, OPT_CN},
        {"days", required_argument, NULL, OPT_DAYS},
        {"client", required_argument, NULL, OPT_CLIENT},
        {"ca-dir", required_argument, NULL, OPT_CA_DIR},
        {"expired", no_argument, NULL, OPT_EXPIRED},
        {"force", no_argument, NULL, OPT_FORCE},
        {NULL, 0, NULL, 0},
    };
    uint64_t days;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: a->gen.out_dir = optarg; break;
        case OPT_CN: a->gen.server_name = optarg; break;
        case OPT_CA_DIR: a->gen.ca_dir = optarg; break;
        case OPT_EXPIRED: a->gen.expired = true; break;
        case OPT_FORCE: a->gen.force = true; break;
        case OPT_DAYS:
            if (cli_parse_uint(optarg, CERTGEN_MAX_DAYS, &days) != 0 || days == 0) {
                cli_error(SERVER_PROGRAM, "--days takes 1 to %u", CERTGEN_MAX_DAYS);
                return EXIT_USAGE;
            }
            a->gen.days = (unsigned)days;
            break;
        case OPT_CLIENT:
            if (clients_add(a, optarg) != 0)
                return EXIT_FAILURE_GENERIC;
            break;
        default:
            return cli_usage(SERVER_PROGRAM, &server_cmd_certs, true);
        }
    }
    if (optind < argc || a->gen.out_dir == NULL) {
        if (a->gen.out_dir == NULL)
            cli_error(SERVER_PROGRAM, "certs needs --out DIR");
        return cli_usage(SERVER_PROGRAM, &server_cmd_certs, true);
    }
    a->gen.clients = a->clients;
    a->gen.n_clients = a->n_clients;
    return CERTS_CONTINUE;
}

static void file_written(void *arg, const char *path, const char *what)
{
    printf("wrote %-40s %s\n", path, what);
}

/* The directory as an absolute path, so the printed lines work from
 * anywhere; the name as given when it cannot be resolved. */
static void print_config(const struct certgen_options *gen)
{
    char dir[PATH_MAX], ca_dir[PATH_MAX], pin[TLS_PIN_MAX], *path;

    if (realpath(gen->out_dir, dir) == NULL)
        snprintf(dir, sizeof(dir), "%s", gen->out_dir);
    if (gen->ca_dir == NULL || realpath(gen->ca_dir, ca_dir) == NULL)
        snprintf(ca_dir, sizeof(ca_dir), "%s", gen->ca_dir != NULL ? gen->ca_dir : dir);
    path = cli_path_join(dir, "server.crt");
    if (path != NULL && tls_pin_of_cert_file(path, pin) == TS_OK)
        printf("\nserver key pin: %s\n", pin);
    free(path);
    printf("\nserver configuration:\n[tls]\ncert = %s/server.crt\n"
           "key = %s/server.key\n", dir, dir);
    if (gen->n_clients > 0)
        printf("ca = %s/ca.crt\nverify_client = required\n", ca_dir);
    printf("\nclients: tcp_client --tls --ca %s/ca.crt ...\n", ca_dir);
    for (size_t i = 0; i < gen->n_clients; i++)
        printf("  as %s: --cert %s/client-%s.crt --key %s/client-%s.key\n", gen->clients[i],
               dir, gen->clients[i], dir, gen->clients[i]);
}

static int certs_run(int argc, char **argv)
{
    struct certs_args a = {.gen = {.on_file = file_written}};
    int status, rc;

    if (cli_wants_help(argc, argv)) {
        certs_help();
        return EXIT_OK;
    }
    status = certs_parse(argc, argv, &a);
    if (status != CERTS_CONTINUE) {
        free(a.clients);
        return status;
    }
    rc = certgen_run(&a.gen);
    if (rc == TS_OK) {
        print_config(&a.gen);
        status = EXIT_OK;
    } else {
        cli_error(SERVER_PROGRAM, "certs: %s", ts_error_detail(rc));
        status = rc == TS_ERR_INVALID ? EXIT_USAGE : EXIT_FAILURE_GENERIC;
    }
    free(a.clients);
    return status;
}

const struct cli_command server_cmd_certs = {
    "certs",
    "Make a test CA, a server certificate and client certificates for TLS.",
    "certs --out DIR [--cn NAME] [--days N] [--client NAME]... [--ca-dir DIR2] "
    "[--expired] [--force]",
    certs_run,
};
