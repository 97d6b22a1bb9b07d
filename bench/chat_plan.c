#include "chat_plan.h"

#include <stdio.h>

#include <sodium.h>

static const char hex_digits[] = "0123456789abcdef";

int chat_plan_check(struct bench_options *opt)
{
    const char *name = opt->scenario->name;

    if (opt->payload < CHAT_STAMP_LEN) {
        bench_error("--size must be at least %d in the %s scenario: every message starts "
                    "with its sending time",
                    CHAT_STAMP_LEN, name);
        return -1;
    }
    if (opt->senders == 0 || opt->senders > opt->connections) {
        bench_error("--senders must be from 1 to the %u connections", opt->connections);
        return -1;
    }
    if (opt->slow > opt->connections - opt->senders) {
        bench_error("--slow %u and --senders %u are more than the %u members", opt->slow,
                    opt->senders, opt->connections);
        return -1;
    }
    if (opt->rooms == 0 || opt->rooms > opt->connections) {
        bench_error("%s: rooms must be from 1 to the %u connections", name, opt->connections);
        return -1;
    }
    opt->window = opt->pipeline;
    return 0;
}

enum chat_role chat_plan_role(const struct bench_options *opt, unsigned i)
{
    if (i < opt->senders)
        return CHAT_SENDER;
    if (i >= opt->connections - opt->slow)
        return CHAT_SLOW;
    return CHAT_READER;
}

void chat_plan_tag(char tag[BENCH_TAG_LEN + 1])
{
    static const char more[] = "abcdefghijklmnopqrstuvwxyz0123456789";

    /* Names start with a letter (protocol 10.1). */
    tag[0] = (char)('a' + randombytes_uniform(26));
    for (unsigned i = 1; i < BENCH_TAG_LEN; i++)
        tag[i] = more[randombytes_uniform(sizeof(more) - 1)];
    tag[BENCH_TAG_LEN] = '\0';
}

void chat_plan_user(const char *tag, unsigned i, char out[CHAT_NAME_MAX + 1])
{
    snprintf(out, CHAT_NAME_MAX + 1, "%s-%u", tag, i);
}

void chat_plan_room(const struct bench_options *opt, const char *tag, unsigned i,
                    char out[CHAT_NAME_MAX + 1])
{
    if (opt->rooms <= 1)
        snprintf(out, CHAT_NAME_MAX + 1, "%s", tag);
    else
        snprintf(out, CHAT_NAME_MAX + 1, "%s-%u", tag, i % opt->rooms);
}

void chat_stamp_write(uint8_t *p, uint64_t us)
{
    for (int i = CHAT_STAMP_LEN - 1; i >= 0; i--) {
        p[i] = (uint8_t)hex_digits[us & 0xf];
        us >>= 4;
    }
}

int chat_stamp_read(const uint8_t *p, size_t len, uint64_t *us)
{
    uint64_t v = 0;

    if (len < CHAT_STAMP_LEN)
        return -1;
    for (unsigned i = 0; i < CHAT_STAMP_LEN; i++) {
        uint8_t ch = p[i];

        if (ch >= '0' && ch <= '9')
            v = v << 4 | (uint64_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v = v << 4 | (uint64_t)(ch - 'a' + 10);
        else
            return -1;
    }
    *us = v;
    return 0;
}
