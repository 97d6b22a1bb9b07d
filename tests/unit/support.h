/*
 * Helpers shared by the unit tests (cmocka needs these includes in order).
 */
#ifndef TS_TEST_SUPPORT_H
#define TS_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Decode hex text into out (capacity cap); returns the byte count and fails
 * the test on bad input. */
size_t test_hex(const char *hex, uint8_t *out, size_t cap);

/* Create a fresh private directory under $TMPDIR; the returned path is
 * heap-allocated. test_rmtree() removes it and frees the string. */
char *test_tmpdir(void);
void test_rmtree(char *dir);

/* Longest path the tests build. */
#define TEST_PATH_MAX 576

/* "dir/name" in one of eight rotating static buffers (so a call's result
 * lives through a few more calls, enough for one function call's
 * arguments); fails the test when the path would not fit. */
const char *test_path_in(const char *dir, const char *name);

#endif /* TS_TEST_SUPPORT_H */
