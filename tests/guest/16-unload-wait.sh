# shellcheck shell=dash
# rmmod returns (refused or done) while a task sleeps for user space inside
# a hooked function: a fork with UFFD_FEATURE_EVENT_FORK whose monitor has
# not read the fork event, and a UFFDIO_API whose argument lies in a page
# of another userfaultfd nobody serves.  Neither process uses the feature.
# Once the monitor runs, the call completes and rmmod works.
# Leaves the module unloaded.
T_PROG=unload-wait
# shellcheck source=lib.sh
. /tests/guest/lib.sh

KO=/uffd_wpu.ko
HELPER=/tests/bin/wp_unload
# A liveness bound, not a timing assertion: rmmod takes well under a second.
LIMIT=60

# Wait until the main thread of $1 sleeps in a userfaultfd wait (5.10's
# wchan is 0 with the ORC unwinder: its stack file tells).
parked() {
	_i=0
	while [ $_i -lt 600 ]; do
		cat "/proc/$1/wchan" "/proc/$1/stack" 2>/dev/null |
			grep -q userfault && return 0
		[ -d "/proc/$1" ] || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Wait up to LIMIT seconds for pid $1 to exit; 1 if it is still running.
ended() {
	_i=0
	while [ -d "/proc/$1" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; do
		[ $_i -ge $((LIMIT * 10)) ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 0
}

if [ "$WPU_MODE" = refuse ]; then
	skip all "the module refuses to load on this kernel"
	t_exit
fi
for f in "$KO" "$HELPER"; do
	if [ ! -f "$f" ]; then
		fail all "no $f in the initramfs"
		t_exit
	fi
done

for what in fork api; do
	loaded || insmod "$KO" || { fail "$what" "insmod failed"; continue; }
	"$HELPER" park $what &
	hp=$!
	if ! parked $hp; then
		fail "$what" "the helper never slept in the $what call"
		kill -USR1 $hp
		wait $hp
		continue
	fi
	rmmod uffd_wpu 2>/tmp/rmmod.err &
	rp=$!
	if ended $rp; then
		wait $rp
		rc=$?
		if [ $rc = 0 ]; then
			pass "$what-rmmod-returns"	# unloaded
		elif loaded; then
			pass "$what-rmmod-returns"	# refused: in use
			echo "unload-wait: $what: $(cat /tmp/rmmod.err)"
		else
			fail "$what-rmmod-returns" "rmmod failed ($rc) but the module is gone"
		fi
	else
		fail "$what-rmmod-returns" "rmmod still waiting after ${LIMIT}s while a task sleeps in $what"
	fi
	kill -USR1 $hp
	check "$what-completes" "the parked $what call did not complete right" wait $hp
	# A hung rmmod finishes now; wait for it either way.
	wait $rp 2>/dev/null
	if loaded; then
		check "$what-rmmod-after" "rmmod still refused 10 s after the monitor ran" \
			rmmod_eventually 100
	fi
done

t_exit
