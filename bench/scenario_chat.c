/*
 * chat: -c senders (50 by default), each a registered user alone in a
 * room of its own, sending Chat messages in a closed loop (--pipeline in
 * flight each). Nothing fans out, so what is measured is durable ingest:
 * messages acknowledged per second (the server acknowledges a message
 * once the store committed it) and the Ack latency.
 */
#include "chat.h"
#include "chat_plan.h"
#include "scenario.h"

static int chat_check(struct bench_options *opt)
{
    opt->senders = opt->connections;
    opt->slow = 0;
    opt->rooms = opt->connections;
    return chat_plan_check(opt);
}

const struct scenario scenario_chat = {
    .name = "chat",
    .summary = "acknowledged (stored) chat messages per second from -c senders",
    .accepts = OPT_PAYLOAD | OPT_PIPELINE | OPT_SIGN | OPT_WARMUP,
    .default_connections = BENCH_DEFAULT_CHAT_SENDERS,
    .check = chat_check,
    .keys_needed = chat_keys,
    .prepare = chat_prepare,
    .thread_start = chat_thread_start,
    .thread_tick = chat_tick,
    .on_ready = chat_ready,
    .on_message = chat_message,
    .on_closed = chat_closed,
    .coordinate = scenario_coordinate_load,
};
