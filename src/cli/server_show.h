/*
 * Human-readable views of the server's status and connection documents
 * (docs/control.md). Missing or mistyped fields show as "?" rather than
 * failing: a newer server may change what it reports.
 */
#ifndef TS_CLI_SERVER_SHOW_H
#define TS_CLI_SERVER_SHOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* A block of "label  value" lines for the STATUS object. */
void show_status(FILE *out, json_t *status);

/* An aligned table of the CONNECTION objects in list, or a line saying
 * no client is connected. 0, or -1 when out of memory (printed). */
int show_connections(FILE *out, json_t *list);

/* Seconds as "1d 2h 3m 4s", leaving out leading zero units ("3m 4s"). */
void show_duration(uint64_t seconds, char *out, size_t cap);

/* Bytes as "512 B", "93.8 KiB", "7.0 MiB", ... */
void show_size(uint64_t bytes, char *out, size_t cap);

#endif /* TS_CLI_SERVER_SHOW_H */
