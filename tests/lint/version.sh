#!/bin/bash
# The version is written once: PACKAGE_VERSION in dkms.conf.  src/Kbuild
# (WPU_VERSION, MODULE_VERSION), lib/lib.mk (library, CLI, pkg-config),
# packaging.mk (tarball) and debian/rules (DKMS source dir) read it from
# there.  What cannot read it is checked here against it:
#   debian/changelog   the upstream part of the newest entry
#   rpm/uffd-wpu.spec  Version:, the newest %changelog entry, the comment
#   man/*              .TH footers and the version in examples
#   README.md          every uffd-wpu[-/]X.Y.Z (dkms and package commands)
# and the library's ABI: the soname major of lib/lib.mk against the Debian
# package name (debian/control, debian/*.symbols, *.install) and the RPM
# %files.  debian/*.symbols record the version that introduced a symbol;
# docs/ are history: neither is checked.
#
#   tests/lint/version.sh          (tests/lint/run version)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

bad=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
V=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
if ! [[ $V =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	echo "dkms.conf: PACKAGE_VERSION=\"$V\" is not X.Y.Z"
	exit 1
fi

# expect FILE WHAT FOUND: FOUND must be $V.
expect() {
	if [ "$3" != "$V" ]; then
		echo "$1: $2 is '$3', dkms.conf says $V"
		bad=1
	fi
}

# debian/changelog: "uffd-wpu (X.Y.Z-N) ..." on its first line.
deb=$(sed -n '1s/^uffd-wpu (\([^)]*\)).*/\1/p' debian/changelog)
expect debian/changelog "the newest entry's upstream version" "${deb%-*}"

# rpm/uffd-wpu.spec
spec=rpm/uffd-wpu.spec
expect $spec "Version:" "$(sed -n 's/^Version:[[:space:]]*//p' $spec)"
expect $spec "the newest %changelog entry" \
	"$(sed -n '/^%changelog/,${/^\* /{s/.* - \([^ -]*\)-[^ -]*$/\1/p;q}}' $spec)"

# Every X.Y.Z that names our version in the man pages, the README and the
# spec's comments: "uffd-wpu X.Y.Z", "uffd-wpu/X.Y.Z", "uffd-wpu-X.Y.Z",
# "uffd_wpu X.Y.Z", "module X.Y.Z", "libuffd-wpu-X.Y.Z".
while IFS=: read -r file line text; do
	grep -oE '(uffd[-_]wpu|module)[ /-][0-9]+\.[0-9]+\.[0-9]+' <<<"$text" |
		grep -oE '[0-9]+\.[0-9]+\.[0-9]+$' >"$tmp"
	while read -r w; do
		expect "$file:$line" "the version in '$(grep -oE "[^ \`\"]*[ /-]$w" <<<"$text" | head -n 1)'" "$w"
	done <"$tmp"
done < <(git grep -nE '(uffd[-_]wpu|module)[ /-][0-9]+\.[0-9]+\.[0-9]+' -- \
	README.md 'man/*' "$spec" | grep -v "^$spec:[0-9]*:\* ")
# man/uffd_wpu.3 shows uffd_wpu_library_version()'s result: """X.Y.Z""".
while IFS=: read -r file line text; do
	expect "$file:$line" "the version in an example" \
		"$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$text" | head -n 1)"
done < <(git grep -nE '"""[0-9]+\.[0-9]+\.[0-9]+"""' -- 'man/*')

# The soname major of libuffd-wpu.
so=$(sed -n 's/^UWL_SOMAJOR := *//p' lib/lib.mk)
if [ -z "$so" ]; then
	echo "lib/lib.mk: no UWL_SOMAJOR"
	bad=1
else
	grep -q "^Package: libuffd-wpu$so\$" debian/control ||
		{ echo "debian/control: no package libuffd-wpu$so (soname major $so in lib/lib.mk)"; bad=1; }
	[ -f "debian/libuffd-wpu$so.symbols" ] && [ -f "debian/libuffd-wpu$so.install" ] ||
		{ echo "debian/: no libuffd-wpu$so.symbols/.install (soname major $so)"; bad=1; }
	grep -q "^libuffd-wpu.so.$so libuffd-wpu$so " "debian/libuffd-wpu$so.symbols" 2>/dev/null ||
		{ echo "debian/libuffd-wpu$so.symbols: first line is not 'libuffd-wpu.so.$so libuffd-wpu$so ...'"; bad=1; }
	grep -q "/libuffd-wpu.so.$so\$" $spec ||
		{ echo "$spec: %files has no libuffd-wpu.so.$so"; bad=1; }
	for f in debian/libuffd-wpu[0-9]*.*; do
		case $f in "debian/libuffd-wpu$so".*) ;; *)
			echo "$f: soname major is $so (lib/lib.mk)"; bad=1 ;;
		esac
	done
fi

[ $bad = 0 ] || exit 1
echo "lint: version $V (dkms.conf) agrees with debian/changelog, $spec, man/, README.md; soname major $so"
