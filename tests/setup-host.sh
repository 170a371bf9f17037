#!/bin/bash
# Prepare a Debian 12 host for the VM tests.  Idempotent: it checks first and
# only changes what is missing, so a second run installs and downloads
# nothing (and needs no root).  Installs only packages that are not installed
# yet (never upgrades an installed one).
#
#   tests/setup-host.sh              all kernels of tests/kernels.conf
#   tests/setup-host.sh 6.1 6.12     only these
#
# What it provides:
#   - host tools: qemu-system-x86 busybox-static cpio kmod zstd xz-utils
#     pahole gcc make
#   - the bullseye suite (deb822, pinned to priority 100; never trixie)
#   - per kernel, headers to build the module against:
#       linux-headers-<ABI> installed with apt, or, when that package depends
#       on the image package (6.12: it would pull initramfs-tools/udev/systemd
#       upgrades), headers + common + kbuild debs unpacked into the private
#       root $CACHE/root-<ABI without flavour>, Makefile include rewritten
#   - per kernel, $CACHE/<name>/{vmlinuz,brd.ko} from linux-image-<ABI>
# Cache: ${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}; debs in $CACHE/debs.
set -euo pipefail
. "$(dirname "$0")/lib-host.sh"

export DEBIAN_FRONTEND=noninteractive
DEBS=$CACHE/debs
TOOLS=(qemu-system-x86 busybox-static cpio kmod zstd xz-utils pahole gcc libc6-dev make)
SOURCES=/etc/apt/sources.list.d/uffd-wpu-bullseye.sources
PREFS=/etc/apt/preferences.d/uffd-wpu-bullseye

log() { echo "setup-host: $*" >&2; }

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root to $* (or run it once as root: sudo $0)"
}

apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return
	need_root "run apt-get update"
	log "apt-get update"
	apt-get update -q >&2 ||
		die "apt-get update failed: check the network and /etc/apt/sources.list, then rerun"
	apt_updated=1
}

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# write_file PATH CONTENT: (re)write PATH if its content differs.
write_file() {
	if [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
		need_root "write $1"
		log "writing $1"
		printf '%s\n' "$2" >"$1"
		apt_updated=0
	fi
}

# fetch_deb PKG SUITE: print the path of the cached deb of PKG, downloading
# it into $DEBS first if no version of it is there.
fetch_deb() {
	local pkg=$1 suite=$2 deb
	deb=$(ls -1 "$DEBS/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1) || true
	if [ -z "$deb" ]; then
		apt_update
		mkdir -p "$DEBS"
		suite_known "$suite"
		log "downloading $pkg/$suite ($(deb_size "$pkg/$suite")) into $DEBS"
		(cd "$DEBS" && apt-get download -q "$pkg/$suite") >&2 || no_such_abi
		deb=$(ls -1 "$DEBS/${pkg}_"*.deb | sort -V | tail -n 1)
	fi
	echo "$deb"
}

# deb_size PKG/SUITE: its download size, for the progress line.
deb_size() {
	apt-cache show "$1" 2>/dev/null |
		awk '/^Size:/ { printf "%.0f MB", $2 / 1e6; exit }'
}

# suite_known SUITE: die with what to do when apt has no such suite.
suite_known() {
	apt-cache policy 2>/dev/null | grep -Eq "[na]=$1[,[:space:]]" && return
	case $1 in
	*-security) die "apt has no '$1' suite: add \"deb http://deb.debian.org/debian-security $1 main\" to /etc/apt/sources.list and rerun" ;;
	*) die "apt has no '$1' suite: add \"deb http://deb.debian.org/debian $1 main\" to /etc/apt/sources.list and rerun" ;;
	esac
}

# The headers package of some ABIs depends on the image package.
headers_need_image() {
	local dep
	dep=$(apt-cache show --no-all-versions "linux-headers-$K_ABI" 2>/dev/null |
		sed -n 's/^Depends: //p') || true
	case $dep in *"linux-image-$K_ABI"*) return 0 ;; esac
	return 1
}

no_such_abi() {
	die "$K_NAME: apt has no linux-headers-$K_ABI or linux-image-$K_ABI; if that ABI left the archive, pick the current one (apt-cache search --names-only '^linux-image-${K_ABI%.*}') and override it, e.g. UFFD_WPU_KVER_${K_NAME//[^A-Za-z0-9]/_}=<ABI>"
}

setup_private_root() {
	local tmp deb mk
	need_root "unpack headers into $K_ROOT"
	tmp=$K_ROOT.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for deb in "linux-headers-$K_ABI" "linux-headers-$K_VER-common" \
		   "linux-kbuild-$K_VER"; do
		deb=$(fetch_deb "$deb" "$K_SUITE")
		log "unpacking ${deb##*/} into $K_ROOT"
		dpkg -x "$deb" "$tmp"
	done
	mk=$tmp/usr/src/linux-headers-$K_ABI/Makefile
	[ -f "$mk" ] || die "$mk missing after unpacking"
	# include /usr/src/...-common/Makefile -> include $K_ROOT/usr/src/...
	sed -i "s|^include /usr/src/|include $K_ROOT/usr/src/|" "$mk"
	rm -rf "$K_ROOT"
	mv "$tmp" "$K_ROOT"
	private_root_ok || die "$K_ROOT: Makefile include not rewritten"
}

setup_headers() {
	if kbuild_dir >/dev/null; then
		return
	fi
	apt_update
	suite_known "$K_SUITE"
	apt-cache show "linux-headers-$K_ABI" >/dev/null 2>&1 || no_such_abi
	if headers_need_image; then
		setup_private_root
	else
		need_root "install linux-headers-$K_ABI"
		log "apt-get install linux-headers-$K_ABI/$K_SUITE"
		apt-get install -y -q --no-install-recommends "linux-headers-$K_ABI/$K_SUITE"
	fi
	kbuild_dir >/dev/null || die "no kernel build dir for $K_NAME after setup"
}

# vmlinuz and brd.ko of the kernel, from the image deb, into $CACHE/<name>/.
setup_image() {
	local dir deb tmp ko
	dir=$(kernel_files_dir)
	if [ "$(cat "$dir/abi" 2>/dev/null)" = "$K_ABI" ] &&
	   [ -f "$dir/vmlinuz" ] && [ -f "$dir/brd.ko" ]; then
		return
	fi
	need_root "extract the kernel into $dir"
	deb=$(fetch_deb "linux-image-$K_ABI" "$K_SUITE")
	log "extracting vmlinuz and brd.ko from ${deb##*/}"
	tmp=$(mktemp -d)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$tmp" --wildcards "./boot/vmlinuz-$K_ABI" \
			"./lib/modules/$K_ABI/kernel/drivers/block/brd.ko*"
	mkdir -p "$dir"
	rm -f "$dir/abi" "$dir/vmlinuz" "$dir/brd.ko"
	cp "$tmp/boot/vmlinuz-$K_ABI" "$dir/vmlinuz"
	ko=$(ls "$tmp/lib/modules/$K_ABI/kernel/drivers/block/"brd.ko*)
	case $ko in
	*.ko)     cp "$ko" "$dir/brd.ko" ;;
	*.ko.xz)  xz -dc "$ko" >"$dir/brd.ko" ;;
	*.ko.zst) zstd -qdc "$ko" >"$dir/brd.ko" ;;
	*.ko.gz)  gzip -dc "$ko" >"$dir/brd.ko" ;;
	*) die "unexpected brd module: $ko" ;;
	esac
	rm -rf "$tmp"
	echo "$K_ABI" >"$dir/abi"
}

main() {
	local missing=() p names
	# Host tools: install only those not installed yet.
	for p in "${TOOLS[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		apt_update
		log "apt-get install ${missing[*]}"
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi

	# The bullseye suite, pinned low so it never replaces bookworm packages.
	write_file "$SOURCES" "Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	write_file "$PREFS" "Package: *
Pin: release n=bullseye
Pin-Priority: 100"

	if [ $# -gt 0 ]; then names=("$@"); else mapfile -t names < <(kernel_names); fi
	for p in "${names[@]}"; do
		kernel_lookup "$p" || die "unknown kernel '$p'"
		setup_headers
		setup_image
	done
}

main "$@"
exit
