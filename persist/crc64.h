/*
 * crc64.h — Redis's CRC-64: the Jones polynomial (0xad93d23594c935a9),
 * reflected input and output, initial value 0, no final xor; the check value
 * of "123456789" is 0xe9c6d914c4b8d9ca. RDB files and DUMP payloads end with
 * it (little-endian).
 *
 * Threads: any (the tables are filled once, on first use). Errors: none.
 */
#ifndef KVSD_CRC64_H
#define KVSD_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of p[0..n) continuing from crc (0 to start): eight bytes a step. */
uint64_t crc64(uint64_t crc, const void *p, size_t n);
/* The same, one byte a step: the reference the tests hold crc64 to. */
uint64_t crc64_bytewise(uint64_t crc, const void *p, size_t n);

#endif
