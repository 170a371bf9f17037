# shellcheck shell=dash
# Library of the in-guest shell tests (busybox sh).  Use:
#
#   T_PROG=wpu-load        # result prefix; default "guest"
#   . /tests/guest/lib.sh
#   pass NAME              ->  @@ PASS wpu-load/NAME
#   fail NAME WHY...       ->  @@ FAIL wpu-load/NAME: WHY
#   skip NAME WHY...       ->  @@ SKIP wpu-load/NAME: WHY
#   check NAME WHY CMD...  ->  pass if CMD succeeds, else fail with WHY
#   t_exit                 ->  exit 1 if any fail was reported, else 0
#
# Same protocol as tests/progs/t.h: each line goes to stdout (the console)
# and, if the kernel command line names one (wpu.results=/dev/ttyS1; /init
# exports it as WPU_RESULTS), to the results port, which the host counts.
# /init reports through t_say too.  Also set (from /proc/cmdline, exported
# by /init): WPU_MODE (load|refuse), WPU_KERNEL (name in tests/kernels.conf),
# WPU_ABI (expected uname -r), WPU_TIMEOUT (seconds per test).

T_PROG=${T_PROG:-guest}
t_failed=0

# t_say LINE: one protocol line, to the console and the results port.
t_say() {
	echo "$*"
	if [ -n "${WPU_RESULTS:-}" ]; then echo "$*" >>"$WPU_RESULTS"; fi
}
pass() { t_say "@@ PASS $T_PROG/$1"; }
fail() {
	_n=$1
	shift
	t_say "@@ FAIL $T_PROG/$_n: $*"
	t_failed=1
}
skip() {
	_n=$1
	shift
	t_say "@@ SKIP $T_PROG/$_n: $*"
}
check() {
	_n=$1
	_w=$2
	shift 2
	if "$@"; then pass "$_n"; else fail "$_n" "$_w"; fi
}
t_exit() { exit "$t_failed"; }

# Values from the kernel command line, if /init did not export them.
if [ -z "${WPU_MODE:-}" ]; then
	# shellcheck disable=SC2013 # the words of the command line
	for _w in $(cat /proc/cmdline); do
		case $_w in
		wpu.mode=*)    WPU_MODE=${_w#*=} ;;
		wpu.kernel=*)  WPU_KERNEL=${_w#*=} ;;
		wpu.abi=*)     WPU_ABI=${_w#*=} ;;
		wpu.timeout=*) WPU_TIMEOUT=${_w#*=} ;;
		wpu.results=*) WPU_RESULTS=${_w#*=} ;;
		esac
	done
fi
WPU_MODE=${WPU_MODE:-load}
WPU_KERNEL=${WPU_KERNEL:-unknown}
WPU_ABI=${WPU_ABI:-}
WPU_TIMEOUT=${WPU_TIMEOUT:-300}
WPU_RESULTS=${WPU_RESULTS:-}

# The module and the kernel's log, for the tests that load and unload it.
EF=/sys/kernel/tracing/enabled_functions
loaded() { grep -q "^${1:-uffd_wpu} " /proc/modules; }
# rmmod_eventually TENTHS: rmmod uffd_wpu, retried every 0.1 s, TENTHS tries
# at most.  The last reference of an exited mm goes after an SRCU grace
# period: a process that has just exited may still pin the module.
rmmod_eventually() {
	_i=0
	while [ $_i -lt "$1" ]; do
		rmmod uffd_wpu 2>/dev/null && return 0
		_i=$((_i + 1))
		usleep 100000
	done
	return 1
}
mark() { dmesg | wc -l; }
# uffd_wpu lines logged since mark $1, de-duplicated (busybox insmod may
# retry a failed init with a second syscall, logging the reason twice).
# The kernel's own taint notices on the first load are not ours.
since() {
	dmesg | tail -n +$(($1 + 1)) | grep 'uffd_wpu: ' |
		grep -v -e 'taints kernel' -e 'module verification failed' |
		sed 's/^\[[^]]*\] //' | sort -u
}
# What the running kernel offers (with the module, if it is loaded), from
# `wp_api --facts`: sets KF_wp_hugetlbfs_shmem (uffd-wp pte markers),
# KF_user_mode_only, KF_pagemap_bit57, KF_resets_wp, KF_memfd_noexec_seal
# to 0 or 1.  Tests expect from these, not from kernel names.  Returns 1
# (and sets nothing) if the facts cannot be read.
kernel_facts() {
	_kf=$(/tests/bin/wp_api --facts 2>/dev/null) || return 1
	# shellcheck disable=SC2034 # read by the scripts that source lib.sh
	KF_wp_hugetlbfs_shmem='' KF_user_mode_only='' KF_pagemap_bit57='' \
		KF_resets_wp='' KF_memfd_noexec_seal='' KF_resets_mremap='' \
		KF_dev_userfaultfd=''
	eval "$(echo "$_kf" | sed -n 's/^\([a-z0-9_]*\)=\([01]\)$/KF_\1=\2/p')"
	[ -n "${KF_wp_hugetlbfs_shmem:-}" ]
}
# The backend uffd_wpu picks by default, after kernel_facts: markers
# need uffd-wp pte markers (they come with WP_HUGETLBFS_SHMEM) and stock
# code that lives with anonymous ones where the module does not hook it,
# 6.1's fork; 6.1 also brought /dev/userfaultfd, which tells it from 5.19
# and 6.0, for the module too (src/compat/compat.h WPU_HAVE_MARKER_BACKEND).
expected_backend() {
	if [ "$KF_wp_hugetlbfs_shmem" = 1 ] && [ "$KF_dev_userfaultfd" = 1 ]; then
		echo marker
	else
		echo zeropage
	fi
}
# Whether huge_holes can be switched on, after kernel_facts: not on 5.19
# and 6.0, whose THP split drops uffd-wp from a huge zero pmd (the module:
# src/compat/compat.h WPU_HUGE_SPLIT_KEEPS_WP).  The guest sees them as
# markers without /dev/userfaultfd; one built with the markers off would
# look like 5.18 here (no such kernel in docs/kernels.md).
expected_huge_holes() {
	if [ "$KF_wp_hugetlbfs_shmem" = 1 ] && [ "$KF_dev_userfaultfd" != 1 ]; then
		echo 0
	else
		echo 1
	fi
}
# Functions uffd_wpu's ftrace callback is attached to.
hooked() { grep -c 'wpu_ftrace_thunk' "$EF" 2>/dev/null; }
