# shellcheck shell=dash
# A real QEMU background snapshot (migrate with capability
# background-snapshot) of an inner VM, with Debian 12's QEMU as it is
# (/opt/qemu/plain) and with patches/qemu (/opt/qemu/wpu), which asks for
# UFFD_FEATURE_WP_UNPOPULATED and then skips reading all of guest RAM first.
# Every page written before the snapshot must come back with its value at
# the snapshot instant, pages written only after it must come back zero
# (tests/apps/qemu/qsnap.c does the sequence and counts wrong pages).
#
# Runs before /init loads the module: first on the kernel as it is (stock
# 6.1/5.10: the patched QEMU must fall back to the pre-read; native 6.12:
# it must use the feature), then, in load mode, with uffd_wpu.ko loaded
# (it must use the feature).  The module is unloaded again at the end.
#
# Needs the overlay of tests/apps/qemu/build.sh (tests/run --overlay DIR;
# make check-apps); SKIP without it.
#
# WPU_QEMU_BENCH=1 (kernel command line, e.g. UFFD_WPU_CMDLINE): also the
# figures of docs/benchmarks.md: 1 and 8 GiB of inner RAM, THP never and
# always, each line "@@ QBENCH kernel state variant MiB thp setup_ms
# first_byte_ms rss_kib pte_kib" (tests/apps/qemu/bench.sh collects them).
# WPU_QEMU_BENCH_STATES=stock,module (default all) and
# WPU_QEMU_BENCH_CASES=MIB:THP,... (default 1024:never,1024:always,
# 8192:never,8192:always) narrow it down.
T_PROG=qemu-snapshot
. /tests/guest/lib.sh
KO=/uffd_wpu.ko
Q=/opt/qemu
MIB=${WPU_QEMU_MIB:-512}
THP=/sys/kernel/mm/transparent_hugepage/enabled

if [ ! -x $Q/qsnap ] || [ ! -x $Q/plain/qemu-system-x86_64 ] ||
	[ ! -x $Q/wpu/qemu-system-x86_64 ]; then
	skip all "no QEMU overlay in the guest (tests/apps/qemu/build.sh, tests/run --overlay)"
	t_exit
fi
echo "qemu-snapshot: $(cat $Q/VERSION | xargs)"

# The inner VMs' RAM is mostly never touched: let an 8 GiB one be mapped
# in a guest of 2 GiB.
oc=$(cat /proc/sys/vm/overcommit_memory)
echo 1 >/proc/sys/vm/overcommit_memory
thp0=$(sed 's/.*\[\(.*\)\].*/\1/' $THP 2>/dev/null)

# Page migration counters: 5.10 loses uffd-wp when it migrates a
# write-protected THP (NUMA balancing, compaction: the pmd's uffd-wp bit is
# not carried; see wpu_split_thp() in src/protect.c), which an unpatched QEMU (or the patched one without the
# feature) hits with THP: such a run is reported SKIP with its wrong pages,
# never PASS.  Shown with every run.
vmstat_mig() {
	grep -E '^(pgmigrate_success|thp_migration_success|compact_stall|numa_pages_migrated) ' \
		/proc/vmstat | xargs
}

# snap NAME VARIANT STATE MIB [THP]: one snapshot, result line NAME unless
# it is a bench run (NAME empty).  The patched QEMU's trace point says which
# way it went: wp_unpopulated 1 is expected iff the kernel offers the
# feature, natively or through the module (STATE native|module).
snap() {
	_name=$1 _var=$2 _state=$3 _mib=$4 _thp=${5:-}
	_d=/tmp/qsnap.$_var
	rm -rf "$_d"
	mkdir -p "$_d"
	[ -n "$_thp" ] && echo "$_thp" >$THP
	_vm0=$(vmstat_mig)
	_out=$("$Q/qsnap" snap "$Q/$_var/qemu-system-x86_64" "$_mib" "$_d" 2>&1)
	_rc=$?
	_vm1=$(vmstat_mig)
	[ -n "$_thp" ] && echo "$thp0" >$THP
	printf '%s\n' "$_out" | sed "s/^/    [$_state $_var ${_mib}M${_thp:+ $_thp}] /"
	echo "    [$_state $_var ${_mib}M${_thp:+ $_thp}] vmstat during the run:" \
		"$(echo "$_vm0 $_vm1" | awk '{ n = NF / 2; for (i = 1; i <= n; i += 2)
			printf "%s+%d ", $i, $(i + n + 1) - $(i + 1) }')"
	_wrong=$(echo "$_out" | sed -n 's/^qsnap: wrong=//p')
	_path=$(sed -n 's/.*ram_write_tracking_prepare wp_unpopulated: \([01]\).*/\1/p' \
		"$_d/qemu-src.log" | tail -n 1)
	case $_var/$_state in
	plain/*) _want= ;;
	wpu/stock) _want=0 ;;
	*) _want=1 ;;
	esac
	if [ -z "$_name" ]; then
		_v() { echo "$_out" | sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" | tail -n 1; }
		echo "@@ QBENCH $WPU_KERNEL $_state $_var $_mib ${_thp:-$thp0}" \
			"$(_v setup_ms) $(_v first_byte_ms) $(_v rss_kib) $(_v pte_kib)" \
			"wrong=${_wrong:-?} path=${_path:--}"
	fi
	if [ "$_wrong" != 0 ] && [ -n "$_wrong" ] && [ "$WPU_KERNEL" = 5.10 ] &&
		[ "$_want" != 1 ] && [ "${_thp:-$thp0}" != never ]; then
		# Without WP_UNPOPULATED nothing splits protected THPs on 5.10
		# (the module does for the contexts that ask for the feature).
		skip "${_name:-bench-$_state-$_var-$_mib-$_thp}" \
			"known 5.10 bug, not the module's: a THP migrated while" \
			"write-protected loses uffd-wp (src/protect.c); $_wrong wrong pages"
	elif [ $_rc -ne 0 ] || [ "$_wrong" != 0 ]; then
		fail "${_name:-bench-$_state-$_var-$_mib-$_thp}" \
			"status $_rc, ${_wrong:-?} wrong pages: $(echo "$_out" | tail -n 1)"
	elif [ "$_path" != "$_want" ]; then
		fail "${_name:-bench-$_state-$_var-$_mib-$_thp}" \
			"patched QEMU took wp_unpopulated=${_path:-none}, expected $_want"
	elif [ -n "$_name" ]; then
		pass "$_name"
	fi
	rm -rf "$_d"
}

# all_of STATE: both QEMUs, and the figures if asked for
all_of() {
	snap "$1-plain" plain "$1" "$MIB"
	snap "$1-wpu" wpu "$1" "$MIB"
	snap "$1-plain-nothp" plain "$1" "$MIB" never
	snap "$1-wpu-nothp" wpu "$1" "$MIB" never
	[ "${WPU_QEMU_BENCH:-0}" = 1 ] || return 0
	case ",${WPU_QEMU_BENCH_STATES:-$1}," in *",$1,"*) ;; *) return 0 ;; esac
	for _c in $(echo "${WPU_QEMU_BENCH_CASES:-1024:never,1024:always,8192:never,8192:always}" | tr , ' '); do
		snap "" plain "$1" "${_c%:*}" "${_c#*:}"
		snap "" wpu "$1" "${_c%:*}" "${_c#*:}"
	done
}

if loaded; then
	fail setup "uffd_wpu is already loaded: this test runs before /init loads it"
elif [ "$WPU_MODE" = refuse ]; then
	all_of native
else
	all_of stock
	if [ ! -f "$KO" ]; then
		skip module "no $KO in the initramfs"
	elif ! insmod "$KO"; then
		fail module "insmod $KO failed"
	else
		all_of module
		rmmod_eventually 100 ||
			fail module "rmmod still refused 10 s after the snapshots: $(rmmod uffd_wpu 2>&1)"
	fi
fi

echo "$oc" >/proc/sys/vm/overcommit_memory
t_exit
