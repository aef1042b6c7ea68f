/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the programs that run inside bigiron guests.
 */
#ifndef BIGIRON_GUEST_H
#define BIGIRON_GUEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A /proc/meminfo value in KiB ("MemFree", "MemTotal"), or -1. */
static inline long meminfo_kib(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * The word expected at word @index for @seed: a mix of both, so that a
 * stale page (old seed) or a page in the wrong place (another index)
 * shows.
 */
static inline uint64_t pattern(uint64_t index, uint64_t seed)
{
	uint64_t x = index ^ seed;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

#endif
