#!/bin/bash
# Run commands in a fresh Debian 12 root, as a new user's first run would:
# `debootstrap --variant=minbase bookworm` with Debian 12's three default
# suites, nothing of this machine's /usr/include, /var/cache/uffd-wpu or
# installed packages visible, an empty download cache, no locale, an empty
# /tmp.  The committed HEAD of this checkout is cloned to /root/uffd-wpu in
# the root (uncommitted changes are not in it, as in a user's clone).
# .ci/run runs the README's commands this way on every submission.
#
#   tests/fresh-root.sh [--keep] -- COMMAND...     (as root)
#   tests/fresh-root.sh -- bash -c 'apt-get install -y git make && make -C /root/uffd-wpu demo'
#
#   --keep   keep the root afterwards (its path is printed); default: removed
#
# The pristine root is made once and kept as a tarball,
# ${UFFD_WPU_CI_CACHE:-/var/cache/uffd-wpu-ci}/bookworm-minbase.tar.zst
# (remade when older than 14 days); every run unpacks a new copy under
# ${UFFD_WPU_CI_WORK:-/var/tmp/uffd-wpu-ci}.  The root gets its own mount
# namespace (proc, /sys and /dev bound in), so nothing it mounts outlives
# the command.  Exit status: the command's.
set -euo pipefail

CI_CACHE=${UFFD_WPU_CI_CACHE:-/var/cache/uffd-wpu-ci}
CI_WORK=${UFFD_WPU_CI_WORK:-/var/tmp/uffd-wpu-ci}
MIRROR=http://deb.debian.org/debian
TARBALL=$CI_CACHE/bookworm-minbase.tar.zst
REPO=$(cd "$(dirname "$0")/.." && pwd)
KEEP=0

log() { echo "fresh-root: $*" >&2; }
die() { echo "fresh-root: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--keep) KEEP=1 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (commands go after --)" ;;
	esac
	shift
done
[ $# -gt 0 ] || die "no command given (tests/fresh-root.sh -- COMMAND...)"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"

host_tools() {
	local missing=() t
	for t in debootstrap zstd; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "apt-get install ${missing[*]} (on this machine)"
	apt-get update -q >&2 && apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2 || die "cannot install ${missing[*]}"
}

# The sources of a Debian 12 installed from its images: the three suites.
write_sources() {
	cat >"$1/etc/apt/sources.list" <<-EOF
	deb $MIRROR bookworm main
	deb $MIRROR bookworm-updates main
	deb http://deb.debian.org/debian-security bookworm-security main
	EOF
}

make_tarball() {
	local tmp=$CI_CACHE/build.$$
	log "debootstrap --variant=minbase bookworm (once; cached as $TARBALL)"
	mkdir -p "$CI_CACHE"
	rm -rf "$tmp"
	debootstrap --variant=minbase bookworm "$tmp" "$MIRROR" \
		>"$CI_CACHE/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CI_CACHE/debootstrap.log" >&2; rm -rf "$tmp"
		  die "debootstrap failed (log: $CI_CACHE/debootstrap.log)"; }
	write_sources "$tmp"
	# Pristine: no downloaded .debs, no package lists.
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
	tar -C "$tmp" --numeric-owner -cf - . | zstd -q -T0 -o "$TARBALL.new"
	mv "$TARBALL.new" "$TARBALL"
	rm -rf "$tmp"
}

host_tools
if [ ! -f "$TARBALL" ] || [ -n "$(find "$TARBALL" -mtime +14)" ]; then
	make_tarball
fi

mkdir -p "$CI_WORK"
ROOT=$(mktemp -d "$CI_WORK/root.XXXXXX")
cleanup() {
	if [ "$KEEP" = 1 ]; then
		log "kept $ROOT"
	else
		rm -rf --one-file-system "$ROOT"
	fi
}
trap cleanup EXIT
log "unpacking a fresh root into $ROOT"
zstd -qdc "$TARBALL" | tar -C "$ROOT" --numeric-owner -xf -
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
git clone -q --no-local "$REPO" "$ROOT/root/uffd-wpu" ||
	die "cannot clone $REPO"

# Own mount namespace: everything mounted here goes away with the command.
set +e
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	r=$1; shift
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o size=8g tmpfs "$r/dev/shm"
	exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb CI="${CI:-}" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh -c "cd /root/uffd-wpu && exec \"\$@\"" sh "$@"
' fresh-root "$ROOT" "$@"
rc=$?
exit $rc
