# shellcheck shell=dash
# A load that fails after some hooks went live must leave nothing behind:
# no task in module code, no pagemap file with the module's operations.
# A test-only module (tests/kmod/ipmodify_block.c) takes userfaultfd_ioctl,
# the last hook uffd_wpu attaches, with an IPMODIFY ftrace_ops the way a
# livepatch would, so every insmod fails there with EBUSY -- while one
# process keeps opening, reading and PAGEMAP_SCAN-ing /proc/self/pagemap and
# others fork with UFFD_FEATURE_EVENT_FORK (monitors slow to read).  A file
# or a fork caught by the failed load would run freed module code (Oops).
# Leaves the module unloaded.
T_PROG=loadfail
# shellcheck source=lib.sh
. /tests/guest/lib.sh

# Everything here, insmod included, on one CPU.  QEMU's multi-threaded TCG
# can keep running its old translation of a function that ftrace on the
# other vCPU has just patched: a task spinning through pagemap_open() there
# then meets an int3 that is no longer in memory, and kprobes' int3 handler
# rewinds it to the same stale int3 for ever (soft lockup, seen on 5.10; a
# real CPU is serialised by text_poke's sync_core IPIs).  On one CPU the
# races this test is about still happen: tasks asleep in a wrapper when the
# load fails, pagemap files opened while it goes on.
taskset -p 1 $$ >/dev/null

KO=/uffd_wpu.ko
BLOCK=/modules/ipmodify_block.ko
HELPER=/tests/bin/wp_unload
REL=$(uname -r)
TARGET=userfaultfd_ioctl
ROUNDS=20

if [ "$WPU_MODE" = refuse ]; then
	skip all "the module refuses to load on this kernel before any hook"
	t_exit
fi
for f in "$KO" "$BLOCK" "$HELPER"; do
	if [ ! -f "$f" ]; then
		fail all "no $f in the initramfs"
		t_exit
	fi
done
loaded uffd_wpu && rmmod uffd_wpu

if ! insmod "$BLOCK" func=$TARGET; then
	fail blocker "insmod $BLOCK func=$TARGET failed"
	t_exit
fi
pass blocker

rm -f /tmp/wp_unload.stop
"$HELPER" pagemap 600 &
pm_pid=$!
fork_pids=
for d in 20 300 1500; do
	"$HELPER" forker 600 $d &
	fork_pids="$fork_pids $!"
done

expect="uffd_wpu: cannot attach to $TARGET on $REL: kernel.ftrace_enabled is 0 or another module redirects it; refusing to load"
bad=
i=0
while [ $i -lt $ROUNDS ] && [ -z "$bad" ]; do
	i=$((i + 1))
	m=$(mark)
	if insmod "$KO" 2>/dev/null; then
		bad="insmod $i succeeded"
		rmmod uffd_wpu
	elif loaded uffd_wpu; then
		bad="insmod $i: module listed after a failed load"
	elif [ "$(hooked)" != 0 ]; then
		bad="insmod $i: hooks left in $EF"
	elif [ "$(since "$m")" != "$expect" ]; then
		bad="insmod $i: dmesg said [$(since "$m")]"
	fi
done
check refused "${bad:-?}" test -z "$bad"

touch /tmp/wp_unload.stop
check pagemap-users "the pagemap helper saw an unexpected error" wait $pm_pid
ok=1
for p in $fork_pids; do
	wait "$p" || ok=0
done
check fork-users "a forker failed" test $ok = 1
rm -f /tmp/wp_unload.stop

rmmod ipmodify_block || fail blocker-unload "rmmod ipmodify_block failed"

# Nothing is stuck: the module loads, works and unloads.
if insmod "$KO"; then
	check works "WP_UNPOPULATED check failed after the failed loads" "$HELPER" wpcheck
	check unload "rmmod uffd_wpu failed" rmmod uffd_wpu
else
	fail load "insmod failed once the blocker was gone"
fi

t_exit
