/*
 * crc64.c — Redis's CRC-64 (crc64.h), eight bytes per step ("slicing by
 * eight": Intel's slice-by-8, as Redis's crcspeed): eight 256-entry tables,
 * where table k maps a byte to its CRC contribution k bytes further on, so
 * one 64-bit load and eight independent lookups advance the CRC by eight
 * bytes. The reflected form of the Jones polynomial is 0x95ac9329ac4bc9b5.
 * The tables are filled once, on first use (pthread_once orders the fill
 * before every reader). A big-endian host takes the bytewise loop.
 */
#include "persist/crc64.h"

#include <pthread.h>
#include <string.h>

#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_fill(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
}

uint64_t crc64_bytewise(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	(void)pthread_once(&table_once, table_fill);
	for (size_t i = 0; i < n; i++)
		crc = table[0][(crc ^ s[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

uint64_t crc64(uint64_t crc, const void *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned char *s = p;

	(void)pthread_once(&table_once, table_fill);
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, s, 8); /* unaligned-safe; one load */
		crc ^= w;
		crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^
		      table[5][(crc >> 16) & 0xff] ^ table[4][(crc >> 24) & 0xff] ^
		      table[3][(crc >> 32) & 0xff] ^ table[2][(crc >> 40) & 0xff] ^
		      table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
		s += 8;
		n -= 8;
	}
	return crc64_bytewise(crc, s, n);
#else
	return crc64_bytewise(crc, p, n);
#endif
}
