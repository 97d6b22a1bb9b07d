#include "support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

size_t test_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;

    assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
    return len;
}

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    path = malloc(strlen(base) + 32);
    assert_non_null(path);
    sprintf(path, "%s/tcpseal-test-XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

void test_rmtree(char *dir)
{
    if (dir != NULL)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

const char *test_path_in(const char *dir, const char *name)
{
    static char paths[8][TEST_PATH_MAX];
    static int next;
    char *p = paths[next++ % 8];

    if (snprintf(p, TEST_PATH_MAX, "%s/%s", dir, name) >= TEST_PATH_MAX)
        fail_msg("path too long: %s/%s", dir, name);
    return p;
}
