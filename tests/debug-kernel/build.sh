#!/bin/bash
# Build Debian's 6.1 kernel source with the kernel's own bug detectors
# (KASAN generic/inline, lockdep, DEBUG_VM, DEBUG_ATOMIC_SLEEP, kmemleak) and
# everything the guest and uffd_wpu.ko need, for running the whole test
# suite in it (docs/debug-kernel.md).  Not part of `make check`.
#
#   tests/debug-kernel/build.sh [--no-kmemleak] [--rebuild] [-j N]
#
# Built by tests/matrix/build.sh (source, config, cache and the private
# root are its, see there): linux-source-6.1 from Debian's archive
# (apt-get download into $CACHE/debs if no version is cached there),
# x86_64_defconfig + what the guest, the tests and the module need + the
# DEBUG options below, checked after olddefconfig; under `nice -n 19`; a
# cached build of the same source with the same resulting .config is used
# as it is (--rebuild runs make anyway, which is incremental).
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
TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}

# The debug options this kernel exists for.
DEBUG=(
	DEBUG_KERNEL DEBUG_VM KASAN KASAN_GENERIC KASAN_INLINE
	PROVE_LOCKING DEBUG_ATOMIC_SLEEP
)
ARGS=(
	--name debug-6.1 --dir "$CACHE/debug-6.1" --localversion -wpu-debug
	--deb linux-source-6.1 --conf "$TESTS_DIR/debug-kernel/kernels.conf" --no-slim
	--want PTE_MARKER_UFFD_WP
	--hint KASAN_OUTLINE=n --hint KASAN_SW_TAGS=n
	--hint DEBUG_KMEMLEAK_DEFAULT_OFF=n --hint DEBUG_KMEMLEAK_AUTO_SCAN=n
)
KMEMLEAK=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-kmemleak) KMEMLEAK=0 ;;
	--rebuild) ARGS+=(--rebuild) ;;
	-j) ARGS+=(-j "$2"); shift ;;
	-j*) ARGS+=("$1") ;;
	-h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ $KMEMLEAK = 1 ] && DEBUG+=(DEBUG_KMEMLEAK)
for o in "${DEBUG[@]}"; do ARGS+=(--want "$o"); done
exec "$TESTS_DIR/matrix/build.sh" "${ARGS[@]}"
