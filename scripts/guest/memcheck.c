// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-memcheck: runs inside a guest. Writes an address-dependent
 * pattern over a given share of the guest's free memory, verifies it, then
 * writes and verifies a second pattern, so stale or misplaced pages show.
 *
 *   bigiron-memcheck [PERCENT]      (default 92)
 *
 * Prints one result line and exits 0 only when every word read back equals
 * what was written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest.h"

#define CHUNK (4UL << 20)

static void fill(uint64_t *p, size_t words, uint64_t base, uint64_t seed)
{
	for (size_t i = 0; i < words; i++)
		p[i] = pattern(base + i, seed);
}

static size_t verify(const uint64_t *p, size_t words, uint64_t base,
		     uint64_t seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < words; i++) {
		uint64_t want = pattern(base + i, seed);

		if (p[i] != want) {
			if (bad < 5)
				fprintf(stderr,
					"memcheck: word %zu: got %016llx want %016llx\n",
					(size_t)(base + i), (unsigned long long)p[i],
					(unsigned long long)want);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	long percent = argc > 1 ? strtol(argv[1], NULL, 10) : 92;
	long free_kib = meminfo_kib("MemFree");
	long total_kib = meminfo_kib("MemTotal");
	size_t target, nchunks, words = CHUNK / sizeof(uint64_t);
	uint64_t **chunks;
	size_t bad = 0;

	if (percent < 1 || percent > 99 || free_kib <= 0 || total_kib <= 0) {
		fprintf(stderr, "memcheck: bad percent or no /proc/meminfo\n");
		return 2;
	}
	target = (size_t)free_kib * 1024 / 100 * (size_t)percent;
	nchunks = (target + CHUNK - 1) / CHUNK;
	chunks = calloc(nchunks, sizeof(*chunks));
	if (!chunks)
		return 2;

	for (size_t c = 0; c < nchunks; c++) {
		chunks[c] = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (chunks[c] == MAP_FAILED) {
			fprintf(stderr, "memcheck: mmap: %s\n", strerror(errno));
			return 2;
		}
	}

	for (uint64_t seed = 1; seed <= 2; seed++) {
		for (size_t c = 0; c < nchunks; c++)
			fill(chunks[c], words, c * words, seed * 0x9e3779b97f4a7c15ULL);
		for (size_t c = 0; c < nchunks; c++)
			bad += verify(chunks[c], words, c * words,
				      seed * 0x9e3779b97f4a7c15ULL);
	}

	printf("memcheck: %s: %zu MiB written and verified twice, %ld%% of %ld MiB free, MemTotal %ld MiB, %zu bad words\n",
	       bad ? "FAIL" : "ok", nchunks * CHUNK >> 20, percent,
	       free_kib >> 10, total_kib >> 10, bad);
	return bad ? 1 : 0;
}
