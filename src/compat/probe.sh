#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage: probe.sh CACHEDIR PROBEDIR KEYFILES -- CC FLAGS...
#
# Compile every PROBEDIR/*.c with "CC FLAGS -fsyntax-only" (the kernel's own
# compiler and flags, passed in by compat/Kbuild.include), all at once, and
# print the path of a make fragment that sets wpu-probe-NAME := y for each
# probe that compiled.  The fragment is cached in CACHEDIR under a hash of
# the command, the probes, this script and KEYFILES (the kernel's config
# and symbol files), so an incremental build, or a build that comes back to
# a kernel already probed, runs nothing.  NAME.log keeps each compiler's
# output: a probe that says "no" tells why there.
set -u

cache=$1 dir=$2 keyfiles=$3
shift 4

key=$( {
	printf '%s\n' "$*"
	cat "$0" "$dir"/*.c
	# shellcheck disable=SC2086 # a list of paths without spaces
	cat $keyfiles 2>/dev/null
} | md5sum | cut -c1-16)
out=$cache/$key.mk
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

work=$cache/$key.d
rm -rf "$work"
mkdir -p "$work" || exit 1
for c in "$dir"/*.c; do
	name=$(basename "$c" .c)
	{ "$@" -fsyntax-only "$c" >"$work/$name.log" 2>&1 &&
		echo "wpu-probe-$name := y" >"$work/$name.ok"; } &
done
wait

# A setup that cannot compile even sanity.c is not cached: its answers
# are not facts about the kernel.
[ -f "$work/sanity.ok" ] || out=$cache/$key.failed.mk
{
	echo "# $key: $*"
	cat "$work"/*.ok 2>/dev/null || :
} >"$out.tmp" && mv "$out.tmp" "$out"
echo "$out"
