/*
 * What the operating system tells about processes: a process's resident
 * memory (for the server's cost per connection) and the open-file limit
 * (for -c).
 */
#ifndef TS_BENCH_PROC_H
#define TS_BENCH_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* VmRSS of process pid in KiB, from /proc/PID/status. 0, or an errno
 * value (ENOENT: no such process, EACCES, EPROTO: no VmRSS line). */
int proc_rss_kib(pid_t pid, uint64_t *out);

/*
 * Raise the soft open-file limit to the hard limit and print a one-line
 * warning when that is still below needed (the connections plus what
 * the program itself uses). Returns the resulting soft limit.
 */
uint64_t proc_raise_nofile(uint64_t needed);

#endif /* TS_BENCH_PROC_H */
