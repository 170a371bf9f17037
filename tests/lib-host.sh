# shellcheck shell=bash
# Host-side helpers shared by tests/setup-host.sh, tests/kbuild-dir and
# tests/run.  Source it from bash; it only defines variables and functions.

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # for the scripts that source this file
REPO_DIR=$(dirname "$TESTS_DIR")
CACHE=${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}
KERNELS_CONF=${UFFD_WPU_KERNELS_CONF:-$TESTS_DIR/kernels.conf}

die() { echo "${0##*/}: $*" >&2; exit 2; }

# Names of all kernels, in kernels.conf order.
kernel_names() {
	awk '$1 !~ /^#/ && NF { print $1 }' "$KERNELS_CONF"
}

# kernel_lookup NAME: set K_NAME K_ABI K_SUITE K_MODE K_VER K_ROOT.
# K_VER is the ABI without its flavour (6.12.117+deb12-amd64 -> 6.12.117+deb12),
# K_ROOT the private root the headers of an image-dependent headers package
# are unpacked into.  Returns 1 for an unknown name.
kernel_lookup() {
	local line var
	line=$(awk -v n="$1" '$1 == n && NF >= 4 { print $1, $2, $3, $4; exit }' \
		"$KERNELS_CONF")
	[ -n "$line" ] || return 1
	# shellcheck disable=SC2034 # K_SUITE: for setup-host.sh
	read -r K_NAME K_ABI K_SUITE K_MODE <<<"$line"
	var=UFFD_WPU_KVER_${K_NAME//[^A-Za-z0-9]/_}
	K_ABI=${!var:-$K_ABI}
	K_VER=${K_ABI%-*}
	K_ROOT=$CACHE/root-$K_VER
	case $K_MODE in
	load|refuse) ;;
	*) die "$KERNELS_CONF: $K_NAME: mode must be load or refuse, not '$K_MODE'" ;;
	esac
}

# True if the private root of the current kernel is complete: its top
# Makefile includes the common Makefile inside the root.
private_root_ok() {
	local mk=$K_ROOT/usr/src/linux-headers-$K_ABI/Makefile inc
	[ -f "$mk" ] || return 1
	inc=$(sed -n 's/^include //p' "$mk")
	case $inc in "$K_ROOT"/*) [ -f "$inc" ] ;; *) return 1 ;; esac
}

# Print the kernel build dir of the current kernel (after kernel_lookup).
kbuild_dir() {
	if [ -f "/lib/modules/$K_ABI/build/Makefile" ]; then
		echo "/lib/modules/$K_ABI/build"
	elif private_root_ok; then
		echo "$K_ROOT/usr/src/linux-headers-$K_ABI"
	else
		return 1
	fi
}

# Per-kernel boot files extracted from linux-image-<ABI>, or built by
# tests/debug-kernel/build.sh ($CACHE/NAME) or tests/matrix/build.sh
# ($CACHE/matrix/NAME).
kernel_files_dir() {
	if [ ! -d "$CACHE/$K_NAME" ] && [ -d "$CACHE/matrix/$K_NAME" ]; then
		echo "$CACHE/matrix/$K_NAME"
	else
		echo "$CACHE/$K_NAME"
	fi
}

# ---- time, logs and result counting (tests/run, tests/bench/run,
# tests/packaging.sh)
now() { echo "${EPOCHREALTIME/./}"; }	# microseconds
secs() { printf '%d.%d s' $(($1 / 1000000)) $(($1 / 100000 % 10)); }

# Print a log indented, at most its last N lines (default 40).
show_log() { tail -n "${2:-40}" "$1" | sed 's/^/    | /'; }

NPASS=0 NFAIL=0 NSKIP=0
FAILS=()
# result TAG "PASS|FAIL|SKIP what[: why]": count it, print "[TAG] PASS ...".
result() {
	local line="[$1] $2"
	case $2 in
	PASS*) NPASS=$((NPASS + 1)) ;;
	FAIL*) NFAIL=$((NFAIL + 1)); FAILS+=("$line") ;;
	SKIP*) NSKIP=$((NSKIP + 1)) ;;
	esac
	echo "$line"
}

# The end of a run: the failures, then "N passed, N failed, N skipped";
# status 0 iff nothing failed.
result_summary() {
	if [ "$NFAIL" -gt 0 ]; then
		echo "== failures:"
		printf '%s\n' "${FAILS[@]}"
	fi
	echo "$NPASS passed, $NFAIL failed, $NSKIP skipped"
	[ "$NFAIL" -eq 0 ]
}
