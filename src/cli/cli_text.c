/*
 * Text from others on a terminal (cli_text.h).
 */
#include "cli/cli_text.h"

#include <stdbool.h>

/* Length of the UTF-8 sequence at p (at most len bytes) and its code
 * point, or 0 when it is not valid UTF-8 (overlong forms and surrogates
 * included). */
static size_t utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};

    if (n == 0 || n > len || p[0] > 0xf4)
        return 0;
    *cp = p[0] & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* C1 controls, and the bidirectional controls that can make text read
 * differently from what it is. */
static bool unsafe(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void cli_put_text(FILE *out, const uint8_t *p, size_t len)
{
    uint32_t cp;
    size_t n;

    for (size_t i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            fputc(p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i], out);
        } else if ((n = utf8_next(p + i, len - i, &cp)) == 0 || unsafe(cp)) {
            n = n == 0 ? 1 : n;
            fputc('?', out);
        } else {
            fwrite(p + i, 1, n, out);
        }
    }
}
