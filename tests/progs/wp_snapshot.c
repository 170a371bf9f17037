// SPDX-License-Identifier: GPL-2.0
/*
 * Live-snapshot integrity (tools/wpu-snapshot.c) as a test
 * program.  Without arguments: "--test --size 8 --rounds 3 --chaos", i.e.
 * with WP_UNPOPULATED the snapshot of a region of populated, swapped-out,
 * THP and never-touched pages taken while writers run (and while pages are
 * swapped out, collapsed, migrated, forked; holes re-made and the region
 * moved between snapshots) is exact, and with plain write protection the
 * checker does see the corruption of holes.  With arguments it is the tool
 * itself (tests/guest/70-stress.sh runs it that way).
 */
#define WPU_SNAPSHOT_NO_MAIN
#include "../../tools/wpu-snapshot.c"

int main(int argc, char **argv)
{
	char *def[] = { argv[0], "--test", "--size", "8", "--rounds", "3",
			"--chaos", NULL };

	if (argc > 1)
		return wpu_snapshot_main(argc, argv);
	return wpu_snapshot_main((int)(sizeof(def) / sizeof(def[0])) - 1, def);
}
