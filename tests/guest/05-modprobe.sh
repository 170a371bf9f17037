# shellcheck shell=dash
# The module as DKMS installs it: /lib/modules/<release>/updates/dkms/
# uffd_wpu.ko, found through modules.dep and loaded with its parameters by
# modprobe.  Active only when tests/run --module-from put that file in the
# initramfs (tests/packaging.sh); silent otherwise.  Leaves the module
# unloaded.
T_PROG=modprobe
# shellcheck source=lib.sh
. /tests/guest/lib.sh

REL=$(uname -r)
KO=/lib/modules/$REL/updates/dkms/uffd_wpu.ko
SYS=/sys/kernel/uffd_wpu

[ -f "$KO" ] || exit 0

loaded() { grep -q '^uffd_wpu ' /proc/modules; }

check modules-dep "updates/dkms/uffd_wpu.ko not in modules.dep" \
	grep -q '^updates/dkms/uffd_wpu.ko:' "/lib/modules/$REL/modules.dep"

if [ "$WPU_MODE" = refuse ]; then
	if modprobe uffd_wpu enabled=1 2>/dev/null; then
		fail refuse "modprobe succeeded on a kernel with the native feature"
		rmmod uffd_wpu
	else
		check refuse "module listed after a refused modprobe" sh -c '! grep -q "^uffd_wpu " /proc/modules'
	fi
	t_exit
fi

# The backend follows from facts of the kernel, not from its name
# (expected_backend, lib.sh).
if ! kernel_facts; then
	fail facts "/tests/bin/wp_api --facts failed"
	t_exit
fi
backend=$(expected_backend)

if ! out=$(modprobe uffd_wpu enabled=1 transparent=0 2>&1); then
	fail load "modprobe uffd_wpu enabled=1 transparent=0: $out"
	t_exit
fi
pass load
# The module that got loaded is the file modprobe was meant to find.
want=$(modinfo -F srcversion "$KO" 2>/dev/null)
check is-dkms-module "srcversion $(cat /sys/module/uffd_wpu/srcversion 2>/dev/null), $KO has $want" \
	test -n "$want" -a "$(cat /sys/module/uffd_wpu/srcversion 2>/dev/null)" = "$want"
check param-transparent "transparent=$(cat $SYS/transparent 2>/dev/null), expected 0" \
	test "$(cat $SYS/transparent 2>/dev/null)" = 0
check param-enabled "enabled=$(cat $SYS/enabled 2>/dev/null), expected 1" \
	test "$(cat $SYS/enabled 2>/dev/null)" = 1
check backend "backend=$(cat $SYS/backend 2>/dev/null), expected $backend" \
	test "$(cat $SYS/backend 2>/dev/null)" = "$backend"
check device "/dev/uffd-wpu missing" test -c /dev/uffd-wpu
if rmmod uffd_wpu; then
	check unload "module still listed after rmmod" sh -c '! grep -q "^uffd_wpu " /proc/modules'
else
	fail unload "rmmod uffd_wpu failed"
fi
t_exit
