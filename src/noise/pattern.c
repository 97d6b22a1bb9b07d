#include "noise/pattern.h"

#include <string.h>

#include "util/error.h"

/* Short names so the table below reads like the specification. */
#define E NOISE_TOKEN_E
#define S NOISE_TOKEN_S
#define EE NOISE_TOKEN_EE
#define ES NOISE_TOKEN_ES
#define SE NOISE_TOKEN_SE
#define SS NOISE_TOKEN_SS

/* Pre-messages: whether "-> s" and "<- s" precede the "...". */
#define PRE_NONE false, false
#define PRE_I true, false  /* -> s */
#define PRE_R false, true  /* <- s */
#define PRE_IR true, true  /* -> s, <- s */

#define PATTERN(name, pre, ...) {name, pre, {__VA_ARGS__}}

static const struct noise_pattern patterns[] = {
    /* Section 7.4: one-way patterns. */
    PATTERN("N", PRE_R, {E, ES}),
    PATTERN("K", PRE_IR, {E, ES, SS}),
    PATTERN("X", PRE_R, {E, ES, S, SS}),

    /* Section 7.5: fundamental interactive patterns. */
    PATTERN("NN", PRE_NONE, {E}, {E, EE}),
    PATTERN("NK", PRE_R, {E, ES}, {E, EE}),
    PATTERN("NX", PRE_NONE, {E}, {E, EE, S, ES}),
    PATTERN("XN", PRE_NONE, {E}, {E, EE}, {S, SE}),
    PATTERN("XK", PRE_R, {E, ES}, {E, EE}, {S, SE}),
    PATTERN("XX", PRE_NONE, {E}, {E, EE, S, ES}, {S, SE}),
    PATTERN("KN", PRE_I, {E}, {E, EE, SE}),
    PATTERN("KK", PRE_IR, {E, ES, SS}, {E, EE, SE}),
    PATTERN("KX", PRE_I, {E}, {E, EE, SE, S, ES}),
    PATTERN("IN", PRE_NONE, {E, S}, {E, EE, SE}),
    PATTERN("IK", PRE_R, {E, ES, S, SS}, {E, EE, SE}),
    PATTERN("IX", PRE_NONE, {E, S}, {E, EE, SE, S, ES}),

    /* Section 7.6: deferred patterns ("1" defers that side's
     * authentication DH to a later message). */
    PATTERN("NK1", PRE_R, {E}, {E, EE, ES}),
    PATTERN("NX1", PRE_NONE, {E}, {E, EE, S}, {ES}),
    PATTERN("X1N", PRE_NONE, {E}, {E, EE}, {S}, {SE}),
    PATTERN("X1K", PRE_R, {E, ES}, {E, EE}, {S}, {SE}),
    PATTERN("XK1", PRE_R, {E}, {E, EE, ES}, {S, SE}),
    PATTERN("X1K1", PRE_R, {E}, {E, EE, ES}, {S}, {SE}),
    PATTERN("X1X", PRE_NONE, {E}, {E, EE, S, ES}, {S}, {SE}),
    PATTERN("XX1", PRE_NONE, {E}, {E, EE, S}, {ES, S, SE}),
    PATTERN("X1X1", PRE_NONE, {E}, {E, EE, S}, {ES, S}, {SE}),
    PATTERN("K1N", PRE_I, {E}, {E, EE}, {SE}),
    PATTERN("K1K", PRE_IR, {E, ES}, {E, EE}, {SE}),
    PATTERN("KK1", PRE_IR, {E}, {E, EE, SE, ES}),
    PATTERN("K1K1", PRE_IR, {E}, {E, EE, ES}, {SE}),
    PATTERN("K1X", PRE_I, {E}, {E, EE, S, ES}, {SE}),
    PATTERN("KX1", PRE_I, {E}, {E, EE, SE, S}, {ES}),
    PATTERN("K1X1", PRE_I, {E}, {E, EE, S}, {SE, ES}),
    PATTERN("I1N", PRE_NONE, {E, S}, {E, EE}, {SE}),
    PATTERN("I1K", PRE_R, {E, ES, S}, {E, EE}, {SE}),
    PATTERN("IK1", PRE_R, {E, S}, {E, EE, SE, ES}),
    PATTERN("I1K1", PRE_R, {E, S}, {E, EE, ES}, {SE}),
    PATTERN("I1X", PRE_NONE, {E, S}, {E, EE, S, ES}, {SE}),
    PATTERN("IX1", PRE_NONE, {E, S}, {E, EE, SE, S}, {ES}),
    PATTERN("I1X1", PRE_NONE, {E, S}, {E, EE, S}, {SE, ES}),
};

#undef PATTERN
#undef PRE_NONE
#undef PRE_I
#undef PRE_R
#undef PRE_IR
#undef E
#undef S
#undef EE
#undef ES
#undef SE
#undef SS

const struct noise_pattern *noise_pattern_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (strlen(patterns[i].name) == len && memcmp(patterns[i].name, name, len) == 0)
            return &patterns[i];
    }
    return NULL;
}

size_t noise_pattern_tokens(const struct noise_pattern *p, size_t msg)
{
    size_t n = 0;

    if (msg >= NOISE_MAX_PATTERN_MESSAGES)
        return 0;
    while (n < NOISE_MAX_PATTERN_TOKENS && p->tokens[msg][n] != NOISE_TOKEN_END)
        n++;
    return n;
}

size_t noise_pattern_messages(const struct noise_pattern *p)
{
    size_t n = 0;

    while (n < NOISE_MAX_PATTERN_MESSAGES && noise_pattern_tokens(p, n) > 0)
        n++;
    return n;
}

bool noise_pattern_is_one_way(const struct noise_pattern *p)
{
    return noise_pattern_messages(p) == 1;
}

int noise_pattern_apply_psks(const struct noise_pattern *base, noise_psk_mask psks,
                             struct noise_pattern *out)
{
    size_t messages = noise_pattern_messages(base);

    *out = *base;
    for (size_t i = 0; i <= NOISE_PSK_MAX_INDEX; i++) {
        size_t msg = i == 0 ? 0 : i - 1;
        size_t n;
        uint8_t *row;

        if (!(psks & (1u << i)))
            continue;
        if (msg >= messages)
            return error_set(TS_ERR_UNSUPPORTED,
                             "noise: psk%zu but %s has %zu messages", i, base->name,
                             messages);
        row = out->tokens[msg];
        if ((n = noise_pattern_tokens(out, msg)) >= NOISE_MAX_PATTERN_TOKENS)
            return error_set(TS_ERR_UNSUPPORTED, "noise: too many tokens in a message");
        if (i == 0) {
            memmove(row + 1, row, n);
            row[0] = NOISE_TOKEN_PSK;
        } else {
            row[n] = NOISE_TOKEN_PSK;
        }
    }
    return TS_OK;
}

size_t noise_pattern_psk_count(const struct noise_pattern *p)
{
    size_t count = 0;

    for (size_t m = 0; m < NOISE_MAX_PATTERN_MESSAGES; m++) {
        for (size_t t = 0; t < noise_pattern_tokens(p, m); t++)
            count += p->tokens[m][t] == NOISE_TOKEN_PSK;
    }
    return count;
}
