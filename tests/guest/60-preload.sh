# shellcheck shell=dash
# The LD_PRELOAD shim (lib/preload.c) and the uffd-wpu CLI, dynamically
# linked: tests/run packs the host's loader and libc, /lib/libuffd-wpu.so.1,
# /lib/libuffd-wpu-preload.so, /usr/bin/uffd-wpu and /tests/dyn/*.
# /tests/dyn/preload_probe is an unmodified program: raw UFFDIO_API asking
# for WP_UNPOPULATED, then a write into a protected hole (tests/dyn/).
#
# Module kernels: first without the module (the shim must stay out of the
# way), then with it (/init loads it only after the shell tests, so this
# test loads it and unloads it again) and transparent=0: without the shim
# UFFDIO_API fails with EINVAL; with it, it succeeds (also in a fork child,
# through the interposed ioctl) and the write faults.  Native kernels: both
# succeed.  Restores enabled/transparent.
T_PROG=preload
# shellcheck source=lib.sh
. /tests/guest/lib.sh

SHIM=/lib/libuffd-wpu-preload.so
PROBE=/tests/dyn/preload_probe
CLI=/usr/bin/uffd-wpu
SYS=/sys/kernel/uffd_wpu
W=/tmp/preload
rm -rf "$W"
mkdir -p "$W"

if [ ! -x "$PROBE" ] || [ ! -f "$SHIM" ] || [ ! -x "$CLI" ]; then
	skip all "no $PROBE, $SHIM or $CLI in the initramfs (build/libuffd-wpu or build/dyn-* failed on the host?)"
	t_exit
fi

loaded() { grep -q '^uffd_wpu ' /proc/modules; }

# run NAME CMD...: run CMD (30 s limit), output to $W/NAME.out and the
# console; status in $rc
run() {
	_n=$1
	shift
	timeout 30 "$@" >"$W/$_n.out" 2>&1 </dev/null
	rc=$?
	echo "preload: $_n: $* -> status $rc"
	sed 's/^/  | /' "$W/$_n.out"
}
has() { grep -q "$2" "$W/$1.out"; }
result_of() { grep '^RESULT ' "$W/$1.out" | tail -n 1 | cut -d' ' -f2-; }

# expect_probe NAME RC "RESULT..." CMD...: run, check status and RESULT line
# How a kernel without the feature refuses bit 13: EINVAL, or (6.0.y,
# which ignores bits it lacks; fact recorded at boot) success without it.
REFUSED=api=EINVAL
grep -qx 'api_ignores_unknown=1' /tmp/wpu-kernel-facts 2>/dev/null && REFUSED=api=ignored

expect_probe() {
	_n=$1 _rc=$2 _res=$3
	shift 3
	run "$_n" "$@"
	_got=$(result_of "$_n")
	if [ "$rc" = "$_rc" ] && [ "$_got" = "$_res" ]; then
		pass "$_n"
	else
		fail "$_n" "status $rc, '$_got'; expected status $_rc, '$_res'"
	fi
}

# --- the dynamic world works at all -------------------------------------
run dyn-runs "$PROBE" --errors
check dyn-runs "status $rc, expected 0 (loader, libc or the program broken: see above)" \
	test "$rc" = 0
run cli-version "$CLI" --version
check cli-version "status $rc" sh -c "[ $rc = 0 ] && grep -q '^uffd-wpu [0-9]' $W/cli-version.out"
run cli-usage "$CLI" frobnicate
check cli-usage "status $rc, expected 2" test "$rc" = 2

# --- native kernels: no module, nothing to do ----------------------------
if [ "$WPU_MODE" = refuse ]; then
	run cli-status-native "$CLI" status
	check cli-status-native "status $rc, or no 'native'" \
		sh -c "[ $rc = 0 ] && grep -q '^WP_UNPOPULATED: *native' $W/cli-status-native.out"
	expect_probe native-plain 0 "api=ok hole=wp" "$PROBE"
	expect_probe native-shim 0 "api=ok hole=wp" env LD_PRELOAD=$SHIM \
		UFFD_WPU_PRELOAD_DEBUG=1 "$PROBE"
	check native-shim-quiet "the shim did something on a native kernel" \
		has native-shim 'load: no uffd_wpu module, nothing to do'
	expect_probe native-shim-fork 0 "api=ok hole=wp" env LD_PRELOAD=$SHIM "$PROBE" --fork
	expect_probe native-shim-errors 0 "errors=ok" env LD_PRELOAD=$SHIM "$PROBE" --errors
	run cli-enable-native "$CLI" enable
	check cli-enable-native "status $rc, expected 1 with 'not loaded'" \
		sh -c "[ $rc = 1 ] && grep -q 'not loaded' $W/cli-enable-native.out"
	t_exit
fi

# --- module kernels, module not loaded yet ------------------------------
loaded_here=0
if ! loaded; then
	run cli-status-no-module "$CLI" status
	check cli-status-no-module "status $rc, expected 3 with 'not loaded'" \
		sh -c "[ $rc = 3 ] && grep -q 'module is not loaded' $W/cli-status-no-module.out"
	run cli-enable-no-module "$CLI" enable
	check cli-enable-no-module "status $rc, expected 1 with 'not loaded'" \
		sh -c "[ $rc = 1 ] && grep -q 'not loaded' $W/cli-enable-no-module.out"
	expect_probe no-module-plain 1 "$REFUSED" "$PROBE"
	expect_probe no-module-shim 1 "$REFUSED" env LD_PRELOAD=$SHIM \
		UFFD_WPU_PRELOAD_DEBUG=1 "$PROBE"
	check no-module-shim-quiet "the shim did something without the module" \
		has no-module-shim 'load: no uffd_wpu module, nothing to do'
	expect_probe no-module-shim-errors 0 "errors=ok" env LD_PRELOAD=$SHIM "$PROBE" --errors

	if [ ! -f /uffd_wpu.ko ]; then
		skip module "no /uffd_wpu.ko (module build failed)"
		t_exit
	elif out=$(insmod /uffd_wpu.ko 2>&1); then
		loaded_here=1
	else
		fail insmod "insmod /uffd_wpu.ko failed: $out"
		t_exit
	fi
fi

# --- module loaded ------------------------------------------------------
saved_en=$(cat $SYS/enabled)
saved_tr=$(cat $SYS/transparent)
backend=$(cat $SYS/backend)

run cli-status-module "$CLI" status
check cli-status-module "status $rc, or not 'emulated' with backend $backend" \
	sh -c "[ $rc = 0 ] && grep -q '^WP_UNPOPULATED: *emulated' $W/cli-status-module.out &&
	       grep -q '^backend: *$backend' $W/cli-status-module.out &&
	       grep -q '^hooks attached: *$(cat $SYS/hooks)' $W/cli-status-module.out &&
	       grep -q '^  api_granted ' $W/cli-status-module.out"
run cli-status-quiet "$CLI" status -q
check cli-status-quiet "status $rc or output with -q" \
	sh -c "[ $rc = 0 ] && [ ! -s $W/cli-status-quiet.out ]"

run cli-transparent-off "$CLI" transparent off
check cli-transparent-off "status $rc, sysfs transparent $(cat $SYS/transparent)" \
	test "$rc" = 0 -a "$(cat $SYS/transparent)" = 0
run cli-status-t0 "$CLI" status
check cli-status-t0 "status $rc, or transparent not 'no'" \
	sh -c "[ $rc = 0 ] && grep -q '^transparent: *no' $W/cli-status-t0.out"

expect_probe t0-plain-einval 1 "$REFUSED" "$PROBE"
expect_probe t0-shim 0 "api=ok hole=wp" env LD_PRELOAD=$SHIM UFFD_WPU_PRELOAD_DEBUG=1 "$PROBE"
check t0-shim-opted-in "the shim did not opt in at load" has t0-shim 'load: opted in'
expect_probe t0-shim-fork 0 "api=ok hole=wp" env LD_PRELOAD=$SHIM UFFD_WPU_PRELOAD_DEBUG=1 \
	"$PROBE" --fork
check t0-shim-fork-interposed "the fork child was not opted in by the interposed ioctl" \
	has t0-shim-fork 'UFFDIO_API asks for WP_UNPOPULATED: opted in'
expect_probe t0-shim-errors 0 "errors=ok" env LD_PRELOAD=$SHIM "$PROBE" --errors
expect_probe t0-plain-after-shim 1 "$REFUSED" "$PROBE"

run cli-disable "$CLI" disable
check cli-disable "status $rc, sysfs enabled $(cat $SYS/enabled)" \
	test "$rc" = 0 -a "$(cat $SYS/enabled)" = 0
run cli-status-disabled "$CLI" status
check cli-status-disabled "status $rc, expected 3 with 'disabled'" \
	sh -c "[ $rc = 3 ] && grep -q 'disabled' $W/cli-status-disabled.out"
expect_probe disabled-shim 1 "$REFUSED" env LD_PRELOAD=$SHIM "$PROBE"
run cli-enable "$CLI" enable
check cli-enable "status $rc, sysfs enabled $(cat $SYS/enabled)" \
	test "$rc" = 0 -a "$(cat $SYS/enabled)" = 1
run cli-transparent-on "$CLI" transparent on
check cli-transparent-on "status $rc, sysfs transparent $(cat $SYS/transparent)" \
	test "$rc" = 0 -a "$(cat $SYS/transparent)" = 1
expect_probe t1-plain 0 "api=ok hole=wp" "$PROBE"

echo "$saved_en" >$SYS/enabled
echo "$saved_tr" >$SYS/transparent

# ---- leave the module as we found it ----------------------------------
if [ $loaded_here = 1 ]; then
	i=0
	until rmmod uffd_wpu 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 10 ]; then
			fail rmmod "rmmod uffd_wpu still fails after 5 s: $(rmmod uffd_wpu 2>&1)"
			break
		fi
		sleep 0.5
	done
fi
t_exit
