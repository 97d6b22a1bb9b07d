#include "util/timefmt.h"

#include <stdio.h>
#include <time.h>

void timefmt_iso8601(uint64_t unix_ms, char out[TIMEFMT_ISO_LEN])
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(out, TIMEFMT_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, TIMEFMT_ISO_LEN - n, ".%03uZ", (unsigned)(unix_ms % 1000));
}
