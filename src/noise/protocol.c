#include "noise/protocol.h"

#include <string.h>

#include "noise/cipher.h"
#include "noise/dh.h"
#include "noise/hash.h"
#include "util/error.h"

#define NOISE_NAME_PREFIX "Noise_"
#define NOISE_NAME_PREFIX_LEN (sizeof(NOISE_NAME_PREFIX) - 1)
/* Pattern, DH, cipher, hash. */
#define NOISE_NAME_SECTIONS 4
#define PSK_MODIFIER "psk"
#define PSK_MODIFIER_LEN (sizeof(PSK_MODIFIER) - 1)
/* Enough digits for any pskN this library can place. */
#define PSK_MAX_DIGITS 2

struct span {
    const char *p;
    size_t len;
};

/* Plain ASCII classes: <ctype.h> would depend on the locale. */
static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Section 8: sections hold alphanumerics, "+" and "/" only. */
static bool section_chars_valid(struct span s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!is_upper(c) && !is_lower(c) && !is_digit(c) && c != '+' && c != '/')
            return false;
    }
    return true;
}

static int split_sections(const char *name, size_t len,
                          struct span sections[NOISE_NAME_SECTIONS])
{
    const char *p = name + NOISE_NAME_PREFIX_LEN;
    const char *end = name + len;

    if (len < NOISE_NAME_PREFIX_LEN ||
        memcmp(name, NOISE_NAME_PREFIX, NOISE_NAME_PREFIX_LEN) != 0)
        return error_set(TS_ERR_MALFORMED, "noise: protocol name must start with \"%s\"",
                         NOISE_NAME_PREFIX);
    for (size_t i = 0; i < NOISE_NAME_SECTIONS; i++) {
        const char *sep =
            i + 1 < NOISE_NAME_SECTIONS ? memchr(p, '_', (size_t)(end - p)) : end;
        if (sep == NULL)
            return error_set(TS_ERR_MALFORMED,
                             "noise: protocol name needs pattern, DH, cipher and hash");
        sections[i].p = p;
        sections[i].len = (size_t)(sep - p);
        if (sections[i].len == 0 || !section_chars_valid(sections[i]))
            return error_set(TS_ERR_MALFORMED,
                             "noise: empty or invalid section in protocol name");
        p = sep + 1;
    }
    return TS_OK;
}

/* Section 8.1: modifiers are lowercase alphanumeric, "+"-separated. */
static int check_modifier_syntax(struct span mods)
{
    const char *p = mods.p, *end = mods.p + mods.len;

    while (p < end) {
        const char *sep = memchr(p, '+', (size_t)(end - p));
        const char *stop = sep != NULL ? sep : end;

        if (stop == p || !is_lower(*p))
            return error_set(TS_ERR_MALFORMED, "noise: malformed pattern modifier");
        for (const char *c = p; c < stop; c++) {
            if (!is_lower(*c) && !is_digit(*c))
                return error_set(TS_ERR_MALFORMED, "noise: malformed pattern modifier");
        }
        if (sep != NULL && sep + 1 == end)
            return error_set(TS_ERR_MALFORMED, "noise: empty pattern modifier");
        p = stop + (sep != NULL);
    }
    return TS_OK;
}

/* "pskN": N without leading zeros. Returns N, or -1 for anything else. */
static int psk_index(const char *p, size_t len)
{
    int n = 0;

    if (len <= PSK_MODIFIER_LEN || len > PSK_MODIFIER_LEN + PSK_MAX_DIGITS ||
        memcmp(p, PSK_MODIFIER, PSK_MODIFIER_LEN) != 0)
        return -1;
    p += PSK_MODIFIER_LEN;
    len -= PSK_MODIFIER_LEN;
    if (len > 1 && p[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return -1;
        n = n * 10 + (p[i] - '0');
    }
    return n;
}

static int parse_modifiers(struct span mods, const struct noise_pattern *base,
                           noise_psk_mask *psks)
{
    const char *p = mods.p, *end = mods.p + mods.len;
    struct noise_pattern expanded;
    size_t count = 0;
    int last = -1;

    *psks = 0;
    while (p < end) {
        const char *sep = memchr(p, '+', (size_t)(end - p));
        const char *stop = sep != NULL ? sep : end;
        int n = psk_index(p, (size_t)(stop - p));

        if (n < 0 || n > NOISE_PSK_MAX_INDEX)
            return error_set(TS_ERR_UNSUPPORTED, "noise: unsupported pattern modifier %.*s",
                             (int)(stop - p), p);
        /* Section 8.1: modifiers whose order does not matter are sorted,
         * so each psk position has exactly one spelling. */
        if (n <= last)
            return error_set(TS_ERR_MALFORMED,
                             "noise: psk modifiers must be distinct and ascending");
        if (++count > NOISE_MAX_PSKS)
            return error_set(TS_ERR_UNSUPPORTED, "noise: more than %d psk modifiers",
                             NOISE_MAX_PSKS);
        *psks |= (noise_psk_mask)(1u << n);
        last = n;
        p = stop + (sep != NULL);
    }
    /* Placing the tokens checks every pskN names a message. */
    return noise_pattern_apply_psks(base, *psks, &expanded);
}

static int parse_pattern(struct span s, const struct noise_pattern **pattern,
                         noise_psk_mask *psks)
{
    struct span base = {s.p, 0}, mods;
    int rc;

    /* Base names are uppercase; deferred ones also carry digits ("X1K1"). */
    while (base.len < s.len && (is_upper(s.p[base.len]) || is_digit(s.p[base.len])))
        base.len++;
    if (base.len == 0 || !is_upper(s.p[0]))
        return error_set(TS_ERR_MALFORMED, "noise: pattern name must start uppercase");
    mods.p = s.p + base.len;
    mods.len = s.len - base.len;
    if ((rc = check_modifier_syntax(mods)) != TS_OK)
        return rc;
    if ((*pattern = noise_pattern_find(base.p, base.len)) == NULL)
        return error_set(TS_ERR_UNSUPPORTED, "noise: unsupported handshake pattern %.*s",
                         (int)base.len, base.p);
    return parse_modifiers(mods, *pattern, psks);
}

/* Section 8.2 lets "+" combine algorithms in one section; no supported
 * pattern calls for that, so such a section is simply not found. */
static int unsupported_algorithm(const char *what, struct span s)
{
    return error_set(TS_ERR_UNSUPPORTED, "noise: unsupported %s %.*s", what, (int)s.len,
                     s.p);
}

int noise_protocol_parse_psks(const char *name, noise_protocol *out, noise_psk_mask *psks)
{
    struct span sec[NOISE_NAME_SECTIONS];
    noise_psk_mask mask = 0;
    size_t len;
    int rc;

    if (name == NULL || out == NULL)
        return error_set(TS_ERR_INVALID, "noise: missing protocol name");
    memset(out, 0, sizeof(*out));
    len = strnlen(name, NOISE_SPEC_MAX_NAME_LEN + 1);
    if (len > NOISE_SPEC_MAX_NAME_LEN)
        return error_set(TS_ERR_MALFORMED, "noise: protocol name over %d bytes",
                         NOISE_SPEC_MAX_NAME_LEN);
    if ((rc = split_sections(name, len, sec)) != TS_OK ||
        (rc = parse_pattern(sec[0], &out->pattern, &mask)) != TS_OK)
        goto fail;
    if ((out->dh = noise_dh_find(sec[1].p, sec[1].len)) == NULL) {
        rc = unsupported_algorithm("DH function", sec[1]);
        goto fail;
    }
    if ((out->cipher = noise_cipher_alg_find(sec[2].p, sec[2].len)) == NULL) {
        rc = unsupported_algorithm("cipher", sec[2]);
        goto fail;
    }
    if ((out->hash = noise_hash_find(sec[3].p, sec[3].len)) == NULL) {
        rc = unsupported_algorithm("hash", sec[3]);
        goto fail;
    }
    /* Every supported combination fits; a longer valid name must name
     * something this library does not implement. */
    if (len > NOISE_MAX_NAME_LEN) {
        rc = error_set(TS_ERR_UNSUPPORTED, "noise: protocol name over %d bytes",
                       NOISE_MAX_NAME_LEN);
        goto fail;
    }
    memcpy(out->name, name, len + 1);
    if (psks != NULL)
        *psks = mask;
    return TS_OK;

fail:
    memset(out, 0, sizeof(*out));
    return rc;
}

int noise_protocol_parse(const char *name, noise_protocol *out)
{
    return noise_protocol_parse_psks(name, out, NULL);
}

size_t noise_protocol_dh_len(const noise_protocol *proto)
{
    return proto->dh->len;
}

size_t noise_protocol_hash_len(const noise_protocol *proto)
{
    return proto->hash->hash_len;
}

bool noise_protocol_is_one_way(const noise_protocol *proto)
{
    return noise_pattern_is_one_way(proto->pattern);
}
