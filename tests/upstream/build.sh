#!/bin/bash
# Build upstream's own userfaultfd selftests from Debian's linux-source-6.12,
# as static binaries the guest initramfs can run on every kernel.
#
#   tests/upstream/build.sh OUTDIR
#
# Installs into OUTDIR/:
#   uffd-unit-tests         tools/testing/selftests/mm/uffd-unit-tests.c
#   uffd-stress             tools/testing/selftests/mm/uffd-stress.c
#   pagemap_ioctl           tools/testing/selftests/mm/pagemap_ioctl.c
#   uffd-unit-tests-nouser  the same two, built for 5.10: UFFD_USER_MODE_ONLY
#   uffd-stress-nouser      (5.11+) defined as 0, see "5.10 variant" below
#   pagemap_ioctl-noexec    pagemap_ioctl for kernels before 6.3, see below
#   VERSION                 the linux-source-6.12 version they come from
#
# Nothing of upstream's code is kept in this repository: the sources are
# extracted at build time from linux-source-6.12_*.deb (taken from
# $CACHE/debs, `apt-get download linux-source-6.12` if none is there).
#
# Cached and idempotent: everything lives in
# ${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}/upstream-<source version>/:
#   src/       the subtrees we need (see SUBTREES), tree layout kept, because
#              uffd-unit-tests.c includes ../../../../mm/gup_test.h
#   uapi/      6.12 uapi headers (`make headers`, then the *.h files of
#              usr/include copied like `make headers_install` does: its rsync
#              is not a dependency of ours).  bookworm's linux-libc-dev is 6.1
#              and lacks UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_MOVE,
#              struct pm_scan_arg, ...
#   bin/       the binaries;  build.log;  stamp (source version + sha256 of
#              this script: editing the recipe rebuilds)
# A second run with a valid stamp only copies bin/ to OUTDIR.
#
# Recipe (docs: /work/shared/design/kernel-map.md §6), like the selftests'
# own Makefile (CFLAGS = -Wall -O2 -I top -isystem usr/include
# -isystem tools/include/uapi, -U_FORTIFY_SOURCE, -no-pie) plus -static.
#
# 5.10 variant: 5.10's userfaultfd(2) rejects UFFD_USER_MODE_ONLY, which the
# tests OR into every open (uffd-common.h: UFFD_FLAGS; uffd-common.c:
# uffd_get_features opens with UFFD_USER_MODE_ONLY then falls back to 0).
# The -nouser binaries are compiled with `-include nouser.h`, a header of
# ours that includes <linux/userfaultfd.h> (include-guarded) and redefines
# UFFD_USER_MODE_ONLY as 0; no source file is changed.
#
# Before-6.3 variant of pagemap_ioctl: it creates its memfds with
# MFD_NOEXEC_SEAL (6.3+), which older memfd_create(2) rejects with EINVAL
# and the test bails out half-way ("uffd-test creation failed 22").  The flag
# only seals the exec bits and has nothing to do with what is tested; the
# -noexec binary is compiled with `-include noexec.h`, which defines it as 0.
#
# Environment: UFFD_WPU_CACHE, CC (default gcc-12).
set -euo pipefail

die() { echo "upstream/build.sh: $*" >&2; exit 2; }
log() { echo "upstream/build.sh: $*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUTDIR=$1
SELF=$(readlink -f "$0")
CACHE=${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}
DEBS=$CACHE/debs
CC=${CC:-gcc-12}
command -v "$CC" >/dev/null || die "$CC not found (apt-get install gcc-12)"
# Called from make (tests/run unsets these too): no outer jobserver/flags.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

TOP=linux-source-6.12
SUBTREES=(
	# make headers
	Makefile scripts include/uapi 'arch/x86/Makefile*'
	arch/x86/include/uapi arch/x86/entry/syscalls arch/x86/tools
	# the tests
	'tools/testing/selftests/kselftest*' tools/testing/selftests/mm
	tools/include mm/gup_test.h
)
TESTS=(uffd-unit-tests uffd-stress pagemap_ioctl)
NOUSER=(uffd-unit-tests uffd-stress)
NOEXEC=(pagemap_ioctl)

now() { echo "${EPOCHREALTIME/./}"; }
T0=$(now)
took() { local d=$(($(now) - T0)); printf '%d.%d s' $((d / 1000000)) $((d / 100000 % 10)); }

# ---- the source package
mkdir -p "$CACHE"
deb=$(ls -1 "$DEBS"/linux-source-6.12_*.deb 2>/dev/null | sort -V | tail -n 1) || true
if [ -z "$deb" ]; then
	log "no linux-source-6.12 in $DEBS: apt-get download linux-source-6.12"
	mkdir -p "$DEBS"
	if ! (cd "$DEBS" && apt-get download -q linux-source-6.12); then
		apt-get update -q || die "apt-get update failed"
		(cd "$DEBS" && apt-get download -q linux-source-6.12) ||
			die "cannot download linux-source-6.12"
	fi
	deb=$(ls -1 "$DEBS"/linux-source-6.12_*.deb | sort -V | tail -n 1)
fi
ver=$(dpkg-deb -f "$deb" Version) || die "$deb: not a deb"
case $ver in 6.12.*) ;; *) die "$deb: version $ver is not 6.12.*" ;; esac

C=$CACHE/upstream-$ver
key="$ver $(sha256sum "$SELF" | cut -d' ' -f1)"

install_out() {
	mkdir -p "$OUTDIR"
	cp "$C"/bin/* "$OUTDIR/"
	echo "$ver" >"$OUTDIR/VERSION"
	log "upstream selftests of linux-source-6.12 $ver ($1, $(took)) in $OUTDIR:"
	(cd "$OUTDIR" && for f in "${TESTS[@]}" "${NOUSER[@]/%/-nouser}" \
		"${NOEXEC[@]/%/-noexec}"; do
		if LC_ALL=C readelf -l "$f" | grep -q 'program interpreter'; then
			die "$f: dynamically linked"
		fi
		printf '    %-24s %8d bytes, static\n' "$f" "$(stat -c %s "$f")"
	done)
}

exec 8>"$CACHE/.upstream.lock"
flock 8
if [ "$(cat "$C/stamp" 2>/dev/null)" = "$key" ]; then
	install_out cached
	exit 0
fi

# ---- cold build, in a scratch dir renamed into place at the end
W=$C.tmp
rm -rf "$W"
mkdir -p "$W/src" "$W/uapi" "$W/bin"
L=$W/build.log
log "building from ${deb##*/} into $C (log: $C/build.log)"
{
	echo "== extract $TOP.tar.xz: ${SUBTREES[*]}"
	# The .tar.xz has many xz blocks: xz -T0 decompresses them in parallel.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$TOP.tar.xz" |
		xz -T0 -dc |
		tar -x -C "$W/src" --strip-components=1 --wildcards \
			"${SUBTREES[@]/#/$TOP/}"
	echo "== extracted in $(took)"

	echo "== make headers (6.12 uapi)"
	make -C "$W/src" -s -j"$(nproc)" ARCH=x86 headers
	# = make headers_install INSTALL_HDR_PATH=$W/uapi, without rsync
	(cd "$W/src/usr" && find include -name '*.h' -print0 |
		tar --null -T - -cf -) | tar -xf - -C "$W/uapi"
	grep -q UFFD_FEATURE_WP_UNPOPULATED "$W/uapi/include/linux/userfaultfd.h"
	echo "== headers done in $(took)"

	printf '%s\n' '/* uffd-wpu: 5.10 variant, see tests/upstream/build.sh */' \
		'#include <linux/userfaultfd.h>' '#undef UFFD_USER_MODE_ONLY' \
		'#define UFFD_USER_MODE_ONLY 0' >"$W/nouser.h"
	printf '%s\n' '/* uffd-wpu: before-6.3 variant, see tests/upstream/build.sh */' \
		'#include <linux/memfd.h>' '#undef MFD_NOEXEC_SEAL' \
		'#define MFD_NOEXEC_SEAL 0' >"$W/noexec.h"
} >"$L" 2>&1 || { cat "$L" >&2; die "extract/headers failed (log above)"; }

MM=$W/src/tools/testing/selftests/mm
CFLAGS=(-Wall -O2 -static -no-pie -U_FORTIFY_SOURCE -I "$W/src"
	-isystem "$W/uapi/include" -isystem "$W/src/tools/include/uapi")
LDLIBS=(-lrt -lpthread -lm)
srcs() {
	case $1 in
	uffd-unit-tests|uffd-stress) echo "$1.c uffd-common.c vm_util.c thp_settings.c" ;;
	pagemap_ioctl) echo "$1.c vm_util.c thp_settings.c" ;;
	esac
}
build() { # NAME OUT [extra cflags]
	local name=$1 out=$2
	shift 2
	echo "== $CC ... -o bin/$out $(srcs "$name")"
	# shellcheck disable=SC2046
	(cd "$MM" && "$CC" "${CFLAGS[@]}" "$@" -o "$W/bin/$out" $(srcs "$name") \
		"${LDLIBS[@]}")
}
for t in "${TESTS[@]}"; do
	build "$t" "$t" >>"$L" 2>&1 || { tail -n 40 "$L" >&2; die "$t: build failed"; }
done
for t in "${NOUSER[@]}"; do
	build "$t" "$t-nouser" -include "$W/nouser.h" >>"$L" 2>&1 ||
		{ tail -n 40 "$L" >&2; die "$t-nouser: build failed"; }
done
for t in "${NOEXEC[@]}"; do
	build "$t" "$t-noexec" -include "$W/noexec.h" >>"$L" 2>&1 ||
		{ tail -n 40 "$L" >&2; die "$t-noexec: build failed"; }
done
echo "== built in $(took)" >>"$L"

echo "$key" >"$W/stamp"
rm -rf "$C"
mv "$W" "$C"
install_out "cold build"
