# shellcheck shell=dash
# Torture.  Short by default (every `make check`: about 1.5 min per kernel
# under TCG); the long version with WPU_STRESS=long on the guest kernel
# command line (it needs longer limits):
#     UFFD_WPU_CMDLINE=WPU_STRESS=long UFFD_WPU_PROG_TIMEOUT=5400 \
#     UFFD_WPU_BOOT_TIMEOUT=7200 tests/run --kernel 6.1
# WPU_STRESS_LOOPS=N and WPU_STRESS_CYCLES=N (kernel command line too)
# change the number of integrity loops and load/unload cycles of either
# mode, e.g. for the slower debug kernel (docs/debug-kernel.md).
#
#  1. integrity: the live-snapshot tool (tools/wpu-snapshot.c, packed
#     as /tests/bin/wp_snapshot) in loops, two processes at a time, with
#     --chaos (fork, mremap, MADV_DONTNEED, MADV_COLLAPSE, MADV_PAGEOUT to the
#     swap on /dev/ram0, move_pages, opt-in/opt-out of the mm) -- every
#     snapshot exact, and a third process SIGKILLed in the middle of its
#     snapshots.  Module kernels, at the same time: /sys/kernel/uffd_wpu
#     enabled and transparent toggled (a run that starts while the feature is
#     off is refused at UFFDIO_API and retried), and `rmmod uffd_wpu`
#     attempted while a pinning process runs: it must fail and leave module,
#     hooks and device intact; once the processes are gone it must succeed.
#  2. leaks (module kernels): load/unload cycles (every 10th with a small
#     snapshot run), /proc/meminfo and /proc/slabinfo compared before and
#     after (after drop_caches and a shrink of every slab cache); a cache
#     that grows by one object per cycle (beyond two slabs per CPU) twice in
#     a row is a leak, and so is SUnreclaim or VmallocUsed growing by 4 kB
#     per cycle.  The per-CPU slack hides a few small objects per cycle
#     (kmalloc-8: 2048 objects); with kmemleak (tests/debug-kernel) a
#     kmemleak scan finds any unreferenced object however small.
# Native kernels run part 1 only.  Leaves the module unloaded (/init loads
# it for the test programs).
T_PROG=stress
# shellcheck source=lib.sh
. /tests/guest/lib.sh

SNAP=/tests/bin/wp_snapshot
KO=/uffd_wpu.ko
SYS=/sys/kernel/uffd_wpu
EF=/sys/kernel/tracing/enabled_functions
KML=/sys/kernel/debug/kmemleak
W=/tmp/stress
rm -rf "$W"
mkdir -p "$W"

MODE=${WPU_STRESS:-short}
grep -Eq '(^| )(WPU_STRESS|wpu\.stress)=long( |$)' /proc/cmdline && MODE=long
if [ "$MODE" = long ]; then
	LOOPS=12 SIZE=64 ROUNDS=8 CYCLES=200
else
	MODE=short LOOPS=1 SIZE=16 ROUNDS=2 CYCLES=50
fi
LOOPS=${WPU_STRESS_LOOPS:-$LOOPS}
CYCLES=${WPU_STRESS_CYCLES:-$CYCLES}
T0=$(date +%s)
echo "stress: $MODE: $LOOPS loops of 2 snapshot processes (${SIZE} MiB + 8 MiB, $ROUNDS rounds, chaos), $CYCLES load/unload cycles"

if [ ! -x "$SNAP" ]; then
	skip all "no $SNAP in the initramfs (build/wp_snapshot failed on the host?)"
	t_exit
fi

loaded() { grep -q '^uffd_wpu ' /proc/modules; }
hooked() { grep -c 'wpu_ftrace_thunk' "$EF" 2>/dev/null; }
tracked() { sed -n 's/^tracked_mms *//p' "$SYS/stats" 2>/dev/null; }

MOD=0
if [ "$WPU_MODE" = load ]; then
	if [ ! -f "$KO" ]; then
		skip module "no $KO in the initramfs (module build failed)"
	elif loaded || insmod "$KO"; then
		MOD=1
	else
		fail insmod "insmod $KO failed"
	fi
fi

# ---- 1. integrity loops ----------------------------------------------------

# snap NAME ARGS...: run the tool; a start refused because the feature is
# off right now (exit 2, "not offered") is retried; status in $W/NAME.rc,
# refusals in $W/NAME.refused.
snap() {
	_n=$1
	shift
	_r=0
	while :; do
		"$SNAP" "$@" >"$W/$_n.out" 2>&1
		_rc=$?
		if [ $_rc = 2 ] && [ $_r -lt 200 ] && grep -q 'not offered' "$W/$_n.out"; then
			_r=$((_r + 1))
			usleep 20000
			continue
		fi
		break
	done
	echo "$_r" >"$W/$_n.refused"
	echo "$_rc" >"$W/$_n.rc"
}

if ! "$SNAP" --probe; then
	skip integrity "WP_UNPOPULATED not offered (stock kernel, module not loaded)"
else
	PINNER=
	TOGGLER=
	rm_attempts=0
	killed=0
	killed_uffd=0
	rm_bad=
	# kill_pk: SIGKILL the third process ($pk) and reap it; counts it, and
	# whether it held a userfaultfd at that moment (it may still be
	# waiting for UFFDIO_API while the feature is toggled off)
	kill_pk() {
		# shellcheck disable=SC2010 # ls -l shows where the fds point
		ls -l "/proc/$pk/fd" 2>/dev/null | grep -q userfaultfd && killed_uffd=$((killed_uffd + 1))
		kill -9 $pk 2>/dev/null && killed=$((killed + 1))
		wait $pk 2>/dev/null
		pk=
	}
	hooks0=$(cat "$SYS/hooks" 2>/dev/null)
	if [ $MOD = 1 ]; then
		# A process that keeps a WP_UNPOPULATED context (and protected
		# holes) for the whole phase: the module must stay pinned.  No
		# watchdog: the phase may take more than an hour (debug kernel).
		"$SNAP" --size 8 --rounds 1000000 --writers 1 --watchdog 0 --seed 7 >"$W/pinner.out" 2>&1 &
		PINNER=$!
		i=0
		while [ "$(tracked)" = 0 ] && [ $i -lt 1200 ]; do usleep 50000; i=$((i + 1)); done
		[ "$(tracked)" = 0 ] && fail pinner "the pinning process did not show up in tracked_mms within 60 s"
		(
			i=0
			while [ ! -e "$W/stop" ]; do
				echo $((i % 2)) >"$SYS/enabled"
				echo $((i / 2 % 2)) >"$SYS/transparent"
				i=$((i + 1))
				usleep 30000
			done
			echo 1 >"$SYS/enabled"
			echo 1 >"$SYS/transparent"
			echo $i >"$W/toggles"
		) &
		TOGGLER=$!
	fi

	t=$(date +%s)
	l=1
	while [ $l -le "$LOOPS" ]; do
		snap "a$l" --size "$SIZE" --rounds "$ROUNDS" --chaos --seed $((1000 + l)) &
		pa=$!
		snap "b$l" --size 8 --writers 2 --rounds "$ROUNDS" --chaos --seed $((2000 + l)) &
		pb=$!
		# a third one is killed (SIGKILL) in the middle of its snapshots
		# (1.2 - 3.3 s in, or when the other two finish): the mm goes away
		# with protected holes and writers blocked in faults.  It never
		# finishes by itself (100000 rounds); killed only once, so a
		# reaped pid is never signalled again.
		"$SNAP" --size 8 --rounds 100000 --chaos --api-retry 1000 --watchdog 0 --seed $((3000 + l)) >"$W/k$l.out" 2>&1 &
		pk=$!
		ticks=0
		# rmmod while they run: refused, and nothing may change
		while [ ! -e "$W/a$l.rc" ] || [ ! -e "$W/b$l.rc" ]; do
			ticks=$((ticks + 1))
			[ $ticks = $((4 + l % 8)) ] && kill_pk
			if [ $MOD = 1 ]; then
				rm_attempts=$((rm_attempts + 1))
				if rmmod uffd_wpu 2>"$W/rmmod.err"; then
					rm_bad="rmmod succeeded while processes held the feature"
					insmod "$KO"
				elif ! loaded || [ "$(cat "$SYS/hooks" 2>/dev/null)" != "$hooks0" ] ||
				     [ "$(hooked)" != "$hooks0" ] || [ ! -c /dev/uffd-wpu ]; then
					rm_bad="after a refused rmmod: loaded $(loaded && echo yes || echo no), hooks $(cat "$SYS/hooks" 2>/dev/null)/$(hooked), expected $hooks0"
				fi
			fi
			usleep 300000
		done
		[ -n "$pk" ] && kill_pk
		wait $pa $pb
		echo "stress: loop $l of $LOOPS done at $(($(date +%s) - t)) s: a$l exit $(cat "$W/a$l.rc"), b$l exit $(cat "$W/b$l.rc")"
		l=$((l + 1))
	done

	if [ $MOD = 1 ]; then
		touch "$W/stop"
		wait $TOGGLER
		# the pinner must have lived through the whole phase, or a
		# successful rmmod above proves nothing
		check pinner-alive "the pinning process exited during the phase: $(tail -n 2 "$W/pinner.out" | tr '\n' ' ')" \
			awk '/^State:/ { exit $2 == "Z" }' "/proc/$PINNER/status"
		check rmmod-refused-while-running "${rm_bad:-?}" test -z "$rm_bad" -a $rm_attempts -gt 0
		kill $PINNER 2>/dev/null
		wait $PINNER
		if rmmod_eventually 100; then
			check rmmod-after "module, hooks or device left behind" \
				sh -c "! grep -q '^uffd_wpu ' /proc/modules && [ \$(grep -c wpu_ftrace_thunk $EF) = 0 ] && [ ! -e /dev/uffd-wpu ]"
		else
			fail rmmod-after "rmmod still refused 10 s after every user exited (tracked_mms $(tracked))"
		fi
	fi

	# results of all runs
	bad=
	for f in "$W"/[ab]*.rc; do
		n=${f##*/}
		n=${n%.rc}
		rc=$(cat "$f")
		grep -E 'wpu-snapshot:|pages checked|chaos:|error' "$W/$n.out" | sed "s/^/stress: $n: /"
		[ "$rc" = 0 ] || bad="$bad $n(exit $rc)"
	done
	sum() { cat "$W"/[ab]*.out | sed -n "s/.*$1 \([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'; }
	checked=$(sum 'pages checked')
	wrong=$(sum 'wrong pages')
	faults=$(sum 'WP faults')
	refused=$(cat "$W"/[ab]*.refused | awk '{ s += $1 } END { print s + 0 }')
	echo "stress: integrity: $((LOOPS * 2)) runs in $(($(date +%s) - t)) s, pages checked $checked, wrong pages $wrong, WP faults $faults; starts refused while the feature was off: $refused; toggles $(cat "$W/toggles" 2>/dev/null || echo 0); rmmod attempts $rm_attempts; processes killed mid-snapshot $killed ($killed_uffd holding a userfaultfd)"
	check integrity-loops "runs failed:$bad (pages checked $checked, wrong pages $wrong)" \
		test -z "$bad" -a "$wrong" = 0 -a "$checked" -gt 0
fi

# ---- 2. load/unload cycles: leaks ----------------------------------------------

# MemFree is printed for the record only: page cache, per-cpu page lists and
# the buddy allocator move it by megabytes either way; the judged figures
# are the slab caches, SUnreclaim and VmallocUsed (below).
meminfo_keys='MemFree|Slab|SReclaimable|SUnreclaim|VmallocUsed|Percpu|KernelStack|PageTables'
# Free what can be freed first: page cache, dentries and inodes, and the
# per-cpu slabs of SLUB (which /proc/slabinfo counts as active objects).
measure() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	usleep 500000
	for _f in /sys/kernel/slab/*/shrink; do echo 1 >"$_f"; done 2>/dev/null
	grep -E "^($meminfo_keys):" /proc/meminfo | awk '{ print $1, $2 }' >"$W/$1.mem"
	tail -n +3 /proc/slabinfo | awk '{ print $1, $2, $5 }' | sort >"$W/$1.slab"
}
# cycle N: load, use (every 10th cycle: a small snapshot run -- a tracked
# mm, protected holes, faults; rmmod alone takes about a second under TCG),
# unload
cycle() {
	insmod "$KO" || { echo "insmod failed"; return 1; }
	if [ $(($1 % 10)) = 0 ]; then
		"$SNAP" --size 8 --rounds 1 --writers 1 --no-swap --seed "$1" >"$W/cycle.out" 2>&1 ||
			{ echo "snapshot run failed: $(tail -n 1 "$W/cycle.out")"; return 1; }
	fi
	rmmod_eventually 50 || { echo "rmmod refused"; return 1; }
}
# cycles N: N cycles
cycles() {
	_i=1
	while [ $_i -le "$1" ]; do
		_e=$(cycle $_i) || { echo "cycle $_i: $_e"; return 1; }
		_i=$((_i + 1))
	done
}
# pair A B: "key valueA valueB [rest of B]" for the keys of both files
# (busybox has no join)
pair() {
	awk 'NR == FNR { a[$1] = $2; next } ($1 in a) { $1 = $1 " " a[$1]; print }' "$1" "$2"
}
# grown A B N: caches with at least N more active objects in B than in A,
# beyond what the per-cpu slabs of SLUB can hold (/proc/slabinfo counts their
# free objects as active): one slab per CPU, twice.
grown() {
	pair "$W/$1.slab" "$W/$2.slab" |
		awk -v n="$3" -v cpus="$(nproc)" '$3 - $2 >= n + 2 * cpus * $4 { print $1, $3 - $2 }'
}

if [ $MOD = 1 ]; then
	loaded && rmmod_eventually 100
	[ -e "$KML" ] && echo clear >"$KML"
	e=$(cycle 0 && cycle 1) || fail leak-cycles "warm-up: $e"
	measure before
	t=$(date +%s)
	if e=$(cycles "$CYCLES"); then
		measure after
		echo "stress: $CYCLES load/unload cycles in $(($(date +%s) - t)) s; /proc/meminfo (kB) before -> after:"
		pair "$W/before.mem" "$W/after.mem" |
			awk '{ printf "stress:   %-14s %8d -> %8d  (%+d)\n", $1, $2, $3, $3 - $2 }'
		echo "stress:   slab caches, active objects before -> after, largest changes: $(pair "$W/before.slab" "$W/after.slab" |
			awk '{ d = $3 - $2; a = d < 0 ? -d : d; if (d) print a, $1, $2, $3, d }' | sort -rn | head -n 5 |
			awk '{ printf "%s%s %d -> %d (%+d)", (NR > 1 ? ", " : ""), $2, $3, $4, $5 }')"
		g=$(grown before after "$CYCLES")
		if [ -n "$g" ]; then
			# shellcheck disable=SC2086,SC2116 # the lines of $g on one line
			echo "stress: caches grown by >= $CYCLES objects (+ per-cpu slack): $(echo $g)"
			# confirm: a real leak grows again, as fast, in a second batch
			if e=$(cycles $((CYCLES / 2))); then
				measure again
				leak=
				for c in $(echo "$g" | awk '{ print $1 }'); do
					d=$(grown after again $((CYCLES / 2)) | awk -v c="$c" '$1 == c { print $2 }')
					[ -n "$d" ] && leak="$leak $c(+$d)"
				done
				echo "stress: after $((CYCLES / 2)) more cycles:$leak"
				check leak-slab "caches grew by >= 1 object per cycle in two batches ($CYCLES, then $((CYCLES / 2)) cycles):$leak" test -z "$leak"
			else
				fail leak-cycles "$e"
			fi
		else
			echo "stress: no slab cache grew by $CYCLES objects (+ per-cpu slack) or more"
			pass leak-slab
		fi
		# SUnreclaim: more than 4 KiB per cycle is a leak whatever the cache
		d=$(pair "$W/before.mem" "$W/after.mem" | awk '$1 == "SUnreclaim:" { print $3 - $2 }')
		check leak-sunreclaim "SUnreclaim grew by $d kB over $CYCLES cycles" test "$d" -lt $((CYCLES * 4))
		d=$(pair "$W/before.mem" "$W/after.mem" | awk '$1 == "VmallocUsed:" { print $3 - $2 }')
		check leak-vmalloc "VmallocUsed grew by $d kB over $CYCLES cycles" test "$d" -lt $((CYCLES * 4))
		pass leak-cycles
	else
		fail leak-cycles "$e"
	fi
	if [ -e "$KML" ]; then
		# kmemleak (debug kernel): module loaded, so its frames have names
		insmod "$KO"
		sleep 6
		echo scan >"$KML"
		echo scan >"$KML"
		cat "$KML" >"$W/kmemleak"
		n=$(grep -c 'unreferenced object' "$W/kmemleak")
		ours=$(grep -c -E 'uffd_wpu|\] 0xffffffff[a-f]' "$W/kmemleak")
		echo "stress: kmemleak: $n unreferenced objects reported, $ours frames in uffd_wpu or unloaded module code"
		head -n 60 "$W/kmemleak" | sed 's/^/stress: kmemleak: /'
		check leak-kmemleak "kmemleak reports objects allocated by uffd_wpu" test "$ours" = 0
		rmmod_eventually 50
	fi
fi

echo "stress: $MODE done in $(($(date +%s) - T0)) s"
t_exit
