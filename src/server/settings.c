#include "server/server_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <tcpseal/protocol.h>

#include "util/error.h"

#define DEFAULT_PORT 8080
#define DEFAULT_MAX_CLIENTS 10000
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define DEFAULT_HEARTBEAT_MS 15000
#define DEFAULT_IDLE_TIMEOUT_MS 300000
#define DEFAULT_MAX_OUTPUT (8u * 1024u * 1024u)
#define DEFAULT_SKEW_MS 300000
#define DEFAULT_REKEY_FRAMES 1000000
#define DEFAULT_REKEY_MS 3600000
#define MIN_TIMER_MS 100
#define DEFAULT_MIN_PASSWORD 8
#define DEFAULT_PASSWORD_OPS 2
#define DEFAULT_PASSWORD_MEM (64u * 1024u * 1024u)
#define DEFAULT_LOGIN_FAILURES 5
#define DEFAULT_LOCKOUT_MS (15u * 60u * 1000u)
#define DEFAULT_AUTH_TIMEOUT_MS 30000
#define DEFAULT_HISTORY_ON_JOIN 50
#define DEFAULT_TLS_PORT 8443
#define MAX_HISTORY_ON_JOIN 1000
/* libsodium's Argon2id bounds, kept well inside for a server. */
#define MIN_PASSWORD_OPS 1
#define MAX_PASSWORD_OPS 16
#define MIN_PASSWORD_MEM (8u * 1024u)
#define MAX_PASSWORD_MEM (1024u * 1024u * 1024u)
/* Output must hold at least one largest message and its framing. */
#define OUTPUT_HEADROOM (64u * 1024u)

void ts_server_config_init(ts_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "localhost";
    cfg->port = DEFAULT_PORT;
    cfg->max_clients = DEFAULT_MAX_CLIENTS;
    cfg->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
    cfg->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    cfg->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    cfg->max_message = TS_DEFAULT_MAX_MESSAGE;
    cfg->max_output = DEFAULT_MAX_OUTPUT;
    cfg->timestamp_skew_ms = DEFAULT_SKEW_MS;
    cfg->handler = TS_HANDLER_ECHO;
    cfg->rekey_after_frames = DEFAULT_REKEY_FRAMES;
    cfg->rekey_after_ms = DEFAULT_REKEY_MS;
    cfg->allow_anonymous = true;
    cfg->open_registration = true;
    cfg->min_password_length = DEFAULT_MIN_PASSWORD;
    cfg->password_opslimit = DEFAULT_PASSWORD_OPS;
    cfg->password_memlimit = DEFAULT_PASSWORD_MEM;
    cfg->login_max_failures = DEFAULT_LOGIN_FAILURES;
    cfg->login_lockout_ms = DEFAULT_LOCKOUT_MS;
    cfg->auth_timeout_ms = DEFAULT_AUTH_TIMEOUT_MS;
    cfg->history_on_join = DEFAULT_HISTORY_ON_JOIN;
    cfg->tls_port = DEFAULT_TLS_PORT;
    cfg->tls_min_version = TLS1_3_VERSION;
    cfg->tls_session_tickets = true;
}

static int check_timer(const char *name, uint32_t ms)
{
    if (ms != 0 && ms < MIN_TIMER_MS)
        return error_set(TS_ERR_CONFIG, "%s must be 0 (off) or at least %d ms", name,
                         MIN_TIMER_MS);
    return TS_OK;
}

static int check_accounts(const ts_server_config *cfg)
{
    if (cfg->password_opslimit < MIN_PASSWORD_OPS || cfg->password_opslimit > MAX_PASSWORD_OPS)
        return error_set(TS_ERR_CONFIG, "password_opslimit must be between %d and %d",
                         MIN_PASSWORD_OPS, MAX_PASSWORD_OPS);
    if (cfg->password_memlimit < MIN_PASSWORD_MEM || cfg->password_memlimit > MAX_PASSWORD_MEM)
        return error_set(TS_ERR_CONFIG, "password_memlimit must be between 8 KiB and 1 GiB");
    if (cfg->min_password_length == 0 || cfg->min_password_length > 1024)
        return error_set(TS_ERR_CONFIG, "min_password_length must be between 1 and 1024");
    if (cfg->history_on_join > MAX_HISTORY_ON_JOIN)
        return error_set(TS_ERR_CONFIG, "history_on_join must be at most %d",
                         MAX_HISTORY_ON_JOIN);
    if (!cfg->allow_anonymous && cfg->auth_timeout_ms < MIN_TIMER_MS)
        return error_set(TS_ERR_CONFIG, "auth_timeout must be at least %d ms", MIN_TIMER_MS);
    return TS_OK;
}

static int check_tls(const ts_server_config *cfg)
{
    if (cfg->no_plain && !cfg->tls_enabled)
        return error_set(TS_ERR_CONFIG, "no plain listener and no TLS listener: nothing to "
                         "listen on");
    if (!cfg->tls_enabled)
        return TS_OK;
    if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL)
        return error_set(TS_ERR_CONFIG, "TLS needs a certificate (cert) and its key (key)");
    if (cfg->tls_min_version != TLS1_2_VERSION && cfg->tls_min_version != TLS1_3_VERSION)
        return error_set(TS_ERR_CONFIG, "the TLS minimum version is 1.2 or 1.3");
    if (cfg->tls_verify_client != TS_TLS_VERIFY_NONE && cfg->tls_ca == NULL)
        return error_set(TS_ERR_CONFIG, "verifying client certificates needs a CA (ca)");
    if (cfg->tls_map_cn && cfg->tls_verify_client == TS_TLS_VERIFY_NONE)
        return error_set(TS_ERR_CONFIG, "map_cn_to_account needs client certificates "
                         "(verify_client optional or required)");
    if (!cfg->no_plain && cfg->port == cfg->tls_port && cfg->port != 0)
        return error_set(TS_ERR_CONFIG, "the plain and TLS listeners need different ports");
    return TS_OK;
}

int ts_server_config_check(const ts_server_config *cfg)
{
    int rc;

    if (cfg->host == NULL || cfg->host[0] == '\0')
        return error_set(TS_ERR_CONFIG, "host must not be empty");
    if (cfg->workers > SERVER_MAX_WORKERS)
        return error_set(TS_ERR_CONFIG, "workers must be at most %d", SERVER_MAX_WORKERS);
    if (cfg->max_message == 0 || cfg->max_message > TS_MAX_MESSAGE_LIMIT)
        return error_set(TS_ERR_CONFIG, "max_message must be between 1 and %u bytes",
                         TS_MAX_MESSAGE_LIMIT);
    if (cfg->max_output < cfg->max_message + OUTPUT_HEADROOM)
        return error_set(TS_ERR_CONFIG,
                         "max_output (%zu) must exceed max_message (%zu) by at least %u bytes",
                         cfg->max_output, cfg->max_message, OUTPUT_HEADROOM);
    /* A message larger than the byte bucket could never pass: it would be
     * refused as over the rate forever, which misleads more than a clear
     * error at start-up. */
    if (cfg->byte_rate != 0 && cfg->byte_burst != 0 && cfg->byte_burst < cfg->max_message)
        return error_set(TS_ERR_CONFIG,
                         "byte_burst (%llu) must be at least max_message (%zu): a larger "
                         "message could never pass the byte rate limit",
                         (unsigned long long)cfg->byte_burst, cfg->max_message);
    if (cfg->handler != TS_HANDLER_ECHO && cfg->handler != TS_HANDLER_ACK)
        return error_set(TS_ERR_CONFIG, "unknown handler %d", (int)cfg->handler);
    if ((rc = check_timer("handshake_timeout", cfg->handshake_timeout_ms)) != TS_OK ||
        (rc = check_timer("heartbeat", cfg->heartbeat_ms)) != TS_OK ||
        (rc = check_timer("idle_timeout", cfg->idle_timeout_ms)) != TS_OK)
        return rc;
    if (cfg->handshake_timeout_ms == 0)
        return error_set(TS_ERR_CONFIG, "handshake_timeout cannot be off");
    if ((rc = check_tls(cfg)) != TS_OK)
        return rc;
    return check_accounts(cfg);
}

/* Fill the "0 = default" fields so the rest of the server reads plain
 * numbers. */
static void settings_normalise(ts_server_config *cfg)
{
    if (cfg->message_burst == 0)
        cfg->message_burst = cfg->message_rate;
    if (cfg->byte_burst == 0)
        cfg->byte_burst = cfg->byte_rate > cfg->max_message ? cfg->byte_rate
                                                            : cfg->max_message;
    if (cfg->rekey_after_frames == 0)
        cfg->rekey_after_frames = DEFAULT_REKEY_FRAMES;
    if (cfg->rekey_after_ms == 0)
        cfg->rekey_after_ms = DEFAULT_REKEY_MS;
}

int settings_publish(ts_server *srv, const ts_server_config *cfg)
{
    struct settings *s;
    int rc;

    if ((rc = ts_server_config_check(cfg)) != TS_OK)
        return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return TS_ERR_NOMEM;
    s->cfg = *cfg;
    settings_normalise(&s->cfg);
    pthread_mutex_lock(&srv->settings_lock);
    s->older = atomic_load(&srv->settings);
    atomic_store_explicit(&srv->settings, s, memory_order_release);
    pthread_mutex_unlock(&srv->settings_lock);
    return TS_OK;
}

void settings_free_all(ts_server *srv)
{
    struct settings *s = atomic_load(&srv->settings), *older;

    for (; s != NULL; s = older) {
        older = s->older;
        free(s);
    }
    atomic_store(&srv->settings, NULL);
}
