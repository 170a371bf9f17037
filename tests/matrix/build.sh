#!/bin/bash
# Build a kernel for the test matrix (docs/kernels.md): a small
# x86_64_defconfig-based kernel with what the guest, the tests and
# uffd_wpu.ko need, plus per-variant config overrides, and make it bootable
# by tests/run.  Not part of `make check`.
#
#   tests/matrix/build.sh --name NAME (--deb PKG|FILE.deb | --src DIR)
#                         [--set OPT=y|m|n]... [--rebuild] [-j N]
#
#   --name NAME   the kernel's name in kernels.conf and its cache directory
#                 $CACHE/matrix/NAME; its release is <version>-NAME-wpu
#   --deb PKG     a Debian linux-source-X package: the newest cached
#                 $CACHE/debs/PKG_*.deb, else `apt-get download PKG`
#   --deb FILE    that linux-source-X .deb
#   --src DIR     any kernel source tree (clean: it is built with O=)
#   --set OPT=V   override: CONFIG_OPT is set to V (y, m or n) and checked
#                 after olddefconfig; e.g. --set PTE_MARKER_UFFD_WP=n
#   --mode M      what the module must do there: load (default) or refuse
#                 (the kernel has the feature natively)
#   --no-slim     keep x86_64_defconfig's drivers for hardware the guest
#                 does not have (SLIM below: graphics, sound, USB, disks...)
#   --rebuild     run make even if the cached build matches
#
# Example (the RHEL 9.2/9.3 situation: pte markers without uffd-wp ones):
#   tests/matrix/build.sh --name deb6.1-nomarker --deb linux-source-6.1 \
#       --set PTE_MARKER_UFFD_WP=n
#   UFFD_WPU_KERNELS_CONF=/var/cache/uffd-wpu/matrix/deb6.1-nomarker/kernels.conf tests/run
#
# Config: x86_64_defconfig + REQUIRE below (the options a tree does not
# know are skipped) + the --set options, checked after olddefconfig.  The
# build runs under `nice -n 19` (the box is shared).  A cached build of the
# same source with the same resulting .config is used as it is (no make at
# all); a changed config or source rebuilds.
#
# Output ($CACHE = ${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}, $DIR its
# directory, $CACHE/matrix/NAME unless --dir is given):
#   $DIR/vmlinuz, brd.ko, abi       what tests/run boots (kernel_files_dir)
#   $DIR/config                     the .config used
#   $DIR/source.deb or source.dir   the source it built: the .deb's name,
#                                   or the directory (+ its git commit)
#   $DIR/build.log, build-time      the last build and how long it took
#   $DIR/kernels.conf               for UFFD_WPU_KERNELS_CONF (unless --conf)
#   $DIR/root/usr/src/<source>      the source tree (or a link to --src DIR)
#   $DIR/root/usr/src/linux-headers-<ABI>   the build (O=) tree
#   $CACHE/root-<ABI without its last -part> -> $DIR/root
#       the private root layout tests/lib-host.sh kbuild_dir() accepts, so
#       `tests/run` and `make module KERNEL=NAME` build against it
#
# For callers such as tests/debug-kernel/build.sh:
#   --dir DIR            cache directory instead of $CACHE/matrix/NAME
#   --localversion STR   instead of -NAME-wpu
#   --want OPT[=m]       an option the kernel must have (like --set OPT=y)
#   --hint OPT=y|n       set before olddefconfig, not checked
#   --conf FILE          a kernels.conf that names this kernel: check it
#                        instead of writing $DIR/kernels.conf
set -euo pipefail
. "$(dirname "$0")/../lib-host.sh"

NAME=
DIR=
DEB=
SRCDIR=
LOCALVERSION=
CONF=
MODE=load
REBUILD=0
JOBS=$(nproc)
SETS=()
WANTS=()

# What the guest, the tests and the module need (=y unless "=m" is given).
REQUIRE=(
	USERFAULTFD HAVE_ARCH_USERFAULTFD_WP
	TRANSPARENT_HUGEPAGE TRANSPARENT_HUGEPAGE_ALWAYS MIGRATION COMPACTION
	NUMA X86_64_ACPI_NUMA SWAP BLK_DEV_RAM=m
	FTRACE FUNCTION_TRACER DYNAMIC_FTRACE DYNAMIC_FTRACE_WITH_REGS
	KPROBES KALLSYMS KALLSYMS_ALL MODULES MODULE_UNLOAD
	SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD RD_GZIP
	CHECKPOINT_RESTORE PROC_PAGE_MONITOR MEM_SOFT_DIRTY
	DEBUG_FS TMPFS SHMEM HUGETLBFS IKCONFIG IKCONFIG_PROC MMU_NOTIFIER
)
# Set before olddefconfig, not checked: no signing, no lockdown, no debug
# info (small and fast), THP always on.
HINTS=(
	TRANSPARENT_HUGEPAGE_MADVISE=n DEBUG_INFO=n DEBUG_INFO_NONE=y
	MODULE_SIG=n SECURITY_LOCKDOWN_LSM=n
)
# Hardware the guest (QEMU, serial console, initramfs, no disk, no network
# device) never has: off unless --no-slim, which halves the build.  KVM (a
# module) because it selects MMU_NOTIFIER, which uffd_wpu.ko needs and
# which cannot be set by itself: x86_64_defconfig gets it from DRM_I915.
SLIM=(
	DRM=n SOUND=n WLAN=n WIRELESS=n USB_SUPPORT=n HID=n ETHERNET=n
	NETWORK_FILESYSTEMS=n MEDIA_SUPPORT=n AGP=n ATA=n SCSI=n MD=n
	INPUT_JOYSTICK=n INPUT_TABLET=n INPUT_TOUCHSCREEN=n INPUT_MOUSE=n
	FB=n EFI=n PCCARD=n RFKILL=n HWMON=n WATCHDOG=n VIRTIO_MENU=n
	MACINTOSH_DRIVERS=n CPU_FREQ=n HIBERNATION=n EXT4_FS=n ISO9660_FS=n
	AUTOFS_FS=n QUOTA=n SECURITY_SELINUX=n AUDIT=n NET_SCHED=n
	KVM=m
)

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }
while [ $# -gt 0 ]; do
	case $1 in
	--name) NAME=$2; shift ;;
	--dir) DIR=$2; shift ;;
	--deb) DEB=$2; shift ;;
	--src) SRCDIR=$2; shift ;;
	--set) SETS+=("$2"); shift ;;
	--want) WANTS+=("$2"); shift ;;
	--hint) HINTS+=("$2"); shift ;;
	--localversion) LOCALVERSION=$2; shift ;;
	--conf) CONF=$2; shift ;;
	--mode) MODE=$2; shift ;;
	--rebuild) REBUILD=1 ;;
	--no-slim) SLIM=() ;;
	-j) JOBS=$2; shift ;;
	-j*) JOBS=${1#-j} ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument '$1' (-h for help)" ;;
	esac
	shift
done
case $MODE in load|refuse) ;; *) die "--mode: load or refuse, not '$MODE'" ;; esac
[ -n "$NAME" ] || die "--name is required (-h for help)"
case $NAME in *[!A-Za-z0-9._-]*) die "--name: letters, digits, '.', '_', '-' only" ;; esac
[ -n "$DEB" ] || [ -n "$SRCDIR" ] || die "--deb or --src is required (-h for help)"
[ -z "$DEB" ] || [ -z "$SRCDIR" ] || die "--deb and --src exclude each other"
DIR=${DIR:-$CACHE/matrix/$NAME}
[ -n "$LOCALVERSION" ] || LOCALVERSION=-$NAME-wpu
for s in "${SETS[@]}" "${HINTS[@]}"; do
	case $s in *=[ymn]) ;; *) die "'$s': expected OPT=y, OPT=m or OPT=n" ;; esac
done

log() { echo "matrix[$NAME]: $*"; }
[ "$(id -u)" = 0 ] || die "must run as root (writes $CACHE, may install build tools)"

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

# ---- source -> $DIR/root/usr/src/$SRCNAME ---------------------------------
mkdir -p "$DIR/root/usr/src"
# Unpack a linux-source-X .deb ($1) into $SRC (its tarball's top directory
# is the package name, $2).
unpack_deb() {
	log "unpacking ${1##*/}"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	dpkg-deb --fsys-tarfile "$1" |
		tar -xO "./usr/src/$2.tar.xz" | tar -xJ -C "$SRC.tmp"
	mv "$SRC.tmp/$2" "$SRC"
	rmdir "$SRC.tmp"
}
if [ -n "$DEB" ]; then
	if [ -f "$DEB" ]; then
		deb=$(realpath "$DEB")
		pkg=$(dpkg-deb -f "$deb" Package)
	else
		pkg=$DEB
		deb=$(ls -1 "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1) || true
		if [ -z "$deb" ]; then
			mkdir -p "$CACHE/debs"
			log "apt-get download $pkg"
			(cd "$CACHE/debs" && apt-get download -q "$pkg") ||
				{ apt-get update -q && (cd "$CACHE/debs" && apt-get download -q "$pkg"); } ||
				die "cannot download $pkg (is bookworm-security in apt's sources?)"
			deb=$(ls -1 "$CACHE/debs/${pkg}"_*.deb | sort -V | tail -n 1)
		fi
	fi
	case $pkg in linux-source-*) ;; *) die "$deb: not a linux-source-X package" ;; esac
	SRCNAME=$pkg
	SRC=$DIR/root/usr/src/$SRCNAME
	SOURCE_ID=${deb##*/}
	ID_FILE=$DIR/source.deb
	if [ "$(cat "$ID_FILE" 2>/dev/null)" != "$SOURCE_ID" ] || [ ! -f "$SRC/Makefile" ]; then
		unpack_deb "$deb" "$pkg"
		rm -f "$ID_FILE"
	fi
else
	SRCDIR=$(realpath "$SRCDIR")
	[ -f "$SRCDIR/Makefile" ] && [ -f "$SRCDIR/Kconfig" ] || die "$SRCDIR: not a kernel source tree"
	[ ! -f "$SRCDIR/.config" ] || die "$SRCDIR: has a .config (not clean: run make mrproper there)"
	SRCNAME=linux-source
	SRC=$DIR/root/usr/src/$SRCNAME
	ln -sfn "$SRCDIR" "$SRC"
	SOURCE_ID=$SRCDIR
	ID_FILE=$DIR/source.dir
	if git -C "$SRCDIR" rev-parse -q --verify HEAD >/dev/null 2>&1; then
		SOURCE_ID+=" $(git -C "$SRCDIR" rev-parse HEAD)"
		[ -z "$(git -C "$SRCDIR" status --porcelain -uno 2>/dev/null)" ] || SOURCE_ID+=" (modified)"
	fi
fi
if [ "$(cat "$ID_FILE" 2>/dev/null)" != "$SOURCE_ID" ]; then
	# a new source means a new build tree
	rm -rf "$DIR"/root/usr/src/linux-headers-*
	echo "$SOURCE_ID" >"$ID_FILE"
fi
mkv() { sed -n "s/^$1 = //p" "$SRC/Makefile" | head -n 1; }
ABI=$(mkv VERSION).$(mkv PATCHLEVEL).$(mkv SUBLEVEL)$(mkv EXTRAVERSION)$LOCALVERSION
KVER=${ABI%-*}
OBJ=$DIR/root/usr/src/linux-headers-$ABI
ROOT_LINK=$CACHE/root-$KVER
if [ -e "$ROOT_LINK" ] && [ "$(realpath "$ROOT_LINK")" != "$(realpath "$DIR/root")" ]; then
	die "$ROOT_LINK is another kernel's root ($(realpath "$ROOT_LINK")): choose another --name"
fi
log "source $SOURCE_ID, kernel release $ABI, build tree $OBJ"

KMAKE=(nice -n 19 make -C "$SRC" O="$OBJ" ARCH=x86_64)

# ---- config ---------------------------------------------------------------
# Made in $OBJ/.config.wanted (KCONFIG_CONFIG), so that the .config of a
# cached build is not touched unless it changes.
mkdir -p "$OBJ"
WANT=.config.wanted
"${KMAKE[@]}" -s KCONFIG_CONFIG=$WANT x86_64_defconfig
sc() { "$SRC/scripts/config" --file "$OBJ/$WANT" "$@"; }
# Whether this tree knows CONFIG_$1 (REQUIRE spans 5.10 to 6.12).
SYMBOLS=$(grep -rhs --include='Kconfig*' -E '^[[:space:]]*(menu)?config [A-Z0-9_]+' "$SRC" |
	awk '{ print $2 }' | sort -u)
known() { grep -qx "$1" <<<"$SYMBOLS"; }
set_opt() {
	case $1 in
	*=m) sc -m "${1%=m}" ;;
	*=n) sc -d "${1%=n}" ;;
	*=y) sc -e "${1%=y}" ;;
	*)   sc -e "$1" ;;
	esac
}
# Whether the wanted value of $1 is what $OBJ/$WANT has.
opt_ok() {
	case $1 in
	*=m) grep -qx "CONFIG_${1%=m}=m" "$OBJ/$WANT" ;;
	*=n) ! grep -qE "^CONFIG_${1%=n}=[ym]\$" "$OBJ/$WANT" ;;
	*=y) grep -qx "CONFIG_${1%=y}=y" "$OBJ/$WANT" ;;
	*)   grep -qx "CONFIG_$1=y" "$OBJ/$WANT" ;;
	esac
}
sc --set-str LOCALVERSION "$LOCALVERSION" -d LOCALVERSION_AUTO
checked=()
for o in "${REQUIRE[@]}"; do
	known "${o%=*}" || { log "skipping $o: not in this tree"; continue; }
	checked+=("$o")
done
checked+=("${WANTS[@]}" "${SETS[@]}")
for o in "${checked[@]}"; do set_opt "$o"; done
for o in "${HINTS[@]}" "${SLIM[@]}"; do set_opt "$o"; done
"${KMAKE[@]}" -s KCONFIG_CONFIG=$WANT olddefconfig
bad=()
for o in "${checked[@]}"; do opt_ok "$o" || bad+=("$o"); done
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
ln -sfn "${DIR#"$CACHE"/}/root" "$ROOT_LINK"
sed -i "s|^include .*/Makefile\$|include $ROOT_LINK/usr/src/$SRCNAME/Makefile|" "$OBJ/Makefile"
(
	# shellcheck disable=SC2034  # read by private_root_ok (lib-host.sh)
	K_NAME=$NAME K_ABI=$ABI K_ROOT=$ROOT_LINK
	private_root_ok
) || die "$ROOT_LINK: not a private root kbuild_dir() accepts"

log "vmlinuz, brd.ko: $DIR; build dir: $ROOT_LINK/usr/src/linux-headers-$ABI"
if [ -n "$CONF" ]; then
	if ! awk -v n="$NAME" -v a="$ABI" '$1 == n && $2 == a { f = 1 } END { exit !f }' "$CONF"; then
		log "$CONF names another ABI; run with UFFD_WPU_KVER_${NAME//[^A-Za-z0-9]/_}=$ABI"
	fi
else
	CONF=$DIR/kernels.conf
	{
		echo "# tests/matrix/build.sh --name $NAME: $SOURCE_ID${SETS[*]:+, ${SETS[*]}}"
		printf '%-24s %-32s %-8s %s\n' "$NAME" "$ABI" local "$MODE"
	} >"$CONF"
fi
log "next: UFFD_WPU_KERNELS_CONF=$CONF tests/run"
