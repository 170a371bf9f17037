#!/bin/bash
# Build Debian's 6.1 kernel source with the kernel's own bug detectors
# (KASAN generic/inline, lockdep, DEBUG_VM, DEBUG_ATOMIC_SLEEP, kmemleak) and
# everything the guest and uffd_wpu.ko need, for running the whole test
# suite in it (docs/debug-kernel.md).  Not part of `make check`.
#
#   tests/debug-kernel/build.sh [--no-kmemleak] [--rebuild] [-j N]
#
# Source: linux-source-6.1 from Debian's archive (apt-get download into
# $CACHE/debs if no version is cached there).  Config: x86_64_defconfig +
# the options in REQUIRE/DEBUG below, checked after olddefconfig.  The build
# runs under `nice -n 19` (other engineers share the 2 cores).  A cached
# build of the same source with the same resulting .config is used as it is
# (no make at all; --rebuild runs make anyway, which is incremental);
# a changed config or source rebuilds.
#
# Output ($CACHE = ${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}):
#   $CACHE/debug-6.1/vmlinuz, brd.ko, abi   what tests/run boots (kernel_files_dir)
#   $CACHE/debug-6.1/config                 the .config used
#   $CACHE/debug-6.1/build.log, build-time  the last build and how long it took
#   $CACHE/debug-6.1/root/usr/src/linux-source-6.1        the source tree
#   $CACHE/debug-6.1/root/usr/src/linux-headers-<ABI>     the build (O=) tree
#   $CACHE/root-<ABI without its last -part> -> debug-6.1/root
#       the layout tests/lib-host.sh kbuild_dir() accepts as a private root,
#       so `tests/run` and `make module KERNEL=debug-6.1` build against it
# Then: UFFD_WPU_KERNELS_CONF=tests/debug-kernel/kernels.conf tests/run
set -euo pipefail
. "$(dirname "$0")/../lib-host.sh"

NAME=debug-6.1
DIR=$CACHE/$NAME
DEBS=$CACHE/debs
LOCALVERSION=-wpu-debug
KMEMLEAK=1
REBUILD=0
JOBS=$(nproc)

while [ $# -gt 0 ]; do
	case $1 in
	--no-kmemleak) KMEMLEAK=0 ;;
	--rebuild) REBUILD=1 ;;
	-j) JOBS=$2; shift ;;
	-j*) JOBS=${1#-j} ;;
	-h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
	shift
done

log() { echo "debug-kernel: $*"; }
[ "$(id -u)" = 0 ] || die "must run as root (writes $CACHE, may install build tools)"

# What the guest, the tests and the module need (=y unless "=m" is given).
REQUIRE=(
	USERFAULTFD HAVE_ARCH_USERFAULTFD_WP PTE_MARKER_UFFD_WP
	TRANSPARENT_HUGEPAGE TRANSPARENT_HUGEPAGE_ALWAYS MIGRATION COMPACTION
	NUMA X86_64_ACPI_NUMA SWAP BLK_DEV_RAM=m
	FTRACE FUNCTION_TRACER DYNAMIC_FTRACE DYNAMIC_FTRACE_WITH_REGS
	KPROBES KALLSYMS KALLSYMS_ALL MODULES MODULE_UNLOAD
	SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD RD_GZIP
	CHECKPOINT_RESTORE PROC_PAGE_MONITOR MEM_SOFT_DIRTY
	DEBUG_FS TMPFS SHMEM HUGETLBFS IKCONFIG IKCONFIG_PROC
)
# The debug options this kernel exists for.
DEBUG=(
	DEBUG_KERNEL DEBUG_VM KASAN KASAN_GENERIC KASAN_INLINE
	PROVE_LOCKING DEBUG_ATOMIC_SLEEP
)
[ $KMEMLEAK = 1 ] && DEBUG+=(DEBUG_KMEMLEAK)

# ---- build tools -------------------------------------------------------
missing=()
for p in flex bison bc libelf-dev libssl-dev make gcc cpio xz-utils; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "apt-get install ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- source: linux-source-6.1 .deb -> root/usr/src/linux-source-6.1 ------
deb=$(ls -1 "$DEBS"/linux-source-6.1_*.deb 2>/dev/null | sort -V | tail -n 1) || true
if [ -z "$deb" ]; then
	mkdir -p "$DEBS"
	log "apt-get download linux-source-6.1"
	(cd "$DEBS" && apt-get download -q linux-source-6.1) ||
		{ apt-get update -q && (cd "$DEBS" && apt-get download -q linux-source-6.1); } ||
		die "cannot download linux-source-6.1 (is bookworm-security in apt's sources?)"
	deb=$(ls -1 "$DEBS"/linux-source-6.1_*.deb | sort -V | tail -n 1)
fi
SRC=$DIR/root/usr/src/linux-source-6.1
mkdir -p "$DIR/root/usr/src"
if [ "$(cat "$DIR/source.deb" 2>/dev/null)" != "${deb##*/}" ] || [ ! -f "$SRC/Makefile" ]; then
	log "unpacking ${deb##*/}"
	rm -rf "$SRC" "$SRC.tmp" "$DIR/source.deb"
	mkdir -p "$SRC.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO ./usr/src/linux-source-6.1.tar.xz | tar -xJ -C "$SRC.tmp"
	mv "$SRC.tmp/linux-source-6.1" "$SRC"
	rmdir "$SRC.tmp"
	# a new source means a new build tree
	rm -rf "$DIR"/root/usr/src/linux-headers-*
	echo "${deb##*/}" >"$DIR/source.deb"
fi
mkv() { sed -n "s/^$1 = //p" "$SRC/Makefile" | head -n 1; }
ABI=$(mkv VERSION).$(mkv PATCHLEVEL).$(mkv SUBLEVEL)$(mkv EXTRAVERSION)$LOCALVERSION
KVER=${ABI%-*}
OBJ=$DIR/root/usr/src/linux-headers-$ABI
ROOT_LINK=$CACHE/root-$KVER
log "source ${deb##*/}, kernel release $ABI, build tree $OBJ"

KMAKE=(nice -n 19 make -C "$SRC" O="$OBJ" ARCH=x86_64)

# ---- config ---------------------------------------------------------------
# Made in $OBJ/.config.wanted (KCONFIG_CONFIG), so that the .config of a
# cached build is not touched unless it changes.
mkdir -p "$OBJ"
WANT=.config.wanted
"${KMAKE[@]}" -s KCONFIG_CONFIG=$WANT x86_64_defconfig
sc() { "$SRC/scripts/config" --file "$OBJ/$WANT" "$@"; }
sc --set-str LOCALVERSION "$LOCALVERSION" -d LOCALVERSION_AUTO
for o in "${REQUIRE[@]}" "${DEBUG[@]}"; do
	case $o in
	*=m) sc -m "${o%=m}" ;;
	*)   sc -e "$o" ;;
	esac
done
sc -d TRANSPARENT_HUGEPAGE_MADVISE -d KASAN_OUTLINE -d KASAN_SW_TAGS \
	-d DEBUG_KMEMLEAK_DEFAULT_OFF -d DEBUG_KMEMLEAK_AUTO_SCAN \
	-d DEBUG_INFO -e DEBUG_INFO_NONE -d MODULE_SIG -d SECURITY_LOCKDOWN_LSM
"${KMAKE[@]}" -s KCONFIG_CONFIG=$WANT olddefconfig
bad=()
for o in "${REQUIRE[@]}" "${DEBUG[@]}"; do
	case $o in
	*=m) grep -qx "CONFIG_${o%=m}=m" "$OBJ/$WANT" || bad+=("$o") ;;
	*)   grep -qx "CONFIG_$o=y" "$OBJ/$WANT" || bad+=("$o") ;;
	esac
done
[ ${#bad[@]} -eq 0 ] || die "not set after olddefconfig (a dependency is missing): ${bad[*]}"

# ---- build ------------------------------------------------------------------
# Cached: same source (checked above), same config as the last build, and
# its results are there.
if [ $REBUILD = 0 ] && cmp -s "$OBJ/$WANT" "$DIR/config" && cmp -s "$OBJ/$WANT" "$OBJ/.config" &&
   [ "$(cat "$DIR/abi" 2>/dev/null)" = "$ABI" ] && [ -s "$DIR/vmlinuz" ] && [ -s "$DIR/brd.ko" ] &&
   [ -s "$OBJ/Module.symvers" ] && [ "$OBJ/arch/x86/boot/bzImage" -nt "$DIR/config" ]; then
	rm -f "$OBJ/$WANT"
	log "cached build of $ABI with the same config: not rebuilt (--rebuild to run make anyway); it took $(cat "$DIR/build-time" 2>/dev/null || echo '?')"
else
	mv "$OBJ/$WANT" "$OBJ/.config"
	cp "$OBJ/.config" "$DIR/config"
	log "building bzImage + modules with -j$JOBS under nice -n 19 (log: $DIR/build.log)"
	t0=$(date +%s)
	load0=$(cut -d" " -f1-3 /proc/loadavg)
	if ! "${KMAKE[@]}" -j"$JOBS" bzImage modules >"$DIR/build.log" 2>&1; then
		tail -n 40 "$DIR/build.log" >&2
		die "kernel build failed (log: $DIR/build.log)"
	fi
	t=$(($(date +%s) - t0))
	echo "$t s ($(date -u +%FT%TZ), -j$JOBS, nice -n 19, load average at the start: $load0, at the end: $(cut -d' ' -f1-3 /proc/loadavg))" >"$DIR/build-time"
	log "build took $((t / 60)) min $((t % 60)) s"
fi

rel=$(cat "$OBJ/include/config/kernel.release")
[ "$rel" = "$ABI" ] || die "built release $rel, expected $ABI"
[ -f "$OBJ/Module.symvers" ] || die "no Module.symvers in $OBJ"

# ---- what tests/run looks for ------------------------------------------------
cmp -s "$OBJ/arch/x86/boot/bzImage" "$DIR/vmlinuz" ||
	{ cp "$OBJ/arch/x86/boot/bzImage" "$DIR/vmlinuz.new" && mv "$DIR/vmlinuz.new" "$DIR/vmlinuz"; }
cmp -s "$OBJ/drivers/block/brd.ko" "$DIR/brd.ko" || cp "$OBJ/drivers/block/brd.ko" "$DIR/brd.ko"
echo "$ABI" >"$DIR/abi"
# kbuild_dir(): $CACHE/root-<KVER>/usr/src/linux-headers-<ABI>/Makefile must
# include a Makefile inside $CACHE/root-<KVER>.  Every make in O= mode
# rewrites that include with the real path: point it through the link.
ln -sfn "$NAME/root" "$ROOT_LINK"
sed -i "s|^include .*/Makefile\$|include $ROOT_LINK/usr/src/linux-source-6.1/Makefile|" "$OBJ/Makefile"
(
	# shellcheck disable=SC2034  # read by private_root_ok (lib-host.sh)
	K_NAME=$NAME K_ABI=$ABI K_ROOT=$ROOT_LINK
	private_root_ok
) || die "$ROOT_LINK: not a private root kbuild_dir() accepts"

log "vmlinuz, brd.ko: $DIR; build dir: $ROOT_LINK/usr/src/linux-headers-$ABI"
conf=$TESTS_DIR/debug-kernel/kernels.conf
if ! awk -v n="$NAME" -v a="$ABI" '$1 == n && $2 == a { f = 1 } END { exit !f }' "$conf"; then
	log "$conf names another ABI; run with UFFD_WPU_KVER_debug_6_1=$ABI"
fi
log "next: UFFD_WPU_KERNELS_CONF=$conf tests/run (docs/debug-kernel.md)"
