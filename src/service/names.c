#include "service/names.h"

#include <stdbool.h>

#include "util/error.h"

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_allowed(char c)
{
    return is_lower(c) || is_digit(c) || c == '.' || c == '_' || c == '-';
}

static int check(const char *kind, const char *name, size_t len, size_t min,
                 bool digit_first)
{
    if (len < min || len > NAME_MAX_LEN)
        return error_set(TS_ERR_INVALID, "%s names are %zu to %d characters long", kind, min,
                         NAME_MAX_LEN);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            return error_set(TS_ERR_INVALID, "%s names are lower case", kind);
        if (!is_allowed(c))
            return error_set(TS_ERR_INVALID,
                             "%s names may contain only a-z, 0-9, '.', '_' and '-' "
                             "(no spaces, control or non-ASCII characters)",
                             kind);
    }
    if (!is_lower(name[0]) && !(digit_first && is_digit(name[0])))
        return error_set(TS_ERR_INVALID, "%s names start with a letter%s", kind,
                         digit_first ? " or a digit" : "");
    if (!is_lower(name[len - 1]) && !is_digit(name[len - 1]))
        return error_set(TS_ERR_INVALID, "%s names end with a letter or a digit", kind);
    return TS_OK;
}

int names_check_user(const char *name, size_t len)
{
    return check("user", name, len, NAME_MIN_USER, false);
}

int names_check_room(const char *name, size_t len)
{
    return check("room", name, len, 1, true);
}
