#!/bin/bash
# The figures of docs/benchmarks.md "QEMU background snapshot": build the
# overlay (tests/apps/qemu/build.sh), boot the kernels with
# WPU_ONLY=80-qemu-snapshot WPU_QEMU_BENCH=1, and tabulate the "@@ QBENCH"
# lines: per kernel, state (stock | module | native), inner RAM and THP mode,
# Debian's QEMU (plain) against patches/qemu (wpu), and wpu/plain ratios.
#
#   tests/apps/qemu/bench.sh [--kernel NAME]...    (default: all kernels)
#   tests/apps/qemu/bench.sh --report FILE...      (tables of earlier logs)
#
# Timing is the wall clock inside the TCG guest (tests/run's QEMU, not the
# icount one of tests/bench/run: the inner QEMU's threads and the sink
# process must run concurrently), so compare ratios, not milliseconds.
# Work dir: ${UFFD_WPU_OUT:-tests/out}/qemu-bench.  No timing is asserted;
# a wrong page or a wrong path still fails the run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=$(cd "$HERE/../.." && pwd)

report() {
	echo "| kernel | state | MiB | THP | setup ms: plain / wpu (wpu/plain) | first byte ms: plain / wpu (wpu/plain) | VmRSS KiB: plain / wpu | VmPTE KiB: plain / wpu |"
	echo "|---|---|---|---|---|---|---|---|"
	tr -d '\r' | grep -oE '@@ QBENCH .*' | awk '
	{ k = $3 " " $4 " " $6 " " $7; v = $5
	  keys[k] = 1; setup[k, v] = $8; first[k, v] = $9; rss[k, v] = $10; pte[k, v] = $11 }
	function r(a, b) { return (a > 0 && b > 0) ? sprintf(b / a < 0.1 ? "%.3f" : "%.2f", b / a) : "-" }
	END {
		for (k in keys) {
			split(k, f, " ")
			printf "| %s | %s | %s | %s | %s / %s (%s) | %s / %s (%s) | %s / %s | %s / %s |\n",
				f[1], f[2], f[3], f[4],
				setup[k, "plain"], setup[k, "wpu"], r(setup[k, "plain"], setup[k, "wpu"]),
				first[k, "plain"], first[k, "wpu"], r(first[k, "plain"], first[k, "wpu"]),
				rss[k, "plain"], rss[k, "wpu"], pte[k, "plain"], pte[k, "wpu"]
		}
	}' | sort -t '|' -k2,2 -k3,3r -k4,4n -k5,5r
}

if [ "${1:-}" = --report ]; then
	shift
	cat "$@" | report
	exit 0
fi
overlay=$("$HERE/build.sh" | tail -n 1) || exit 1
OUT=${UFFD_WPU_OUT:-$TESTS/out}/qemu-bench
mkdir -p "$OUT"
UFFD_WPU_OUT=$OUT UFFD_WPU_UPSTREAM=0 UFFD_WPU_PROG_TIMEOUT=${UFFD_WPU_PROG_TIMEOUT:-7200} \
UFFD_WPU_BOOT_TIMEOUT=${UFFD_WPU_BOOT_TIMEOUT:-9000} \
UFFD_WPU_CMDLINE="WPU_ONLY=80-qemu-snapshot WPU_QEMU_BENCH=1${UFFD_WPU_CMDLINE:+ $UFFD_WPU_CMDLINE}" \
	"$TESTS/run" --overlay "$overlay" "$@"
rc=$?
cat "$OUT"/*/console.log 2>/dev/null | report | tee "$OUT/report.md"
exit $rc
