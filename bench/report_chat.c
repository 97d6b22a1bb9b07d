/*
 * The chat and fanout parts of the report: acknowledged messages and
 * their latency, deliveries to the members and theirs, how evenly the
 * members were served, and how slow members ended.
 */
#include <inttypes.h>
#include <stdio.h>

#include "report_parts.h"

static bool is_fanout(const struct summary *sm)
{
    return sm->opt->scenario == &scenario_fanout;
}

static void text_slow(const struct summary *sm)
{
    const struct tally *t = &sm->s->slow_ends;

    printf("%-18s%u stopped reading", "slow members", sm->opt->slow);
    for (size_t i = 0; i < t->n; i++)
        printf("%s%s %" PRIu64, i == 0 ? "; ended: " : ", ", t->entries[i].name,
               t->entries[i].count);
    printf("\n");
}

void report_chat_text(const struct summary *sm)
{
    const struct bench_stats *s = sm->s;
    double acked = report_per_second(s->responses, sm->window_s);

    printf("%-18s%u of %u registered and joined in %.2f s", "users", sm->established,
           sm->opt->connections, (double)sm->run->open_phase_us / 1e6);
    if (sm->open_failed > 0 || sm->dropped > 0)
        printf(" (%u failed, %u dropped later)", sm->open_failed, sm->dropped);
    printf("\n");
    printf("%-18s%" PRIu64 " sent, %" PRIu64 " acknowledged: %.1f messages/s\n", "messages",
           s->requests, s->responses, acked);
    report_text_latency("ack latency", &s->latency);
    if (!is_fanout(sm))
        return;
    printf("%-18s%" PRIu64 " received: %.1f deliveries/s\n", "deliveries", s->deliveries,
           sm->rate);
    report_text_latency("delivery latency", &s->delivery);
    if (s->members > 0)
        printf("%-18s%u reading members got %.1f to %.1f deliveries/s each\n", "per member",
               s->members, report_per_second(s->member_min, sm->window_s),
               report_per_second(s->member_max, sm->window_s));
    if (sm->opt->slow > 0)
        text_slow(sm);
}

static json_t *json_slow(const struct summary *sm)
{
    const struct tally *t = &sm->s->slow_ends;
    json_t *by = json_object();

    for (size_t i = 0; i < t->n; i++)
        json_object_set_new(by, t->entries[i].name, json_integer((json_int_t)t->entries[i].count));
    return json_pack("{s:i, s:o}", "members", (int)sm->opt->slow, "ended", by);
}

void report_chat_json(const struct summary *sm, json_t *o)
{
    const struct bench_stats *s = sm->s;

    json_object_set_new(o, "setup_s", json_real((double)sm->run->open_phase_us / 1e6));
    /* chat: the main rate and latency are the acknowledgements already. */
    if (!is_fanout(sm))
        return;
    json_object_set_new(o, "acked_per_s", json_real(report_per_second(s->responses, sm->window_s)));
    json_object_set_new(o, "ack_latency_us", report_json_latency(&s->latency));
    if (s->members > 0)
        json_object_set_new(
            o, "per_member",
            json_pack("{s:i, s:f, s:f}", "members", (int)s->members, "min_per_s",
                      report_per_second(s->member_min, sm->window_s), "max_per_s",
                      report_per_second(s->member_max, sm->window_s)));
    if (sm->opt->slow > 0)
        json_object_set_new(o, "slow", json_slow(sm));
}
