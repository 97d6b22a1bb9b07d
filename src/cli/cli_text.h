/*
 * Text that others wrote (messages, names, server errors, stored rows),
 * made safe for a terminal: C0 and C1 control characters, DEL,
 * bidirectional controls and bytes that are not UTF-8 become '?', so
 * nothing shown can move the cursor, recolour the screen or read
 * differently from what it is. Shared by tcp_client and tcp_server.
 */
#ifndef TS_CLI_CLI_TEXT_H
#define TS_CLI_CLI_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write len bytes at p to out, made safe. */
void cli_put_text(FILE *out, const uint8_t *p, size_t len);

#endif /* TS_CLI_CLI_TEXT_H */
