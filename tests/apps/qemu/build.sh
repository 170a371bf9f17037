#!/bin/bash
# Build QEMU from Debian 12's source package twice, as it is and with
# patches/qemu/*.patch, and make the overlay tests/guest/8x-qemu-snapshot.sh
# runs in the guest (tests/apps/README: the convention of this directory).
#
#   tests/apps/qemu/build.sh        -> last line of stdout: the overlay dir
#
# Only what a background snapshot of an inner VM without CPU emulation needs:
# qemu-system-x86_64, no TCG (the inner VM runs on the qtest accelerator, the
# guest has no /dev/kvm), no devices but the none machine, no UI, tools, docs
# or firmware (-machine none -nodefaults needs no ROM, keymap or pc-bios file).
#
# Source: `apt-get source --download-only qemu` with a private apt
# configuration (deb-src lines for bookworm, bookworm-updates and
# bookworm-security under $CACHE/apt; /etc/apt is not touched), unpacked with
# dpkg-source -x, which applies Debian's own patches.  Set QEMU_SRC_VERSION to
# take another version than the newest of those suites.
#
# Build dependencies (installed with apt-get if missing): see DEPS below.
#
# Cache, under ${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}/apps/:
#   apt/                              private apt lists and sources.list
#   qemu-src-<version>/               the .dsc, .orig.tar.xz, .debian.tar.xz
#   qemu-<version>-plain/             src/, build/, build.log, stamp
#   qemu-<version>-<patchhash>/       the same with the patches, and overlay/
# <patchhash> is the sha256 (12 hex digits) of the patches and of RECIPE; a
# build dir whose stamp differs is rebuilt from scratch, a valid one is only
# brought up to date by ninja (nothing to do).
#
# Overlay (copied into the root of the guest's initramfs by tests/run
# --overlay): /opt/qemu/{plain,wpu}/qemu-system-x86_64, /opt/qemu/qsnap (static,
# tests/apps/qemu/qsnap.c), /opt/qemu/VERSION, and the shared libraries the two
# binaries need per ldd, at the host's paths (the guest has the host's loader
# and libc already: tests/run's pack_userspace).
#
# Environment: UFFD_WPU_CACHE, QEMU_SRC_VERSION, UFFD_WPU_JOBS (default 2).
set -euo pipefail

die() { echo "qemu/build.sh: $*" >&2; exit 2; }
log() { echo "qemu/build.sh: $*" >&2; }

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
CACHE=${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}/apps
JOBS=${UFFD_WPU_JOBS:-2}
PATCHES=("$TOP"/patches/qemu/*.patch)
[ -f "${PATCHES[0]}" ] || die "no patches/qemu/*.patch"

DEPS="dpkg-dev xz-utils gcc libc6-dev pkg-config python3 meson ninja-build
      libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev"

# configure arguments: part of the cache key
RECIPE="--target-list=x86_64-softmmu --without-default-features
 --without-default-devices --enable-kvm --disable-tcg --enable-fdt=system
 --disable-docs --disable-tools --disable-debug-info --disable-werror
 --disable-install-blobs"

install_deps() {
	local p missing=()
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install failed"
}

# -> SRCDIR: the directory with the .dsc
fetch_source() {
	local a=$CACHE/apt dsc dl ver
	local opts=(-o Dir::Etc::sourcelist="$a/sources.list"
		-o Dir::Etc::sourceparts=/nonexistent
		-o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache"
		-o APT::Sandbox::User=root)
	if [ -n "${QEMU_SRC_VERSION:-}" ]; then
		dsc=$(ls "$CACHE/qemu-src-${QEMU_SRC_VERSION#*:}"/qemu_*.dsc 2>/dev/null | head -n1 || true)
		if [ -n "$dsc" ]; then SRCDIR=${dsc%/*}; return 0; fi
	fi
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
	cat >"$a/sources.list" <<-EOF
	deb-src http://deb.debian.org/debian bookworm main
	deb-src http://deb.debian.org/debian bookworm-updates main
	deb-src http://deb.debian.org/debian-security bookworm-security main
	EOF
	apt-get "${opts[@]}" update >&2 || die "apt-get update (private sources) failed"
	dl=$CACHE/dl.$$
	rm -rf "$dl"
	mkdir -p "$dl"
	(cd "$dl" && apt-get "${opts[@]}" source --download-only \
		"qemu${QEMU_SRC_VERSION:+=$QEMU_SRC_VERSION}" >&2) ||
		die "apt-get source qemu failed"
	dsc=$(ls "$dl"/qemu_*.dsc | head -n1)
	ver=${dsc##*/qemu_}
	ver=${ver%.dsc}
	SRCDIR=$CACHE/qemu-src-$ver
	if [ -f "$SRCDIR/${dsc##*/}" ]; then
		rm -rf "$dl"
	else
		rm -rf "$SRCDIR"
		mv "$dl" "$SRCDIR"
	fi
}

# build_one DIR STAMP [PATCH...]: DIR/build/qemu-system-x86_64
build_one() {
	local d=$1 stamp=$2 p t0
	shift 2
	if [ "$(cat "$d/stamp" 2>/dev/null)" != "$stamp" ]; then
		log "fresh build in $d"
		rm -rf "$d"
		mkdir -p "$d"
		dpkg-source -x "$SRCDIR"/qemu_*.dsc "$d/src" >"$d/build.log" 2>&1 ||
			die "dpkg-source -x failed (log: $d/build.log)"
		for p in "$@"; do
			patch -d "$d/src" -p1 --forward --no-backup-if-mismatch \
				<"$p" >>"$d/build.log" 2>&1 ||
				die "${p##*/} does not apply (log: $d/build.log)"
		done
		mkdir -p "$d/build"
		# shellcheck disable=SC2086 # RECIPE is a list of words
		(cd "$d/build" && nice ../src/configure $RECIPE) >>"$d/build.log" 2>&1 ||
			die "configure failed (log: $d/build.log)"
		echo "$stamp" >"$d/stamp"
	fi
	t0=$(date +%s)
	nice ninja -C "$d/build" -j"$JOBS" qemu-system-x86_64 >>"$d/build.log" 2>&1 ||
		die "build failed (log: $d/build.log)"
	log "$d: $(($(date +%s) - t0)) s of ninja"
}

# one build at a time per cache (make check-apps and a bench in parallel)
mkdir -p "$CACHE"
exec 9>"$CACHE/qemu.lock"
flock 9
install_deps
fetch_source
VER=$(ls "$SRCDIR"/qemu_*.dsc | head -n1)
VER=${VER##*/qemu_}
VER=${VER%.dsc}
HASH=$( { echo "$RECIPE"; cat "${PATCHES[@]}"; } | sha256sum | cut -c1-12)
PLAIN=$CACHE/qemu-$VER-plain
WPU=$CACHE/qemu-$VER-$HASH

build_one "$PLAIN" "$VER $(echo "$RECIPE" | sha256sum | cut -c1-12)"
build_one "$WPU" "$VER $HASH" "${PATCHES[@]}"

# the overlay
O=$WPU/overlay
rm -rf "$O"
mkdir -p "$O/opt/qemu/plain" "$O/opt/qemu/wpu"
cp "$PLAIN/build/qemu-system-x86_64" "$O/opt/qemu/plain/"
cp "$WPU/build/qemu-system-x86_64" "$O/opt/qemu/wpu/"
gcc -O2 -Wall -Wextra -static -o "$O/opt/qemu/qsnap" "$HERE/qsnap.c" ||
	die "qsnap.c does not build"
{
	echo "qemu $VER"
	echo "wpu: ${PATCHES[*]##*/} ($HASH)"
} >"$O/opt/qemu/VERSION"
for dep in $(ldd "$O"/opt/qemu/*/qemu-system-x86_64 |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ { print $1 }' | sort -u); do
	mkdir -p "$O${dep%/*}"
	cp -L "$dep" "$O$dep"
done
echo "$O"
