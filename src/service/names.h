/*
 * User and room names.
 *
 * A user name is 2 to 32 characters of lowercase ASCII letters, digits,
 * '.', '_' and '-', starting with a letter and ending with a letter or a
 * digit. A room name follows the same rules but may be a single character
 * and may start with a digit. Anything else — upper case, spaces (so no
 * leading or trailing blanks), control characters, NUL, non-ASCII letters
 * that look like ASCII ones — is refused, so two names that look the same
 * are the same name. Names are stored and compared as plain bytes.
 */
#ifndef TS_SERVICE_NAMES_H
#define TS_SERVICE_NAMES_H

#include <stddef.h>

#define NAME_MIN_USER 2
#define NAME_MAX_LEN 32

/* 0, or TS_ERR_INVALID with a detail saying what is wrong. len is the
 * byte length (names from the wire may contain NUL). */
int names_check_user(const char *name, size_t len);
int names_check_room(const char *name, size_t len);

#endif /* TS_SERVICE_NAMES_H */
