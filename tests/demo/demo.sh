# In-guest script of `make demo` (busybox sh): the gap on the stock kernel,
# the module loading, the gap closed.
D=/tests/demo

echo "=== 1. Debian's stock kernel, no module"
$D/wpu-demo

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
