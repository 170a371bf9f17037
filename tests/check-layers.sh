#!/bin/bash
# Usage: tests/check-layers.sh [--kernel NAME]... [OBJDIR]...
#
# The module's files call and include only their own layer and the layers
# below it, and the files of one layer call each other in no circle; the
# layer of every file is the table in src/README.  Fails (exit 1), naming
# file:line and the symbol or header, when that is not so.
#
# Includes are read from the sources.  Calls (and uses of variables) are
# read from built objects with nm: what an object leaves undefined and
# another object of the module defines.  Objects are those of the last
# `make module` in src/ (or each OBJDIR given), and with --kernel NAME a
# private build for that kernel of tests/kernels.conf (repeatable: files
# built only on some kernels are checked where they are built).  Without
# objects only the includes are checked, and that is said.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/src
kernels=()
objdirs=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernels+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) objdirs+=("$1"); shift ;;
	esac
done

declare -A layer label
# Rows of the layer map: "| 3     | fork.c       | ...".
while IFS='|' read -r _ l f _; do
	l=${l//[[:space:]]/}
	f=${f//[[:space:]]/}
	[[ $l =~ ^[0-9]+$ && $f =~ ^[a-z0-9_]+\.[ch]$ ]] && layer[$f]=$l
done < "$src/README"
[ ${#layer[@]} -gt 0 ] || { echo "src/README: no layer map found" >&2; exit 2; }

bad=0
fail() {
	echo "$*"
	bad=1
}

# The first line of src/FILE that mentions WORD, for the message.
line_of() {
	local n
	n=$(grep -n -w -m1 -- "$2" "$src/$1" | cut -d: -f1) || true
	echo "${n:-1}"
}

# --- every file has a layer ----------------------------------------------
for p in "$src"/*.c "$src"/*.h; do
	f=${p##*/}
	case $f in *.mod.c) continue ;; esac	# made by Kbuild
	[ -n "${layer[$f]:-}" ] ||
		fail "src/$f:1: not in the layer map of src/README"
done

# --- includes --------------------------------------------------------------
for p in "$src"/*.c "$src"/*.h; do
	f=${p##*/}
	[ -n "${layer[$f]:-}" ] || continue
	while IFS=: read -r n h; do
		h=${h#*\"}
		h=${h%%\"*}
		case $h in compat/*) continue ;; esac	# force-included: layer 0
		if [ -z "${layer[$h]:-}" ]; then
			fail "src/$f:$n: includes \"$h\", which is not in the layer map"
		elif [ "${layer[$h]}" -gt "${layer[$f]}" ]; then
			fail "src/$f:$n: includes \"$h\" (layer ${layer[$h]}) from layer ${layer[$f]}"
		fi
	done < <(grep -n '^#include "' "$p" || true)
done

# --- calls, from objects ---------------------------------------------------
build() {
	local kdir tmp
	kdir=$("$top/tests/kbuild-dir" "$1")
	tmp=$(mktemp -d)
	cp -r "$src" "$top/include" "$tmp/"
	find "$tmp/src" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \
		-o -name '*.mod*' \) -delete
	make -s -C "$kdir" M="$tmp/src" modules >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log" >&2; echo "build for $1 failed" >&2; exit 2; }
	objdirs+=("$tmp/src")
	label[$tmp/src]="the $1 build"
	cleanup+=("$tmp")
}
cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT
for k in "${kernels[@]}"; do
	build "$k"
done
[ ${#objdirs[@]} -gt 0 ] || [ ${#kernels[@]} -gt 0 ] || objdirs=("$src")

# The objects of the module in DIR: its .mod lists them.
objects() {
	local mod=$1/uffd_wpu.mod
	[ -f "$mod" ] || return 0
	tr ' ' '\n' < "$mod" | grep '\.o$' | sed 's,.*/,,'
}

check_objects() {
	local dir=$1 o f sym def edges="" uses="" loop a b
	local name=${label[$dir]:-$dir}
	declare -A owner=()
	local objs
	objs=$(objects "$dir")
	if [ -z "$objs" ]; then
		echo "check-layers: no module objects in $name: run make module first, or pass --kernel NAME" >&2
		exit 2
	fi
	for o in $objs; do
		f=${o%.o}.c
		while read -r sym; do
			owner[$sym]=$f
		done < <(nm --defined-only "$dir/$o" | awk '$2 ~ /^[A-Z]$/ { print $3 }')
	done
	for o in $objs; do
		f=${o%.o}.c
		[ -n "${layer[$f]:-}" ] || continue
		while read -r sym; do
			def=${owner[$sym]:-}
			if [ -z "$def" ] || [ "$def" = "$f" ]; then
				continue
			fi
			if [ "${layer[$def]}" -gt "${layer[$f]}" ]; then
				fail "src/$f:$(line_of "$f" "$sym"): uses $sym of $def (layer ${layer[$def]}) from layer ${layer[$f]}"
			elif [ "${layer[$def]}" -eq "${layer[$f]}" ]; then
				edges+="$f $def"$'\n'
				uses+="$f $def $sym"$'\n'
			fi
		done < <(nm --undefined-only "$dir/$o" | awk '{ print $2 }')
	done
	# Within a layer: a circle is what tsort cannot order.
	if [ -n "$edges" ] && ! printf '%s' "$edges" | tsort >/dev/null 2>"$dir/.tsort.err"; then
		loop=$(grep -v 'input contains a loop' "$dir/.tsort.err" |
		       sed 's/^tsort: //' | sort -u | xargs)
		# The uses between the files of the circle, one line each.
		while read -r a b sym; do
			[[ " $loop " == *" $a "* && " $loop " == *" $b "* ]] &&
				fail "src/$a:$(line_of "$a" "$sym"): uses $sym of $b, same layer, in a circle: $loop"
		done <<< "$uses"
	fi
	rm -f "$dir/.tsort.err"
	echo "check-layers: calls of $(echo "$objs" | wc -w) objects of $name checked"
}

for d in "${objdirs[@]}"; do
	check_objects "$d"
done

if [ "$bad" -ne 0 ]; then
	echo "check-layers: FAILED (layer map: src/README)"
	exit 1
fi
echo "check-layers: OK"
