// SPDX-License-Identifier: GPL-2.0
/*
 * Compare the memory of one process in two CRIU dumps, page by page.
 *
 *   criu_imgcmp DIR_A DIR_B PID
 *
 * Reads DIR/pagemap-PID.img (CRIU's image magics, then u32-length-prefixed
 * protobuf messages: a PagemapHead {1: pages_id}, then PagemapEntry
 * {1: vaddr, 2: nr_pages, 4: flags}) and the raw DIR/pages-<pages_id>.img
 * (the pages of the PE_PRESENT entries, in order).  Prints one line per
 * run of differing pages:
 *   only-a|only-b|differ START END zero|data
 * ("zero": every page of the run is all zeros where it is present), and
 * exits 0 when the two dumps hold the same pages with the same contents,
 * 1 when they differ, 2 on errors.  Entries split differently (CRIU cuts
 * them at its pipe buffers) do not count as a difference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096UL
#define PE_PRESENT (1 << 2)

struct page {
	uint64_t vaddr;
	long off;		/* in the pages image */
};

struct dump {
	struct page *p;
	size_t n, cap;
	FILE *pages;
};

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static int varint(const unsigned char *b, size_t len, size_t *i, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*i < len && shift < 64) {
		unsigned char c = b[(*i)++];

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Fields 1, 2 and 4 of one message (varints; other wire types skipped). */
static int message(const unsigned char *b, size_t len, uint64_t f[5])
{
	size_t i = 0;
	uint64_t key, v;

	memset(f, 0, 5 * sizeof(*f));
	while (i < len) {
		if (varint(b, len, &i, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (varint(b, len, &i, &v))
				return -1;
			if ((key >> 3) < 5)
				f[key >> 3] = v;
			break;
		case 1:
			i += 8;
			break;
		case 5:
			i += 4;
			break;
		case 2:
			if (varint(b, len, &i, &v))
				return -1;
			i += v;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static void load(struct dump *d, const char *dir, const char *pid)
{
	char path[4096];
	unsigned char hdr[8], len4[4], buf[256];
	uint64_t f[5], k;
	long off = 0;
	int head = 1;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/pagemap-%s.img", dir, pid);
	fp = fopen(path, "rb");
	if (!fp || fread(hdr, 1, 8, fp) != 8)
		die(path);
	while (fread(len4, 1, 4, fp) == 4) {
		uint32_t len = len4[0] | len4[1] << 8 | len4[2] << 16 |
			       (uint32_t)len4[3] << 24;

		if (len > sizeof(buf) || fread(buf, 1, len, fp) != len ||
		    message(buf, len, f)) {
			fprintf(stderr, "%s: bad entry\n", path);
			exit(2);
		}
		if (head) {
			head = 0;
			snprintf(path, sizeof(path), "%s/pages-%llu.img", dir,
				 (unsigned long long)f[1]);
			d->pages = fopen(path, "rb");
			if (!d->pages)
				die(path);
			continue;
		}
		if (!(f[4] & PE_PRESENT))
			continue;
		for (k = 0; k < f[2]; k++) {
			if (d->n == d->cap) {
				d->cap = d->cap ? 2 * d->cap : 4096;
				d->p = realloc(d->p, d->cap * sizeof(*d->p));
				if (!d->p)
					die("realloc");
			}
			d->p[d->n].vaddr = f[1] + k * PG;
			d->p[d->n++].off = off;
			off += PG;
		}
	}
	fclose(fp);
}

static void page(struct dump *d, size_t i, unsigned char *b)
{
	if (fseek(d->pages, d->p[i].off, SEEK_SET) ||
	    fread(b, 1, PG, d->pages) != PG)
		die("pages image");
}

static int is_zero(const unsigned char *b)
{
	unsigned long i;

	for (i = 0; i < PG; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Runs of the same kind of difference, printed when the kind changes. */
static const char *run_kind;
static uint64_t run_start, run_end;
static int run_zero, ndiff;

static void note(const char *kind, uint64_t vaddr, int zero)
{
	if (run_kind && (kind != run_kind || vaddr != run_end)) {
		printf("%s %llx %llx %s\n", run_kind,
		       (unsigned long long)run_start,
		       (unsigned long long)run_end, run_zero ? "zero" : "data");
		run_kind = NULL;
	}
	if (!kind)
		return;
	if (!run_kind) {
		run_kind = kind;
		run_start = vaddr;
		run_zero = 1;
	}
	run_end = vaddr + PG;
	run_zero &= zero;
	ndiff++;
}

int main(int argc, char **argv)
{
	static unsigned char ba[PG], bb[PG];
	struct dump a = { 0 }, b = { 0 };
	size_t i = 0, j = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DIR_A DIR_B PID\n", argv[0]);
		return 2;
	}
	load(&a, argv[1], argv[3]);
	load(&b, argv[2], argv[3]);
	while (i < a.n || j < b.n) {
		if (j == b.n || (i < a.n && a.p[i].vaddr < b.p[j].vaddr)) {
			page(&a, i, ba);
			note("only-a", a.p[i++].vaddr, is_zero(ba));
		} else if (i == a.n || b.p[j].vaddr < a.p[i].vaddr) {
			page(&b, j, bb);
			note("only-b", b.p[j++].vaddr, is_zero(bb));
		} else {
			page(&a, i, ba);
			page(&b, j, bb);
			if (memcmp(ba, bb, PG))
				note("differ", a.p[i].vaddr, 0);
			else
				note(NULL, 0, 0);
			i++;
			j++;
		}
	}
	note(NULL, 0, 0);
	printf("%zu and %zu pages, %d differ\n", a.n, b.n, ndiff);
	return ndiff ? 1 : 0;
}
