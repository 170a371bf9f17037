# shellcheck shell=dash
# In-guest script of `make demo` (busybox sh): the gap on the stock kernel,
# the module loading, the gap closed.
D=/tests/demo

# snapshot WHAT [--plain]: a QEMU-style live snapshot of 32 MiB (populated,
# swapped-out, THP and never-touched pages) while 3 threads write; every
# saved page compared with the memory of the snapshot instant
# (tools/wpu-snapshot.c).
snapshot() {
	[ -x $D/wpu-snapshot ] || return 1
	echo "  live snapshot of 32 MiB while 3 threads write, $1:"
	shift
	$D/wpu-snapshot --size 32 --rounds 2 --seed 1 "$@" 2>/dev/null | sed -n \
		-e 's/^  \(pages checked [0-9]*, wrong pages [0-9]*\).*/      \1/p' \
		-e 's/^wpu-snapshot: [^:]*: \(not offered.*\)/      \1/p'
}

echo "=== 1. Debian's stock kernel, no module"
$D/wpu-demo
snapshot "plain UFFDIO_WRITEPROTECT" --plain &&
	echo "      ^ holes written after the snapshot instant were saved with the new data"

echo "=== 2. insmod uffd_wpu.ko"
if ! insmod /uffd_wpu.ko; then
	dmesg | grep 'uffd_wpu:' | tail -n 1
	exit 1
fi
dmesg | grep 'uffd_wpu: .*hooks attached' | sed 's/^\[[^]]*\] /  /'
echo "  ftrace hooks (/sys/kernel/tracing/enabled_functions):"
grep 'uffd_wpu' /sys/kernel/tracing/enabled_functions | awk '{ print "    " $1 }'
echo "  /sys/kernel/uffd_wpu: backend $(cat /sys/kernel/uffd_wpu/backend)," \
	"enabled $(cat /sys/kernel/uffd_wpu/enabled)," \
	"transparent $(cat /sys/kernel/uffd_wpu/transparent)"

echo "=== 3. the same program, module loaded"
$D/wpu-demo

echo "  module counters:"
sed 's/^/    /' /sys/kernel/uffd_wpu/stats

echo "=== 4. the live snapshot again, module loaded"
snapshot "with UFFD_FEATURE_WP_UNPOPULATED"
