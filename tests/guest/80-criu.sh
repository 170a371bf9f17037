# shellcheck shell=dash
# Real CRIU 4.x (Debian 13's, tests/apps/criu/build.sh, packed with
# `tests/run --overlay DIR`) on the module's PAGEMAP_SCAN.  SKIP without it.
#
# The probe: `criu check --feature pagemap_scan` says no on the stock
# kernel, yes with the module (and natively on 6.12), and the "no" CRIU
# cached in /run/criu.kdat before insmod stays until that file is removed.
#
# Phase 1, THP's use_zero_page 0: one process (criu_victim: written,
# swapped, read-only zero and untouched anonymous pages, a private file
# mapping, THPs) does not touch its memory while it is dumped:
#   warm      a first dump, thrown away (the parasite's code injection
#             leaves a private copy of one text page behind for later dumps)
#   stock     (load-mode kernels) before insmod: CRIU's pagemap read path
#   scan      with PAGEMAP_SCAN (the module's, or native on 6.12)
#   fallback  CRIU_FAULT=135 (FI_DONT_USE_PAGEMAP_SCAN in CRIU 4.1's
#             criu/include/fault-injection.h): the pagemap read path
#   final     PAGEMAP_SCAN, without --leave-running; then criu restore and
#             the restored process checks its own memory
# pagemap-*.img and pages-*.img of stock, scan, fallback and final must be
# byte-identical.
# Phase 2, use_zero_page 1 (the default): the read-only THP block is the
# huge zero page.  PAGEMAP_SCAN calls it PFNZERO (native 6.12 too) and CRIU
# skips it; CRIU's read path only knows the 4 KiB zero page's pfn and dumps
# the 2 MiB of zeros.  The dumps must differ by exactly that block
# (criu_imgcmp), as on a native kernel.
T_PROG=criu
. /tests/guest/lib.sh

ROOT=/opt/criu/root
CRIU=$ROOT/usr/sbin/criu
VICTIM=/opt/criu/bin/criu_victim
IMGCMP=/opt/criu/bin/criu_imgcmp
KO=/uffd_wpu.ko
W=/tmp/criu
KDAT=/run/criu.kdat
STATS=/sys/kernel/uffd_wpu/stats

if [ ! -x "$CRIU" ] || [ ! -x "$VICTIM" ]; then
	skip all "no $CRIU (tests/apps/criu/build.sh; tests/run --overlay DIR)"
	exit 0
fi

# CRIU keeps its probe cache only on a tmpfs /run (the initramfs' /run is
# rootfs).
run_mounted=
grep -q ' /run tmpfs ' /proc/mounts || { mount -t tmpfs tmpfs /run && run_mounted=1; }
rm -rf "$W"
mkdir -p "$W"
# CRIU's probes run libnftables, which exits when the kernel has no
# NETLINK_NETFILTER (nfnetlink is a module; the initramfs has no
# /lib/modules for modprobe): build.sh packs each kernel's nfnetlink.ko.
# kerndat's TCP_REPAIR probe connects over loopback.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
nfko=/opt/criu/kmod/$(uname -r)/nfnetlink.ko
if ! grep -q '^nfnetlink ' /proc/modules && ! insmod "$nfko"; then
	echo "    cannot insmod $nfko: CRIU's kerndat probes will fail"
fi

THP=/sys/kernel/mm/transparent_hugepage/enabled
HZP=/sys/kernel/mm/transparent_hugepage/use_zero_page
thp_old=$(sed 's/.*\[\(.*\)\].*/\1/' "$THP" 2>/dev/null)
hzp_old=$(cat "$HZP" 2>/dev/null)
[ -n "$thp_old" ] && echo always >"$THP"

# criu ARGS...: run it with a time limit; its output goes to $W/out.
criu() {
	timeout 300 "$CRIU" "$@" >"$W/out" 2>&1
}
show() { sed 's/^/    | /' "$1" | tail -n "${2:-15}"; }
probe() {
	criu check --feature pagemap_scan
	_rc=$?
	echo "    criu check --feature pagemap_scan: rc $_rc: $(tr '\n' ' ' <"$W/out")"
	return $_rc
}
scans() { awk '$1 == "scans" { print $2 }' "$STATS" 2>/dev/null || echo 0; }

vpid=
cleanup() {
	[ -n "$vpid" ] && kill -TERM "$vpid" 2>/dev/null
	[ -n "$thp_old" ] && echo "$thp_old" >"$THP"
	[ -n "$hzp_old" ] && echo "$hzp_old" >"$HZP"
	[ -n "$run_mounted" ] && umount /run
}

# dump NAME [ENV...]: criu dump --leave-running of the victim into $W/NAME,
# with the environment ENV (e.g. CRIU_FAULT=135).  NAME=final: no
# --leave-running (the victim is gone afterwards).
dump() {
	_d=$W/$1
	shift
	mkdir -p "$_d"
	_lr=--leave-running
	[ "${_d##*/}" = final ] && _lr=
	env "$@" "$CRIU" dump -t "$vpid" -D "$_d" -o dump.log -v4 $_lr \
		--manage-cgroups=ignore >"$W/out" 2>&1
	_rc=$?
	if [ $_rc -ne 0 ]; then
		echo "    criu dump ${_d##*/} failed (rc $_rc); $_d/dump.log:"
		show "$_d/dump.log" 25
		return 1
	fi
	ls "$_d"/pagemap-*.img "$_d"/pages-*.img >/dev/null 2>&1 || {
		echo "    no pagemap/pages images in $_d"
		return 1
	}
	return 0
}

# same A B: the page images of dumps A and B are byte-identical.
same() {
	_ok=0
	for _f in "$W/$1"/pagemap-*.img "$W/$1"/pages-*.img; do
		_b=$W/$2/${_f##*/}
		if ! cmp "$_f" "$_b" >/dev/null 2>&1; then
			echo "    $1/${_f##*/} and $2/${_f##*/} differ: $(cmp "$_f" "$_b" 2>&1 | head -n 1)"
			_ok=1
		fi
	done
	[ "$(cd "$W/$1" && ls pagemap-*.img pages-*.img)" = \
	  "$(cd "$W/$2" && ls pagemap-*.img pages-*.img)" ] || {
		echo "    $1 and $2 have different sets of page images"
		_ok=1
	}
	[ "$_ok" = 0 ] ||
		"$IMGCMP" "$W/$1" "$W/$2" "$vpid" 2>&1 | head -n 20 | sed "s/^/    $1 vs $2: /"
	return "$_ok"
}
sizes() {
	(cd "$W/$1" && for f in pagemap-*.img pages-*.img; do
		echo "$f $(wc -c <"$f") $(md5sum <"$f" | cut -c1-32)"
	done) | tr '\n' ';'
}

# ask: have the victim check its memory; its answer ("ok" or "bad ...").
ask() {
	rm -f "$W/result"
	kill -USR1 "$vpid" 2>/dev/null || { echo "no process $vpid"; return; }
	_i=0
	while [ ! -f "$W/result" ] && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	cat "$W/result" 2>/dev/null || echo "no answer"
}

echo "    $("$CRIU" --version | tr '\n' ' ')"

# ---- 1. the module must not be loaded yet (shell tests run before /init's
# insmod; an earlier shell test may have left it loaded)
stock=0
if [ "$WPU_MODE" = load ]; then
	loaded && rmmod uffd_wpu 2>/dev/null
	if loaded; then
		skip probe-stock "uffd_wpu already loaded and cannot be removed"
	else
		stock=1
	fi
fi

# start_victim DIR: start criu_victim in DIR; sets vpid, or fails.
start_victim() {
	W=$1
	mkdir -p "$W"
	$RSEQ_OFF taskset 1 setsid "$VICTIM" "$W" </dev/null >"$W/victim.log" 2>&1 &
	i=0
	while [ ! -s "$W/ready" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	vpid=$(cat "$W/ready" 2>/dev/null)
	if [ -z "$vpid" ]; then
		fail victim "criu_victim did not start: $(cat "$W/victim.log")"
		cleanup
		t_exit
	fi
	echo "    $(cat "$W/victim.log"); THP $(cat "$THP" 2>/dev/null)," \
		"use_zero_page $(cat "$HZP" 2>/dev/null);" \
		"$(grep -E 'AnonHugePages|Swap:' /proc/"$vpid"/smaps_rollup 2>/dev/null | tr -s ' \n' ' ')"
}

# The victim runs on CPU 0 only: the kernel writes the CPU number into the
# rseq area of its thread (glibc's struct pthread, in a page CRIU dumps)
# whenever it runs on another CPU, a real change of its memory between two
# dumps.
# CRIU 4.1 refuses to dump a process that registered rseq when the kernel
# lacks PTRACE_GET_RSEQ_CONFIGURATION (5.13; cr-dump.c check_thread_rseq:
# "has rseq but kernel lacks get_rseq_conf feature").  glibc 2.35+
# registers rseq in every thread; the victim is built with Debian 12's
# glibc 2.36 (Debian 11's 2.31 does not register it): turn it off on 5.10.
RSEQ_OFF=
case $(uname -r) in
[1-4].* | 5.[0-9].* | 5.1[0-2].*)
	RSEQ_OFF="env GLIBC_TUNABLES=glibc.pthread.rseq=0"
	echo "    kernel $(uname -r) < 5.13: victim runs with $RSEQ_OFF" ;;
esac

# ---- 2. phase 1: the victim, no huge zero page
[ -n "$hzp_old" ] && echo 0 >"$HZP"
start_victim /tmp/criu/p1
ahp=$(awk '/^AnonHugePages:/ { print $2 }' /proc/"$vpid"/smaps_rollup 2>/dev/null)
if [ "${ahp:-0}" -ge 6144 ]; then
	pass thp-backed
else
	skip thp-backed "AnonHugePages ${ahp:-0} kB in the victim, not 6144 (THP $(cat "$THP" 2>/dev/null))"
fi
r=$(ask)
check victim-before "victim memory check before any dump: $r" [ "$r" = ok ]

# ---- 3. warm-up dump, then the stock kernel's probe and dump
rm -f "$KDAT"
if dump warm; then
	pass dump-warm
else
	fail dump-warm "criu dump failed (see above)"
	cleanup
	t_exit
fi

if [ $stock = 1 ]; then
	rm -f "$KDAT"
	if probe; then
		fail probe-stock "stock $WPU_KERNEL: criu says pagemap_scan is supported"
	else
		pass probe-stock
	fi
	# This run leaves $KDAT behind, with has_pagemap_scan false.
	check dump-stock "criu dump on the stock kernel failed" dump stock
	[ -f "$KDAT" ] && echo "    $KDAT written (stock answer cached)"

	# ---- 4. load the module: the cached answer is stale until removed
	if ! insmod "$KO"; then
		fail insmod "insmod $KO failed"
		cleanup
		t_exit
	fi
	if [ -f "$KDAT" ]; then
		if probe; then
			fail kdat-stale "a $KDAT from before insmod gave the new answer (expected the cached no)"
		else
			pass kdat-stale
		fi
	else
		skip kdat-stale "CRIU wrote no $KDAT"
	fi
	rm -f "$KDAT"
	check probe-module "criu check --feature pagemap_scan: no after insmod and rm $KDAT" probe
elif [ "$WPU_MODE" = load ]; then
	check probe-module "criu check --feature pagemap_scan: no with the module loaded" probe
else
	check probe-native "criu check --feature pagemap_scan: no on $WPU_KERNEL" probe
fi

# ---- 5. PAGEMAP_SCAN and fallback dumps (the module's scan counter shows
# the path where there is one)
s0=$(scans)
check dump-scan "criu dump (PAGEMAP_SCAN) failed" dump scan
s1=$(scans)
check dump-fallback "criu dump with CRIU_FAULT=135 failed" dump fallback CRIU_FAULT=135
s2=$(scans)
if [ -f "$STATS" ]; then
	echo "    module PAGEMAP_SCAN calls: scan dump $((s1 - s0)), fallback dump $((s2 - s1))"
	check path-scan "the normal dump made no PAGEMAP_SCAN call" [ $((s1 - s0)) -gt 0 ]
	check path-fallback "the CRIU_FAULT=135 dump made PAGEMAP_SCAN calls" [ $((s2 - s1)) -eq 0 ]
fi

# ---- 6. final dump (kills the victim), restore, the victim checks itself
check dump-final "criu dump (final) failed" dump final
for d in stock scan fallback final; do
	[ -f "$W/$d/pagemap-$vpid.img" ] && echo "    $d: $(sizes $d)"
done
check images-scan-fallback "pagemap/pages images differ: PAGEMAP_SCAN vs CRIU_FAULT=135" \
	same scan fallback
if [ $stock = 1 ]; then
	check images-stock-scan "pagemap/pages images differ: stock kernel vs PAGEMAP_SCAN" \
		same stock scan
fi
check images-scan-final "pagemap/pages images differ: two PAGEMAP_SCAN dumps" \
	same scan final
i=0
while kill -0 "$vpid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -f "$W/final/pagemap-$vpid.img" ]; then
	(cd "$W/final" && timeout 300 "$CRIU" restore -d -D "$W/final" -o restore.log -v4 \
		--manage-cgroups=ignore >"$W/out" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && kill -0 "$vpid" 2>/dev/null; then
		pass restore
		r=$(ask)
		check restore-memory "restored victim's memory check: $r" [ "$r" = ok ]
		kill -TERM "$vpid"
	else
		fail restore "criu restore rc $rc; restore.log:"
		show "$W/final/restore.log" 25
		show "$W/out" 5
	fi
fi
vpid=

# ---- 7. phase 2: the huge zero page
if [ -n "$hzp_old" ]; then
	echo 1 >"$HZP"
	start_victim /tmp/criu/p2
	hz=$(cat "$W/hzp")
	if dump warm && dump scan && dump fallback CRIU_FAULT=135; then
		out=$("$IMGCMP" "$W/scan" "$W/fallback" "$vpid" 2>&1)
		printf "%s\n" "$out" | sed "s/^/    scan vs fallback: /"
		want="only-b $hz $(printf %x $((0x$hz + 0x200000))) zero"
		if [ "$(echo "$out" | head -n 1)" = "$want" ] &&
		   [ "$(echo "$out" | wc -l)" = 2 ]; then
			pass images-huge-zero
		else
			fail images-huge-zero "expected only \"$want\" (the huge zero page only in the fallback dump)"
		fi
	else
		fail images-huge-zero "a dump failed"
	fi
	# ---- 8. the other way: rmmod with a cached "yes" (load-mode kernels)
	if [ $stock = 1 ] && [ -f "$KDAT" ] && rmmod uffd_wpu; then
		if probe; then
			pass kdat-stale-rmmod
		else
			fail kdat-stale-rmmod "after rmmod, the cached yes was not used"
		fi
		if dump stale >/dev/null; then
			fail dump-stale-rmmod "dump with a cached PAGEMAP_SCAN yes after rmmod succeeded"
		elif grep -q 'PAGEMAP_SCAN' "$W/stale/dump.log"; then
			echo "    $(grep -m1 'Error.*PAGEMAP_SCAN' "$W/stale/dump.log")"
			pass dump-stale-rmmod
		else
			fail dump-stale-rmmod "dump failed, but not at PAGEMAP_SCAN"
			show "$W/stale/dump.log" 10
		fi
		rm -f "$KDAT"
		check dump-after-rmmod "criu dump after rmmod and rm $KDAT failed" dump stock2
		check images-after-rmmod "pagemap/pages images differ: after rmmod vs fallback" \
			same fallback stock2
	fi
	kill -TERM "$vpid" 2>/dev/null
	vpid=
fi

cleanup
[ $t_failed = 0 ] && rm -rf /tmp/criu
t_exit
