#!/bin/bash
# The packages, installed for real on this Debian 12 machine (as root).
# `make check-packaging` calls this; it is idempotent: a previous run's
# packages are purged first.
#
#   1. build dependencies (apt-get, only what is missing) and the kernels
#      (tests/setup-host.sh: headers, images for the VM)
#   2. make deb; lintian must report no error
#   3. apt-get install ./uffd-wpu-dkms ./libuffd-wpu1 ./libuffd-wpu-dev
#      ./uffd-wpu-tools: the dkms postinst must not fail (the running
#      kernel has no headers here, and a kernel in range without headers
#      is added for the time of the install: an empty /lib/modules/<fake>);
#      the library, header, pkg-config file and CLI work
#   4. per load-mode kernel of tests/kernels.conf (5.10, 6.1): dkms remove
#      + dkms install uffd-wpu/VERSION -k ABI (timed); updates/dkms/
#      uffd_wpu.ko[.xz|.zst|.gz] exists, its vermagic is the kernel's own
#      (that of its brd.ko); BUILD_EXCLUSIVE_KERNEL refuses the refuse-mode
#      kernels (6.12), BUILD_EXCLUSIVE_CONFIG a .config without CONFIG_KPROBES
#   5. tests/run --module-from /lib/modules/%v/updates/dkms/uffd_wpu.ko:
#      those kernels boot with the DKMS-built module, modprobe'd
#      (tests/guest/05-modprobe.sh), and the whole suite runs against it
#   6. apt-get purge: no /usr/src/uffd-wpu-*, /var/lib/dkms/uffd-wpu,
#      updates/dkms/uffd_wpu.ko*, no file of the packages, and no file in
#      /etc /usr /opt /var/lib/dkms /var/lib/dpkg/info that was not there
#      before the install
#   7. make rpm
#
# Usage: tests/packaging.sh [--no-vm] [--keep]
#   --no-vm   skip step 5
#   --keep    do not purge at the end (the packages stay installed)
# Environment: UFFD_WPU_PKG_OUT=DIR (logs, default tests/out/packaging),
# UFFD_WPU_CACHE / UFFD_WPU_KVER_<name> as for tests/run.
# Last line: "N passed, N failed, N skipped"; exit status 0 iff none failed.
set -uo pipefail
{
# shellcheck source=tests/lib-host.sh
. "$(dirname "$0")/lib-host.sh"

VM=1
KEEP=0
for a in "$@"; do
	case $a in
	--no-vm) VM=0 ;;
	--keep) KEEP=1 ;;
	-h|--help) sed -n '2,/^set -uo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) die "unknown argument '$a'" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages)"

cd "$REPO_DIR" || exit 2
export DEBIAN_FRONTEND=noninteractive
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
OUT=${UFFD_WPU_PKG_OUT:-$TESTS_DIR/out/packaging}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd) || die "cannot create $OUT"
DIST=$REPO_DIR/build/dist
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PKGS=(uffd-wpu-dkms libuffd-wpu1 libuffd-wpu-dev uffd-wpu-tools)
DEPS=(build-essential debhelper dh-dkms dkms lintian rpm fakeroot pkgconf gcc make kmod xz-utils zstd)

TIMES=()
# pkg_result "PASS|FAIL|SKIP what[: why]": one result of this script
pkg_result() { result pkg "$1"; }
# check NAME WHY CMD...: PASS NAME if CMD succeeds, else FAIL NAME: WHY
check() {
	local n=$1 w=$2
	shift 2
	if "$@"; then pkg_result "PASS $n"; else pkg_result "FAIL $n: $w"; fi
}
# timed LABEL LOG CMD...: run CMD into LOG, record its time under LABEL
timed() {
	local label=$1 log=$2 t0 rc
	shift 2
	t0=$(now)
	"$@" >"$log" 2>&1
	rc=$?
	TIMES+=("$label: $(secs $(($(now) - t0)))")
	echo "    ${TIMES[-1]} (log: $log)"
	return $rc
}
installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}
# The files, links and directories that could be ours, sorted.  Left out,
# because they are not the packages' and stay by design: depmod's indexes
# (modules.dep etc., rewritten by every depmod), DKMS's signing key
# /var/lib/dkms/mok.{key,pub} (made on the first DKMS build, kept for every
# later module).
snapshot() {
	find /etc /usr /opt /var/lib/dkms /var/lib/dpkg/info -xdev 2>/dev/null |
		grep -Ev '^/usr/lib/modules/[^/]+/modules\.[a-z.]+$|^/var/lib/dkms/mok\.(key|pub)$' |
		LC_ALL=C sort
}
module_file() {	# module_file ABI: the installed module, any compression
	local f
	for f in "/lib/modules/$1/updates/dkms/uffd_wpu.ko"{,.xz,.zst,.gz}; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}
purge_ours() {
	local p s have=()
	for p in "${PKGS[@]}"; do	# installed, or its configuration files left
		s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || continue
		[ "${s##* }" = not-installed ] || have+=("$p")
	done
	[ ${#have[@]} -eq 0 ] || apt-get purge -y -q "${have[@]}"
}

T_START=$(now)
echo "== packaging: uffd-wpu $VERSION, logs in $OUT"

# ---- 1. dependencies and kernels
missing=()
for p in "${DEPS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	echo "    installing ${missing[*]}"
	{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
		>"$OUT/deps.log" 2>&1 || { show_log "$OUT/deps.log" 30; die "apt-get install failed"; }
fi
LOAD_KERNELS=() REFUSE_KERNELS=()
for k in $(kernel_names); do
	kernel_lookup "$k"
	case $K_MODE in load) LOAD_KERNELS+=("$k") ;; refuse) REFUSE_KERNELS+=("$k") ;; esac
done
"$TESTS_DIR/setup-host.sh" "${LOAD_KERNELS[@]}" "${REFUSE_KERNELS[@]}" >"$OUT/setup-host.log" 2>&1 ||
	{ show_log "$OUT/setup-host.log" 30; die "tests/setup-host.sh failed"; }

# A previous run that stopped half-way: its packages, or a DKMS tree of ours.
purge_ours >"$OUT/pre-purge.log" 2>&1
if [ -d /var/lib/dkms/uffd-wpu ]; then
	dkms remove "uffd-wpu/$VERSION" --all >>"$OUT/pre-purge.log" 2>&1
	rm -rf /var/lib/dkms/uffd-wpu
fi

# ---- 2. the .debs
echo "== make deb"
if timed "make deb (dpkg-buildpackage -b + lintian)" "$OUT/deb.log" make deb; then
	pkg_result "PASS deb/build"
	pkg_result "PASS deb/lintian"
else
	if ls "$DIST/uffd-wpu-dkms_${VERSION}"-*_all.deb >/dev/null 2>&1 &&
	   grep -q '^E: ' "$DIST/lintian.log" 2>/dev/null; then
		pkg_result "PASS deb/build"
		pkg_result "FAIL deb/lintian: errors in $DIST/lintian.log"
		grep '^E: ' "$DIST/lintian.log" | sed 's/^/    | /'
	else
		pkg_result "FAIL deb/build: make deb failed (log: $OUT/deb.log)"
		show_log "$OUT/deb.log" 30
	fi
fi
grep -E '^lintian: ' "$OUT/deb.log" | sed 's/^/    /'
debs=()
for p in "${PKGS[@]}"; do
	f=$(ls "$DIST/${p}_${VERSION}"-*_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] && debs+=("$f")
done
if [ ${#debs[@]} -ne ${#PKGS[@]} ]; then
	pkg_result "FAIL deb/files: ${#debs[@]} of ${#PKGS[@]} .debs in $DIST"
	debs=()
fi

# ---- 3. install
snapshot >"$OUT/files-before.txt"
NOHDRS=/lib/modules/6.2.0-0-uffd-wpu-test-noheaders
trap 'rmdir "$NOHDRS" 2>/dev/null' EXIT
mkdir -p "$NOHDRS"
if [ ${#debs[@]} -gt 0 ]; then
	echo "== apt-get install ${debs[*]##*/}"
	if timed "apt-get install (postinst: dkms builds)" "$OUT/install.log" \
		apt-get install -y -q --no-install-recommends "${debs[@]}"; then
		pkg_result "PASS install"
	else
		pkg_result "FAIL install: apt-get install failed (log: $OUT/install.log)"
		show_log "$OUT/install.log" 30
	fi
	sed -n '/^Setting up uffd-wpu-dkms/,/^Setting up [^u]/p' "$OUT/install.log" |
		grep -E 'Building|chroot|Skipped|skipped|Installing to' | sed 's/^/    postinst: /'
	dkms status uffd-wpu >"$OUT/dkms-status-postinst.txt" 2>&1
	sed 's/^/    dkms status: /' "$OUT/dkms-status-postinst.txt"
	# common.postinst tries every kernel under /lib/modules only when the
	# running one has no /lib/modules dir (as here); else just that one.
	if [ -d "/lib/modules/$(uname -r)" ]; then
		pkg_result "SKIP install/no-headers: the running kernel has /lib/modules/$(uname -r)"
	else
		check install/no-headers "postinst did not skip ${NOHDRS##*/} (no headers)" \
			grep -q "Module build for kernel ${NOHDRS##*/} was skipped" "$OUT/install.log"
	fi
fi
rmdir "$NOHDRS"

if installed uffd-wpu-dkms; then
	check dkms/source "no /usr/src/uffd-wpu-$VERSION/{dkms.conf,src/Kbuild,include/uapi/linux/uffd-wpu.h}" \
		test -f "/usr/src/uffd-wpu-$VERSION/dkms.conf" -a -f "/usr/src/uffd-wpu-$VERSION/src/Kbuild" \
		-a -f "/usr/src/uffd-wpu-$VERSION/include/uapi/linux/uffd-wpu.h"
	check udev-rule "no /lib/udev/rules.d/60-uffd-wpu.rules with MODE=\"0666\"" \
		grep -q 'KERNEL=="uffd-wpu".*MODE="0666"' /lib/udev/rules.d/60-uffd-wpu.rules
	check no-autoload "something loads uffd_wpu at boot" \
		sh -c '! grep -rqs "^[[:space:]]*uffd_wpu" /etc/modules /etc/modules-load.d /usr/lib/modules-load.d'
fi
if installed uffd-wpu-tools; then
	v=$(uffd-wpu --version 2>&1)
	check tools/version "uffd-wpu --version said '$v'" grep -q "$VERSION" <<<"$v"
fi
if installed libuffd-wpu-dev; then
	cat >"$OUT/pc.c" <<'EOF'
#include <stdio.h>
#include <uffd-wpu.h>
#include <linux/uffd-wpu.h>
int main(void) { puts(uffd_wpu_library_version()); return 0; }
EOF
	# shellcheck disable=SC2046 # pkg-config prints several words
	if gcc -o "$OUT/pc" "$OUT/pc.c" $(pkg-config --cflags --libs uffd-wpu) >"$OUT/pc.log" 2>&1 &&
	   "$OUT/pc" >>"$OUT/pc.log" 2>&1; then
		check dev/pkg-config "program built with pkg-config printed '$(tail -n 1 "$OUT/pc.log")'" \
			grep -qx "$VERSION" <(tail -n 1 "$OUT/pc.log")
	else
		pkg_result "FAIL dev/pkg-config: cannot build/run against the installed library (log: $OUT/pc.log)"
		show_log "$OUT/pc.log" 10
	fi
fi

# ---- 4. DKMS per kernel
if installed uffd-wpu-dkms; then
	for k in "${LOAD_KERNELS[@]}"; do
		kernel_lookup "$k"
		echo "== dkms: $K_NAME ($K_ABI)"
		if [ ! -f "/lib/modules/$K_ABI/build/Makefile" ]; then
			pkg_result "FAIL dkms/$K_NAME: no /lib/modules/$K_ABI/build (linux-headers-$K_ABI)"
			continue
		fi
		dkms remove "uffd-wpu/$VERSION" -k "$K_ABI" >"$OUT/dkms-remove-$K_NAME.log" 2>&1
		if timed "dkms install -k $K_ABI (build + sign + install)" "$OUT/dkms-$K_NAME.log" \
			dkms install "uffd-wpu/$VERSION" -k "$K_ABI"; then
			pkg_result "PASS dkms/$K_NAME"
		else
			pkg_result "FAIL dkms/$K_NAME: dkms install failed (log: $OUT/dkms-$K_NAME.log)"
			show_log "$OUT/dkms-$K_NAME.log" 30
			mk=$(ls /var/lib/dkms/uffd-wpu/"$VERSION"/build/make.log 2>/dev/null)
			[ -n "$mk" ] && show_log "$mk" 30
			continue
		fi
		if ! ko=$(module_file "$K_ABI"); then
			pkg_result "FAIL dkms/$K_NAME-file: no /lib/modules/$K_ABI/updates/dkms/uffd_wpu.ko*"
			continue
		fi
		pkg_result "PASS dkms/$K_NAME-file: $ko"
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null)
		kvm=$(modinfo -F vermagic "$(kernel_files_dir)/brd.ko" 2>/dev/null)
		check "dkms/$K_NAME-vermagic" "vermagic '$vm', kernel's brd.ko has '$kvm'" \
			test -n "$vm" -a "$vm" = "$kvm" -a "${vm%% *}" = "$K_ABI"
		check "dkms/$K_NAME-modinfo" "modinfo version is not $VERSION" \
			test "$(modinfo -F version "$ko" 2>/dev/null)" = "$VERSION"
		check "dkms/$K_NAME-modules-dep" "updates/dkms/uffd_wpu.ko not in modules.dep" \
			grep -q '^updates/dkms/uffd_wpu\.ko' "/lib/modules/$K_ABI/modules.dep"
	done
	# BUILD_EXCLUSIVE_KERNEL: kernels with the native feature are skipped
	# (dkms exit status 77), their headers given with --kernelsourcedir.
	for k in "${REFUSE_KERNELS[@]}"; do
		kernel_lookup "$k"
		if ! kb=$(kbuild_dir); then
			pkg_result "SKIP dkms/exclusive-$K_NAME: no headers for $K_ABI"
			continue
		fi
		dkms build "uffd-wpu/$VERSION" -k "$K_ABI" --kernelsourcedir "$kb" \
			>"$OUT/dkms-$K_NAME.log" 2>&1
		rc=$?
		check "dkms/exclusive-$K_NAME" "dkms build for $K_ABI exited $rc, not 77 (BUILD_EXCLUSIVE_KERNEL)" \
			test $rc = 77
	done
	# BUILD_EXCLUSIVE_CONFIG: a 6.1 .config without CONFIG_KPROBES.
	kernel_lookup "${LOAD_KERNELS[-1]}"
	fake=$OUT/no-kprobes
	rm -rf "$fake"
	mkdir -p "$fake"
	if grep -v '^CONFIG_KPROBES=' "/lib/modules/$K_ABI/build/.config" >"$fake/.config" 2>/dev/null; then
		dkms build "uffd-wpu/$VERSION" -k "${K_ABI%-*}-9999-fake" --kernelsourcedir "$fake" \
			>"$OUT/dkms-no-kprobes.log" 2>&1
		rc=$?
		check dkms/exclusive-config "dkms build without CONFIG_KPROBES exited $rc, not 77 (BUILD_EXCLUSIVE_CONFIG)" \
			test $rc = 77
	fi
	rm -rf "$fake"
fi

# ---- 5. the DKMS-built modules in the VM
if [ $VM = 1 ] && installed uffd-wpu-dkms; then
	args=()
	for k in "${LOAD_KERNELS[@]}"; do args+=(--kernel "$k"); done
	echo "== tests/run --module-from '/lib/modules/%v/updates/dkms/uffd_wpu.ko' ${args[*]}"
	t0=$(now)
	UFFD_WPU_NO_SETUP=1 UFFD_WPU_OUT=$OUT/vm UFFD_WPU_UPSTREAM=0 \
		"$TESTS_DIR/run" --module-from '/lib/modules/%v/updates/dkms/uffd_wpu.ko' \
		"${args[@]}" 2>&1 | tee "$OUT/vm.log" | grep --line-buffered -E '^==|FAIL|modprobe/|module-from/'
	TIMES+=("VM (tests/run ${args[*]}): $(secs $(($(now) - t0)))")
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/vm.log" | tail -n 1)
	if [ -z "$line" ]; then
		pkg_result "FAIL vm: tests/run printed no result line (log: $OUT/vm.log)"
		show_log "$OUT/vm.log" 30
	else
		read -r p _ f _ s _ <<<"${line//,/}"
		NPASS=$((NPASS + p)) NFAIL=$((NFAIL + f)) NSKIP=$((NSKIP + ${s:-0}))
		while IFS= read -r l; do FAILS+=("$l"); done < \
			<(awk '/^== failures:/ { exit } /^\[[^]]+\] FAIL/' "$OUT/vm.log")
		for k in "${LOAD_KERNELS[@]}"; do
			grep -q "^\[$k\] PASS modprobe/load" "$OUT/vm.log" ||
				pkg_result "FAIL vm/$k-modprobe: no modprobe/load PASS from the guest"
		done
	fi
elif [ $VM = 0 ]; then
	pkg_result "SKIP vm: --no-vm"
fi

# ---- 6. purge: nothing left
if [ $KEEP = 1 ]; then
	pkg_result "SKIP purge: --keep"
else
	echo "== apt-get purge ${PKGS[*]}"
	if timed "apt-get purge" "$OUT/purge.log" purge_ours; then
		pkg_result "PASS purge"
	else
		pkg_result "FAIL purge: apt-get purge failed (log: $OUT/purge.log)"
		show_log "$OUT/purge.log" 30
	fi
	left=$(ls -d /usr/src/uffd-wpu-* /var/lib/dkms/uffd-wpu \
		/lib/modules/*/updates/dkms/uffd_wpu.ko* 2>/dev/null)
	check purge/dkms "left behind: ${left//$'\n'/ }" test -z "$left"
	left=
	for d in "${debs[@]}"; do
		left+=$(dpkg-deb -c "$d" | awk '{ print $6 }' | sed 's|^\.||' | grep -v '/$' |
			while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo " $f"; done)
	done
	check purge/package-files "files of the packages left:$left" test -z "$left"
	snapshot >"$OUT/files-after.txt"
	diff "$OUT/files-before.txt" "$OUT/files-after.txt" >"$OUT/files.diff"
	check purge/file-list "before/after install+purge differ: $(head -c 600 "$OUT/files.diff" | tr '\n' ' ')" \
		test ! -s "$OUT/files.diff"
fi

# ---- 7. the RPMs
echo "== make rpm"
if timed "make rpm (rpmbuild -ba)" "$OUT/rpm.log" make rpm; then
	n=$(ls "$DIST"/*.rpm 2>/dev/null | wc -l)
	check rpm/build "make rpm built $n .rpm files, expected 5 (4 + .src.rpm)" test "$n" = 5
else
	pkg_result "FAIL rpm/build: make rpm failed (log: $OUT/rpm.log)"
	show_log "$OUT/rpm.log" 30
fi

echo
echo "== times"
printf '   %s\n' "${TIMES[@]}"
echo "== total time $(secs $(($(now) - T_START)))"
result_summary
exit
}
