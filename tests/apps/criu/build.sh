#!/bin/bash
# Debian 13 (trixie)'s CRIU 4.x for the guest: an overlay tree for
# `tests/run --overlay DIR` (tests/guest/80-criu.sh uses it).
#
# CRIU 4.0+ reads memory through PAGEMAP_SCAN, which the module brings to
# Debian's 6.1 and 5.10; Debian 12 only has CRIU 3.17.  No trixie line ever
# goes into /etc/apt: a private apt configuration (own sources list, lists,
# cache and an empty dpkg status, under $CACHE/apps/criu/apt) downloads the
# criu package and the closure of its Depends/PreDepends from trixie, and
# dpkg-deb unpacks them into $CACHE/apps/criu/overlay/opt/criu/root.  The
# trixie binary needs trixie's glibc (2.41; the guest's /lib has Debian
# 12's 2.36 for other tests), so trixie's loader and libraries under
# /opt/criu/root are written into the binary as PT_INTERP and DT_RPATH
# (patchelf, also from trixie; DT_RPATH, not RUNPATH, also applies to the
# libraries' own dependencies).  No wrapper script or environment: a
# wrapper exec'ing ld.so would make /proc/self/exe the loader.  (CRIU 4.1
# does not re-exec itself; it only execs external tools such as iptables
# or tar, none of which this test needs.)  /usr/sbin/criu in the overlay
# is a symlink to that binary.  The trixie release key is in Debian 12's
# debian-archive-keyring.
#
# Cached: a second run with the same package versions does nothing.  The
# overlay directory is the last line of stdout (tests/apps convention).
#
# Usage: tests/apps/criu/build.sh   (root; needs apt-get, dpkg-deb, network
#        to deb.debian.org or UFFD_WPU_CRIU_MIRROR)
set -euo pipefail

CACHE=${UFFD_WPU_CACHE:-/var/cache/uffd-wpu}
MIRROR=${UFFD_WPU_CRIU_MIRROR:-http://deb.debian.org/debian}
SUITE=${UFFD_WPU_CRIU_SUITE:-trixie}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$CACHE/apps/criu
APT=$TOP/apt
OVL=$TOP/overlay
ROOT=/opt/criu/root # inside the guest (and in $OVL)

die() { echo "criu/build.sh: $*" >&2; exit 1; }
log() { echo "criu/build.sh: $*" >&2; }

# ---- private apt configuration
mkdir -p "$APT"/{etc/sources.list.d,etc/preferences.d,etc/apt.conf.d,state/lists/partial,cache/archives/partial,debs}
cat >"$APT/etc/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main
EOF
: >"$APT/state/status"
APTOPTS=(
	-o "Dir::Etc::sourcelist=$APT/etc/sources.list"
	-o "Dir::Etc::sourceparts=$APT/etc/sources.list.d"
	-o "Dir::Etc::preferences=$APT/etc/preferences"
	-o "Dir::Etc::preferencesparts=$APT/etc/preferences.d"
	-o "Dir::Etc::parts=$APT/etc/apt.conf.d"
	-o "Dir::State=$APT/state"
	-o "Dir::State::status=$APT/state/status"
	-o "Dir::Cache=$APT/cache"
	-o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64"
	-o "APT::Get::List-Cleanup=0"
	-o "Acquire::Languages=none"
	-o "APT::Sandbox::User=root"
)
pa() { apt-get "${APTOPTS[@]}" "$@"; }
pc() { apt-cache "${APTOPTS[@]}" "$@"; }

# Lists: refresh at most once a day.
stamp=$APT/state/updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	log "apt-get update ($SUITE, private config in $APT)"
	pa -q update >&2 || die "apt-get update failed"
	touch "$stamp"
fi

# Closure of the Depends/PreDepends of criu (-> the guest) and of patchelf
# (-> run here only).  The empty status file makes apt see nothing
# installed, so the closure is complete: it includes trixie's libc6 and
# its loader.
closure() {
	pc depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$1" |
		grep -v -e '^ ' -e '^<' | sort -u
}
mapfile -t want < <(closure criu)
[ ${#want[@]} -gt 0 ] || die "apt-cache depends criu gave nothing"
mapfile -t tools < <(comm -13 <(printf '%s\n' "${want[@]}") <(closure patchelf))

# The downloaded .deb of package $1 at version $2 (apt writes an epoch's
# ':' as "%3a" in the file name), or nothing.
debfile() {
	local f
	for f in "$APT/debs/${1}_"*.deb; do
		[ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$2" ] &&
			{ echo "$f"; return; }
	done
	return 0
}

# Download (cached).
vers=
missing=()
cand=$(pc policy "${want[@]}" "${tools[@]}" |
	awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /Candidate:/ { print p "=" $2 }')
for p in "${want[@]}" "${tools[@]}"; do
	v=$(echo "$cand" | sed -n "s/^$p=//p")
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		die "no candidate for $p in $SUITE"
	fi
	vers="$vers $p=$v"
	[ -n "$(debfile "$p" "$v")" ] || missing+=("$p=$v")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "downloading: ${missing[*]}"
	(cd "$APT/debs" && pa -q download "${missing[@]}" >&2) || die "apt-get download failed"
fi

# ---- unpack (only if the set of versions changed)
key=$(echo "$vers" "$(cat "$0" "$HERE"/*.c "$HERE/../../kernels.conf" |
	sha256sum | cut -d' ' -f1)" "$(ls "$CACHE"/debs/linux-image-* 2>/dev/null)" |
	sha256sum | cut -d' ' -f1)
if [ -f "$TOP/overlay.key" ] && [ "$(cat "$TOP/overlay.key")" = "$key" ]; then
	log "cached: $(echo "$vers" | tr ' ' '\n' | grep '^criu=')"
	echo "$OVL"
	exit 0
fi
log "unpacking into $OVL"
rm -rf "$OVL" "$TOP/patchelf"
mkdir -p "$OVL$ROOT" "$TOP/patchelf"
unpack() {
	local v deb
	v=${vers#* "$1"=}
	v=${v%% *}
	deb=$(debfile "$1" "$v")
	[ -n "$deb" ] || die "$1=$v not downloaded"
	dpkg-deb -x "$deb" "$2"
}
for p in "${want[@]}"; do unpack "$p" "$OVL$ROOT"; done
for p in "${tools[@]}"; do unpack "$p" "$TOP/patchelf"; done
r=$OVL$ROOT
[ -x "$r/usr/sbin/criu" ] || die "no usr/sbin/criu in the criu package"
# Debian 13 is merged-/usr: the loader is /usr/lib64/ld-linux-x86-64.so.2
# (the /lib64 symlink comes from base-files, not unpacked here).
ld=$r/usr/lib64/ld-linux-x86-64.so.2
[ -e "$ld" ] || ld=$r/lib64/ld-linux-x86-64.so.2
[ -e "$ld" ] || die "no ld-linux-x86-64.so.2 in trixie's libc6"
# Trim what the guest does not need (docs, man pages, locales, headers).
rm -rf "$r"/usr/share/{doc,man,info,locale,lintian,bug} "$r"/usr/include

# patchelf from trixie needs trixie's libstdc++/libc: run it through the
# loader too (it is the host that runs it, with the unpacked libraries).
libdirs="$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu:$r/usr/lib64"
pe() {
	"$ld" --library-path "$libdirs:$TOP/patchelf/usr/lib/x86_64-linux-gnu" \
		"$TOP/patchelf/usr/bin/patchelf" "$@"
}
# Guest paths of the same.
glib="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
gld=$ROOT/${ld#"$r"/}
pe --set-interpreter "$gld" --force-rpath --set-rpath "$glib" "$r/usr/sbin/criu"
# The libraries' own dependencies resolve through the binary's DT_RPATH
# (not RUNPATH: RUNPATH would not apply to them).
log "criu: interpreter $(pe --print-interpreter "$r/usr/sbin/criu")"

# CRIU's probes (kerndat) run libnftables, which exit()s when it cannot
# open a NETLINK_NETFILTER socket: the guest kernels need nfnetlink.ko,
# which the initramfs does not have.  Take it from each kernel's image deb
# that tests/setup-host.sh cached; the guest script insmods the one of
# `uname -r`.
grep -v '^#' "$HERE/../../kernels.conf" | while read -r _n abi _s _m; do
	[ -n "$abi" ] || continue
	deb=
	for f in "$CACHE/debs/linux-image-${abi}_"*.deb; do
		[ -f "$f" ] && deb=$f
	done
	if [ -z "$deb" ]; then
		log "no $CACHE/debs/linux-image-${abi}_*.deb: no nfnetlink.ko for $abi"
		continue
	fi
	tmp=$(mktemp -d)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$tmp" --wildcards "./lib/modules/$abi/kernel/net/netfilter/nfnetlink.ko*"
	mkdir -p "$OVL/opt/criu/kmod/$abi"
	for ko in "$tmp/lib/modules/$abi/kernel/net/netfilter/"nfnetlink.ko*; do
		case $ko in
		*.ko) cp "$ko" "$OVL/opt/criu/kmod/$abi/nfnetlink.ko" ;;
		*.ko.xz) xz -dc "$ko" >"$OVL/opt/criu/kmod/$abi/nfnetlink.ko" ;;
		*.ko.zst) zstd -qdc "$ko" >"$OVL/opt/criu/kmod/$abi/nfnetlink.ko" ;;
		*) die "unexpected module $ko" ;;
		esac
	done
	rm -rf "$tmp"
done

mkdir -p "$OVL/usr/sbin"
ln -sfn "$ROOT/usr/sbin/criu" "$OVL/usr/sbin/criu"
# The test programs (static) go with it.
mkdir -p "$OVL/opt/criu/bin"
for t in criu_victim criu_imgcmp; do
	gcc -static -O2 -Wall -Wextra -o "$OVL/opt/criu/bin/$t" "$HERE/$t.c" ||
		die "gcc $t.c failed"
done
echo "$vers" | tr ' ' '\n' | grep . >"$OVL/opt/criu/VERSIONS"
echo "$key" >"$TOP/overlay.key"
echo "$OVL"
