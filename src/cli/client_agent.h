/*
 * The tcp_client agent: a background process holding one session with a
 * server (through the client library), driven over a UNIX socket in the
 * client state directory. docs/agent.md is the user's guide and describes
 * the control protocol.
 *
 *   client_start.c          `start`: options, fork and detach, the report
 *   client_agent_run.c      the agent process: files, session, main loop
 *   client_agent_control.c  its control socket: connections and lines
 *   client_agent_cmds.c     the control commands (status, send, response, stop)
 *   client_agent_chat.c     the chat control commands (command, chat, listen)
 *   client_agent_events.c   answers and messages from the client thread
 *   client_agent_link.c     the commands' side: talking to a running agent
 *   client_agent_send.c     send and sign through the agent
 *   client_agent_inbox.c    response through the agent
 *   client_agent_pid.c      agent.pid
 */
#ifndef TS_CLI_CLIENT_AGENT_H
#define TS_CLI_CLIENT_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <tcpseal/client.h>

#include "cli/client_cli.h"
#include "client/chat.h"
#include "util/dbuf.h"

#define AGENT_SOCKET_FILE "agent.sock"
#define AGENT_PID_FILE "agent.pid"
#define AGENT_LOG_FILE "agent.log"
#define AGENT_DB_FILE "agent.db"

/* A request line is at most this long (a 1 MiB message in base64 and
 * some room). */
#define AGENT_MAX_REQUEST (4u * 1024u * 1024u)
/* One answer line: an envelope of the largest size the protocol allows,
 * in base64, and its fields. */
#define AGENT_MAX_LINE (96u * 1024u * 1024u)
/* How long a control client may take to send its request. */
#define AGENT_REQUEST_TIMEOUT_MS 5000u

/* ------------------------------------------------------------------ */
/* Options of `start`, as the agent runs with them.                     */

struct agent_options {
    char host[NET_HOST_MAX + 1];
    uint16_t port;
    char hostport[NET_HOSTPORT_MAX];
    const char *server_key;        /* --server-key, or NULL */
    bool foreground;
    uint64_t timeout_ms;           /* first connection */
    uint64_t heartbeat_ms;
    uint64_t reconnect_initial_ms;
    uint64_t reconnect_max_ms;
    uint64_t inbox_limit;
    struct client_tls_opts tls;    /* --tls and its options */
};

/*
 * Run the agent in this process (after the fork, or in the foreground):
 * lock agent.pid, open agent.sock, load the identity, create the client on
 * agent.db, connect within opts->timeout_ms, report, then serve until
 * stopped. report_fd (-1 in the foreground) receives one line: "up PID
 * HOSTPORT FINGERPRINT" or "fail STATUS MESSAGE". Returns the exit status.
 */
int agent_run(const struct agent_options *opts, const char *dir, int report_fd);

/* ------------------------------------------------------------------ */
/* The pid file.                                                        */

/*
 * Lock path exclusively without waiting. 0 with *fd held, 1 when another
 * process holds it (*holder: its pid, or 0), -1 on error (printed).
 */
int agent_pidfile_lock(const char *path, int *fd, long *holder);

/* Record our pid in the locked file. 0 or -1 (printed). */
int agent_pidfile_write(int fd, const char *path);

/* Unlink and unlock. */
void agent_pidfile_release(int *fd, const char *path);

/* The pid of the agent holding path's lock; -1 when one holds it but has
 * not written its pid yet; 0 when none runs. */
long agent_pidfile_holder(const char *path);

/* ------------------------------------------------------------------ */
/* Talking to a running agent (the commands' side).                     */

struct agent_link {
    int fd;
    struct dbuf in;
};

/*
 * Connect to the agent of dir. EXIT_OK, EXIT_NOT_RUNNING (no agent: nothing
 * printed), or another status after printing why.
 */
int agent_link_open(struct agent_link *l, const char *dir);

/* Send req (one JSON object, consumed) as a line. EXIT_OK or a status
 * after printing why. */
int agent_link_send(struct agent_link *l, json_t *req, uint64_t deadline_ms);

/*
 * The next line from the agent as a JSON object (*out, caller decrefs),
 * waiting up to deadline_ms (monotonic; 0 = forever). EXIT_OK;
 * EXIT_TIMEOUT (nothing printed); EXIT_NOT_RUNNING when the agent closed
 * the connection (*out NULL; nothing printed); other statuses after
 * printing why.
 */
int agent_link_read(struct agent_link *l, uint64_t deadline_ms, json_t **out);

void agent_link_close(struct agent_link *l);

/* One exchange: open, send req, read the first answer line into *out.
 * EXIT_NOT_RUNNING when no agent runs (nothing printed). */
int agent_call(const char *dir, json_t *req, uint64_t timeout_ms, json_t **out,
               struct agent_link *keep);

/* agent_call() for a request naming this command's server: an agent
 * that talks to another one counts as none (EXIT_NOT_RUNNING, nothing
 * printed, keep closed). */
int agent_call_ours(const char *dir, json_t *req, uint64_t timeout_ms, json_t **out,
                    struct agent_link *keep);

/* "agent not running" on stderr (and {"running":false} on stdout with
 * json); EXIT_NOT_RUNNING. */
int agent_not_running(bool json);

/* Report an {"ok":false,...} answer: one line on stderr; the exit status
 * its code maps to. */
int agent_refused(const char *what, json_t *answer);

/*
 * A message object of the protocol ({"envelope","verified","server",
 * "server_key"}) back into an answer: the envelope decoded and checked for
 * its hash and timestamp. *server gets the server (capacity
 * NET_HOSTPORT_MAX). EXIT_OK or EXIT_PROTOCOL after printing why.
 */
int agent_message_decode(json_t *msg, struct client_answer *a, char *server);

/*
 * send / sign through a running agent. *handled stays 0 when no agent runs
 * or it talks to another server than t names (nothing printed: the caller
 * goes one-shot). Otherwise: EXIT_OK with the answer in *a (or, with
 * --no-wait, the id printed and a->env NULL) and the agent's server in
 * server (capacity NET_HOSTPORT_MAX); or a status after printing why
 * (EXIT_TIMEOUT: no answer within --timeout, the message stays queued).
 */
int client_agent_send(const struct client_target *t, const char *dir, bool sign,
                      struct client_answer *a, char *server, int *handled);

/*
 * response through a running agent: the last answer in its inbox, all of
 * the inbox (--all), new messages as they come (--follow). *handled stays
 * 0 when no agent runs, or when only the last answer was asked and the
 * agent talks to another server or has no answer yet (the saved one is
 * shown instead). Otherwise the exit status, after printing.
 */
int client_response_agent(const struct client_simple *o, const char *dir, int *handled);

/* ------------------------------------------------------------------ */
/* Agent side: events from the client thread to the main loop.          */

enum agent_event_kind {
    AGENT_EV_ANSWER,  /* a message sent by a control client was settled */
    AGENT_EV_MESSAGE, /* anything else that arrived */
};

struct agent_event {
    struct agent_event *next;
    enum agent_event_kind kind;
    uint64_t id;          /* ANSWER: the message settled */
    int status;           /* ANSWER: 0, TS_ERR_SERVER or TS_ERR_CLOSED */
    uint8_t *data;        /* the envelope, encoded; NULL without one */
    size_t len;
    bool verified;
    enum chat_verdict verdict; /* MESSAGE: a relayed Chat's verdict */
    bool command;         /* ANSWER: to a Command, which the inbox does not keep */
};

/* A queue filled by the client thread, drained by the main loop, with an
 * eventfd that wakes the loop. Bounded: beyond AGENT_EVENTS_MAX pending
 * events the oldest are dropped (and logged). */
#define AGENT_EVENTS_MAX 10000

struct agent_events {
    pthread_mutex_t lock;
    struct agent_event *head, *tail;
    size_t count;
    int fd;
};

int agent_events_init(struct agent_events *q);
void agent_events_free(struct agent_events *q);

/* The callbacks given to the client (arg: the queue). */
void agent_events_on_answer(ts_client *c, uint64_t id, int status, const ts_envelope *answer,
                            void *arg);
/* The same for a Command's answer: for its waiter only, like the inbox,
 * which does not keep it, followers do not see it. */
void agent_events_on_command_answer(ts_client *c, uint64_t id, int status,
                                    const ts_envelope *answer, void *arg);
/* What the chat layer delivers (arg: the queue). */
void agent_events_on_chat(struct chat *chat, const ts_envelope *msg,
                          enum chat_verdict verdict, void *arg);

/* Take every pending event, oldest first (caller frees each with
 * agent_event_free). */
struct agent_event *agent_events_take(struct agent_events *q);
void agent_event_free(struct agent_event *ev);

/* ------------------------------------------------------------------ */
/* Agent side: the control socket.                                      */

#define AGENT_MAX_CONNECTIONS 64

struct agent;

/* What a control connection is doing. */
enum agent_conn_mode {
    AC_FREE,    /* unused slot */
    AC_READ,    /* reading its request line */
    AC_WAIT,    /* waiting for the answer to message wait_id */
    AC_FOLLOW,  /* streaming new messages until the peer leaves */
    AC_LISTEN,  /* streaming new chat messages and events of a room */
    AC_FLUSH,   /* writing what is queued, then closing */
};

/* One message to write to a control connection, with its verdict. */
struct agent_item {
    ts_envelope *env;
    bool verified;               /* as the inbox says */
    enum chat_verdict verdict;   /* a relayed Chat's verdict */
};

struct agent_conn {
    int fd;
    enum agent_conn_mode mode;
    struct dbuf in, out;
    uint64_t deadline;           /* AC_READ: request must be complete by then */
    uint64_t wait_id;
    char room[CHAT_NAME_MAX + 1];/* AC_LISTEN: the room ("" for all) */
    /* Listing the inbox: messages still to write, and (to follow after
     * listing) the hashes already written, so nothing appears twice. */
    struct agent_item *list;
    size_t list_n, list_next;
    uint8_t (*seen)[TS_ENVELOPE_HASH_LEN];
    size_t seen_n;
};

struct agent {
    const struct agent_options *opts;
    const char *dir;
    ts_client *client;
    struct chat *chat;
    ts_identity *identity;
    char *sock_path, *pid_path;
    int pid_fd, listen_fd, signal_fd;
    struct agent_events events;
    bool events_ready;
    struct agent_conn conns[AGENT_MAX_CONNECTIONS];
    uint64_t started_ms;         /* wall clock */
    bool stopping;
};

/* Create and listen on the control socket (0600; a stale file from a dead
 * agent is replaced). EXIT_OK or a status after printing why. */
int agent_control_open(struct agent *a);

/* Serve control connections, client events and signals until stopping.
 * Returns when a stop was asked (command or signal). */
void agent_control_loop(struct agent *a);

/* Close every connection and the socket (the file is removed). */
void agent_control_close(struct agent *a);

/* Queue a JSON line (json consumed) for a connection. 0, or -1 when its
 * output is over the limit (the connection is then closed). */
int agent_conn_reply(struct agent *a, struct agent_conn *ac, json_t *json);


/* A message object of the protocol ({"envelope","verified","server",
 * "server_key"}, and "verdict" for a relayed Chat envelope). NULL when out
 * of memory. */
json_t *agent_message_object(struct agent *a, const struct agent_item *it);

/* The inbox as a listing, oldest first, each entry with its verdict
 * (caller frees with agent_items_free). 0, TS_ERR_IO or TS_ERR_NOMEM. */
int agent_inbox_items(struct agent *a, struct agent_item **out, size_t *n);

/* Free a listing (its envelopes from index from on). */
void agent_items_free(struct agent_item *list, size_t from, size_t n);

/* The chat control commands (client_agent_chat.c). */
void agent_do_command(struct agent *a, struct agent_conn *ac, json_t *req);
void agent_do_chat(struct agent *a, struct agent_conn *ac, json_t *req);
void agent_do_listen(struct agent *a, struct agent_conn *ac, json_t *req);

/* Shared by the commands: {"ok":false,"code":...,"error":...}, whether
 * a request names the agent's server, and the answer when it does not. */
json_t *agent_failure(const char *code, const char *text);
bool agent_for_us(struct agent *a, json_t *req);
json_t *agent_other_server(struct agent *a);

/* The "code" of a refusal for a library error of sending. */
const char *agent_refusal_code(int rc);

/* The checks every message request passes: for this agent's server, with
 * a payload (decoded into *payload: caller wipes and frees). False after
 * answering the refusal. */
bool agent_message_accept(struct agent *a, struct agent_conn *ac, json_t *req, uint8_t **payload,
                          size_t *len);

/* Handle one request line of ac (client_agent_cmds.c). */
void agent_command(struct agent *a, struct agent_conn *ac, json_t *req);

/* Pending listing lines for ac while its output has room. */
void agent_conn_fill(struct agent *a, struct agent_conn *ac);

/* An event for the connections: answers to waiters, messages to
 * followers. */
void agent_dispatch_event(struct agent *a, const struct agent_event *ev);

#endif /* TS_CLI_CLIENT_AGENT_H */
