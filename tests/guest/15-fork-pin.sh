# shellcheck shell=dash
# A fork child that may hold protected holes pins the module after its
# parent is gone: rmmod must fail until the child exits, and the child's
# next access must still behave as on native 6.4+ (wp_fork_track --hold,
# case fork-stale).  Then a fork of an untracked process, blocked in the
# kernel, must not keep rmmod waiting.  Leaves the module unloaded, as
# 10-module.sh does.
T_PROG=fork-pin
# shellcheck source=lib.sh
. /tests/guest/lib.sh

KO=/uffd_wpu.ko
PROG=/tests/bin/wp_fork_track
HELD=/tmp/wp_fork_track.held

loaded() { grep -q '^uffd_wpu ' /proc/modules; }

if [ "$WPU_MODE" != load ] || [ ! -f "$KO" ] || [ ! -x "$PROG" ]; then
	skip all "needs the module ($WPU_MODE mode) and $PROG"
	t_exit
fi
if ! loaded && ! insmod "$KO"; then
	fail load "insmod failed"
	t_exit
fi

rm -f "$HELD"
"$PROG" --hold &
pid=$!
i=0
while [ ! -f "$HELD" ] && [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -f "$HELD" ]; then
	fail hold "wp_fork_track --hold did not get to the point of holding"
	kill -9 $pid 2>/dev/null
	wait $pid
	t_exit
fi

if rmmod uffd_wpu 2>/dev/null; then
	fail rmmod-refused "rmmod succeeded while a fork child may hold protected holes"
else
	check rmmod-refused "module gone after a refused rmmod" loaded
fi
kill -USR1 $pid
wait $pid
check hold-run "wp_fork_track --hold failed" [ $? -eq 0 ]

# Nothing may stay pinned: records go after an SRCU grace period.
i=0
until rmmod uffd_wpu 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.1
done
check rmmod-after "rmmod still fails after every process exited" \
	sh -c '! grep -q "^uffd_wpu " /proc/modules'

# An EVENT_FORK fork of a process that nothing tracks sleeps in the stock
# dup_userfaultfd_complete() until its event is read.  It must not sleep
# inside the module's wrapper: unloading would wait for it, uninterruptibly.
if ! insmod "$KO"; then
	fail fork-block-load "insmod failed"
	t_exit
fi
"$PROG" --fork-block &
bp=$!
i=0
until grep -q -e userfault -e dup_ /proc/$bp/wchan 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.1
done
echo "fork-block: wchan $(cat /proc/$bp/wchan 2>/dev/null)"
rmmod uffd_wpu 2>/dev/null &
rp=$!
i=0
while kill -0 $rp 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $rp 2>/dev/null; then
	fail unload-during-fork "rmmod still waiting after 60 s for a fork of an untracked process"
	kill -9 $bp
	wait $bp
	wait $rp
else
	wait $rp
	check unload-during-fork "rmmod failed during a fork of an untracked process" \
		[ $? -eq 0 ]
	kill -9 $bp
	wait $bp
fi
t_exit
