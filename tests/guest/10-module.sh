# shellcheck shell=dash
# The hook framework and control surface of uffd_wpu.ko: precise refusals,
# all-or-nothing attach, visible hooks, toggles, parameters, unload.
# Leaves the module unloaded; /init loads it for the test programs.
T_PROG=module
# shellcheck source=lib.sh
. /tests/guest/lib.sh

KO=/uffd_wpu.ko
REL=$(uname -r)
SYS=/sys/kernel/uffd_wpu

# expect_refusal NAME "EXPECTED LINE" insmod-args...
expect_refusal() {
	_name=$1 _line=$2
	shift 2
	_m=$(mark)
	if insmod "$KO" "$@" 2>/dev/null; then
		fail "$_name" "insmod $* succeeded"
		rmmod uffd_wpu
		return
	fi
	_got=$(since "$_m")
	if loaded; then
		fail "$_name" "module listed in /proc/modules after a refused load"
	elif [ "$(hooked)" != 0 ]; then
		fail "$_name" "hooks left in $EF after a refused load"
	elif [ "$_got" != "$_line" ]; then
		fail "$_name" "dmesg said [$_got], expected [$_line]"
	else
		pass "$_name"
	fi
}

if [ ! -f "$KO" ]; then
	skip all "no $KO in the initramfs"
	t_exit
fi

if [ "$WPU_MODE" = refuse ]; then
	expect_refusal refuse-native \
		"uffd_wpu: kernel $REL has native UFFD_FEATURE_WP_UNPOPULATED; refusing to load"
	t_exit
fi

# The backend and hooks this kernel calls for, from what it offers (not
# from its name: "5.14" or "6.1" is several kernels).  The marker backend
# needs uffd-wp pte markers, which come with WP_HUGETLBFS_SHMEM, and 6.1's
# stock fork and zap (backend_facts, lib.sh); the other parts fill in what
# the kernel lacks: reset.c (close always, mremap where it does not clear
# uffd-wp), pagemap bit 57, umode.c (no UFFD_USER_MODE_ONLY).
if ! kernel_facts; then
	fail facts "/tests/bin/wp_api --facts failed"
	t_exit
fi
backend=$(expected_backend)
hooks="change_protection userfaultfd_ioctl dup_userfaultfd_complete handle_userfault pagemap_open userfaultfd_release"
[ "$backend" = marker ] && hooks="$hooks do_swap_page zap_page_range_single"
[ "$KF_resets_mremap" = 1 ] || hooks="$hooks mremap_userfaultfd_prep"
[ "$KF_pagemap_bit57" = 1 ] || hooks="$hooks pagemap_pmd_range"
[ "$KF_user_mode_only" = 1 ] || hooks="$hooks __x64_sys_userfaultfd"
echo "    kernel facts: markers $KF_wp_hugetlbfs_shmem, /dev/userfaultfd $KF_dev_userfaultfd, unregister resets $KF_resets_wp, mremap resets $KF_resets_mremap, pagemap bit 57 $KF_pagemap_bit57, UFFD_USER_MODE_ONLY $KF_user_mode_only: $backend backend, hooks: $hooks"
nhooks=$(echo "$hooks" | wc -w)

# --- refusals: nothing attached, one precise line ---------------------
expect_refusal refuse-missing-symbol \
	"uffd_wpu: wpu_no_such_symbol not found on $REL; refusing to load" \
	require_symbol=wpu_no_such_symbol
# noinstr: in kallsyms, but has no ftrace record
expect_refusal refuse-untraceable \
	"uffd_wpu: do_syscall_64 is not traceable on $REL; refusing to load" \
	require_traceable=do_syscall_64
expect_refusal refuse-bad-backend \
	"uffd_wpu: backend=bogus is not available on $REL; refusing to load" \
	backend=bogus
expect_refusal refuse-bad-huge-holes \
	"uffd_wpu: huge_holes=bogus is not available on $REL; refusing to load" \
	huge_holes=bogus
if [ "$backend" = zeropage ]; then
	expect_refusal refuse-marker-backend \
		"uffd_wpu: backend=marker is not available on $REL; refusing to load" \
		backend=marker
fi
if echo 0 >/proc/sys/kernel/ftrace_enabled; then
	expect_refusal refuse-ftrace-disabled \
		"uffd_wpu: cannot attach to dup_userfaultfd_complete on $REL: kernel.ftrace_enabled is 0 or another module redirects it; refusing to load"
	echo 1 >/proc/sys/kernel/ftrace_enabled
else
	fail refuse-ftrace-disabled "cannot set kernel.ftrace_enabled=0 without the module"
fi

# --- load: every hook visible, attached by this module -----------------
m=$(mark)
if ! insmod "$KO"; then
	fail load "insmod failed: $(since "$m")"
	t_exit
fi
pass load
check load-message "no 'hooks attached' line in dmesg" \
	sh -c "dmesg | tail -n +$((m + 1)) | grep -q 'uffd_wpu: $backend backend on $REL: $nhooks hooks attached, WP_UNPOPULATED enabled'"
missing=
for h in $hooks; do
	grep -q "^$h .*wpu_ftrace_thunk.*\[uffd_wpu\]" "$EF" || missing="$missing $h"
done
if [ -n "$missing" ]; then
	fail hooks-visible "not in $EF:$missing"
else
	pass hooks-visible
fi
check hooks-count "sysfs hooks=$(cat $SYS/hooks), expected $nhooks" \
	test "$(cat $SYS/hooks)" = "$nhooks" -a "$(hooked)" = "$nhooks"
check backend "sysfs backend=$(cat $SYS/backend), expected $backend" \
	test "$(cat $SYS/backend)" = "$backend"
check version "sysfs version unreadable" grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' $SYS/version
check stats "stats has no tracked_mms line" grep -q '^tracked_mms ' $SYS/stats
check device "/dev/uffd-wpu is not a world-usable char device" \
	sh -c 'test -c /dev/uffd-wpu && ls -l /dev/uffd-wpu | grep -q "^crw-rw-rw-"'
check sysfs-modes "enabled/transparent not 0644, or stats writable" \
	sh -c "ls -l $SYS/enabled $SYS/transparent | grep -c '^-rw-r--r--' | grep -qx 2 && ls -l $SYS/stats | grep -q '^-r--r--r--'"

# PERMANENT ops: tracing cannot be switched off under the module.
if echo 0 >/proc/sys/kernel/ftrace_enabled 2>/dev/null; then
	fail ftrace-enabled-locked "kernel.ftrace_enabled=0 was accepted while loaded"
	echo 1 >/proc/sys/kernel/ftrace_enabled
else
	check ftrace-enabled-locked "ftrace_enabled changed" \
		test "$(cat /proc/sys/kernel/ftrace_enabled)" = 1
fi

# --- toggles -----------------------------------------------------------
# enabled and transparent default to 1; huge_holes=auto is off (opt-in),
# and cannot be switched on where huge holes are not available
huge=$(expected_huge_holes)
for knob in enabled transparent huge_holes; do
	d=1 o=0
	[ $knob = huge_holes ] && d=0 o=1
	ok=1
	[ "$(cat $SYS/$knob)" = $d ] || ok=0
	if [ $knob = huge_holes ] && [ "$huge" = 0 ]; then
		echo $o >$SYS/$knob 2>/dev/null && ok=0
	else
		echo $o >$SYS/$knob && [ "$(cat $SYS/$knob)" = $o ] || ok=0
	fi
	echo $d >$SYS/$knob && [ "$(cat $SYS/$knob)" = $d ] || ok=0
	echo maybe >$SYS/$knob 2>/dev/null && ok=0
	[ "$(cat $SYS/$knob)" = $d ] || ok=0
	check "toggle-$knob" "round trip $d -> $o -> $d or rejection of 'maybe' failed" test $ok = 1
done
check stats-readonly "stats accepted a write" sh -c "! echo 1 >$SYS/stats 2>/dev/null"

# --- an open pagemap file (it has the module's ioctl) keeps it loaded ------
exec 3</proc/self/pagemap
if rmmod uffd_wpu 2>/dev/null; then
	fail pagemap-open-pins "rmmod succeeded while a pagemap file opened after insmod was open"
	insmod "$KO"
else
	check pagemap-open-pins "module gone after a refused rmmod" \
		grep -q '^uffd_wpu ' /proc/modules
fi
exec 3<&-

# --- unload: nothing stays behind ----------------------------------------
m=$(mark)
if rmmod uffd_wpu; then
	check unload "module still listed, hooks or device left behind" \
		sh -c "! grep -q '^uffd_wpu ' /proc/modules && [ \$(grep -c wpu_ftrace_thunk $EF) = 0 ] && [ ! -e /dev/uffd-wpu ] && [ ! -e $SYS ]"
else
	fail unload "rmmod failed with nothing using the module"
fi

# --- parameters ------------------------------------------------------------
if [ "$huge" = 0 ]; then
	expect_refusal refuse-huge-holes-on \
		"uffd_wpu: huge_holes=on is not available on $REL; refusing to load" \
		huge_holes=on
fi
hh=off
[ "$huge" = 1 ] && hh=on
if insmod "$KO" enabled=0 transparent=0 huge_holes=$hh; then
	check params "enabled=0 transparent=0 huge_holes=$huge not reflected in sysfs" \
		test "$(cat $SYS/enabled)$(cat $SYS/transparent)$(cat $SYS/huge_holes)" = "00$huge" \
		-a "$(cat /sys/module/uffd_wpu/parameters/enabled)" = N
	rmmod uffd_wpu || fail params-unload "rmmod failed"
else
	fail params "insmod enabled=0 transparent=0 huge_holes=$huge failed"
fi

# --- load/unload cycles ------------------------------------------------
ok=1
i=0
while [ $i -lt 10 ]; do
	insmod "$KO" && rmmod uffd_wpu || { ok=0; break; }
	i=$((i + 1))
done
check load-unload-cycles "cycle $i of 10 failed" test $ok = 1

t_exit
