#include "proc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

#define PROC_LINE_MAX 256

int proc_rss_kib(pid_t pid, uint64_t *out)
{
    char path[64], line[PROC_LINE_MAX];
    FILE *f;
    int err = EPROTO;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "re")) == NULL)
        return errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long long kib;

        /* "VmRSS:     12345 kB" */
        if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%llu", &kib) == 1) {
            *out = kib;
            err = 0;
            break;
        }
    }
    if (ferror(f))
        err = EIO;
    fclose(f);
    return err;
}

uint64_t proc_raise_nofile(uint64_t needed)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        bench_error("cannot read the open-file limit: %s", strerror(errno));
        return 0;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            bench_error("cannot raise the open-file limit from %llu: %s",
                        (unsigned long long)old, strerror(errno));
            rl.rlim_cur = old;
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < needed)
        bench_error("warning: the open-file limit is %llu but this run needs about %" PRIu64
                    "; connections past the limit will fail (raise the hard limit: "
                    "ulimit -Hn, /etc/security/limits.conf)",
                    (unsigned long long)rl.rlim_cur, needed);
    return rl.rlim_cur;
}
