# shellcheck shell=dash
# Boot sanity: the guest runs the expected kernel and has what the module and
# the tests rely on.  Independent of the module.
T_PROG=guest
# shellcheck source=lib.sh
. /tests/guest/lib.sh

rel=$(uname -r)
if [ -n "$WPU_ABI" ] && [ "$rel" != "$WPU_ABI" ]; then
	fail boot "uname -r is $rel, expected $WPU_ABI ($WPU_KERNEL)"
else
	echo "guest: $WPU_KERNEL: uname -r $rel, mode $WPU_MODE"
	pass boot
fi

# What the kernel offers by itself, for the tests that expect the module to
# leave it alone (uffd_util.h u_kernel_fact()): only while no module is in.
if [ ! -d /sys/kernel/uffd_wpu ]; then
	/tests/bin/wp_api --facts >/tmp/wpu-kernel-facts 2>/dev/null ||
		rm -f /tmp/wpu-kernel-facts
fi

check proc-sys-vm "/proc/sys/vm missing" test -d /proc/sys/vm
check userfaultfd "handle_userfault not in /proc/kallsyms (no CONFIG_USERFAULTFD?)" \
	grep -q ' handle_userfault$' /proc/kallsyms
check unprivileged-userfaultfd "/proc/sys/vm/unprivileged_userfaultfd missing" \
	test -f /proc/sys/vm/unprivileged_userfaultfd
check tracefs "tracefs not mounted at /sys/kernel/tracing" \
	test -f /sys/kernel/tracing/available_tracers
check debugfs "debugfs not mounted at /sys/kernel/debug" \
	grep -q ' /sys/kernel/debug debugfs ' /proc/mounts
check swap "no swap on /dev/ram0 (brd.ko)" grep -q '^/dev/ram0 ' /proc/swaps

t_exit
