#include "envelope/utf8.h"

#define UTF8_MAX_CODEPOINT 0x10FFFFu
#define UTF8_SURROGATE_FIRST 0xD800u
#define UTF8_SURROGATE_LAST 0xDFFFu

/* Length and payload bits of a sequence from its lead byte; 0 for bytes
 * that cannot start one (continuations, 0xC0/0xC1 which only start
 * overlong forms, and 0xF5..0xFF which start values above U+10FFFF). */
static unsigned lead_length(uint8_t c, uint32_t *bits, uint32_t *min)
{
    if (c >= 0xC2 && c <= 0xDF) {
        *bits = c & 0x1Fu;
        *min = 0x80u;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        *bits = c & 0x0Fu;
        *min = 0x800u;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        *bits = c & 0x07u;
        *min = 0x10000u;
        return 4;
    }
    return 0;
}

bool utf8_valid(const uint8_t *p, size_t n, bool allow_nul)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp, min;
        unsigned len;

        if (p[i] < 0x80) {
            if (p[i] == 0 && !allow_nul)
                return false;
            i++;
            continue;
        }
        len = lead_length(p[i], &cp, &min);
        if (len == 0 || len > n - i)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0u) != 0x80u)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3Fu);
        }
        if (cp < min || cp > UTF8_MAX_CODEPOINT ||
            (cp >= UTF8_SURROGATE_FIRST && cp <= UTF8_SURROGATE_LAST))
            return false;
        i += len;
    }
    return true;
}
