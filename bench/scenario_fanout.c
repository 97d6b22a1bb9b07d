/*
 * fanout: -c members (200 by default) in one room; the first --senders of
 * them send Chat messages in a closed loop, and the server relays each to
 * every other member. Measures deliveries per second at the members and
 * the delivery latency (send to arrival). With --slow N the last N
 * members stop reading once the load starts: the server must cut each
 * off when its output queue limit is reached while the others go on at
 * full speed; how each slow member ended is reported by reason.
 */
#include "chat.h"
#include "chat_plan.h"
#include "scenario.h"

static int fanout_check(struct bench_options *opt)
{
    if (opt->connections < 2) {
        bench_error("fanout needs at least 2 members (-c)");
        return -1;
    }
    if (!(opt->given & OPT_SENDERS))
        opt->senders = opt->connections < BENCH_DEFAULT_FANOUT_SENDERS
                           ? opt->connections
                           : BENCH_DEFAULT_FANOUT_SENDERS;
    opt->rooms = 1;
    return chat_plan_check(opt);
}

const struct scenario scenario_fanout = {
    .name = "fanout",
    .summary = "chat deliveries per second to -c members of one room",
    .accepts = OPT_PAYLOAD | OPT_PIPELINE | OPT_SIGN | OPT_WARMUP | OPT_SENDERS | OPT_SLOW,
    .default_connections = BENCH_DEFAULT_FANOUT_MEMBERS,
    .check = fanout_check,
    .keys_needed = chat_keys,
    .prepare = chat_prepare,
    .thread_start = chat_thread_start,
    .thread_tick = chat_tick,
    .on_ready = chat_ready,
    .on_message = chat_message,
    .on_closed = chat_closed,
    .coordinate = scenario_coordinate_load,
};
