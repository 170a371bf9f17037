# shellcheck shell=bash
# The VM side shared by tests/run and tests/bench/run (tests/packaging.sh
# boots through tests/run): the module build, the busybox initramfs, one
# QEMU boot with its two serial ports, and the judging of the console.
# Source it after tests/lib-host.sh; it only defines variables and functions.
#
# A guest has two serial ports.  ttyS0 is the console: the kernel's messages
# and everything the tests print.  ttyS1 is the results port (the guest is
# told "wpu.results=/dev/ttyS1"): only the guest's result lines, written
# one write() each, so a kernel message cannot split them.  The host counts
# the results port and judges the console.

# A console line that fails a run (kernel complaints).
VM_CONSOLE_RE='WARNING:|BUG:|Oops|Call Trace|soft lockup|hung_task|bad page|bad pmd|bad pte|Kernel panic|general protection fault|kernel BUG'

# vm_build_module TREE BUILD LOG: copy TREE's src/ (and include/) into
# BUILD and build the module for the current kernel (kernel_lookup) into
# BUILD/src/uffd_wpu.ko, output in LOG.  Status: 3 if there is no kernel
# build dir, else make's.
vm_build_module() {
	local tree=$1 b=$2 log=$3 kb
	kb=$(kbuild_dir) || return 3
	rm -rf "$b"
	mkdir -p "$b"
	cp -a "$tree/src" "$b/src"
	[ -d "$tree/include" ] && cp -a "$tree/include" "$b/include"
	cp -a "$tree/dkms.conf" "$b/"
	make -C "$kb" M="$b/src" -j"$(nproc)" modules >"$log" 2>&1
}

# vm_root ROOT INIT [DIR...]: a busybox root file system in ROOT (emptied
# first), INIT as its /init, and the directories DIR... below it.
vm_root() {
	local r=$1 init=$2 a d
	shift 2
	rm -rf "$r"
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp}
	for d in "$@"; do mkdir -p "$r/$d"; done
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ "$a" = bin/busybox ] || ln -s /bin/busybox "$r/$a"
	done
	install -m 755 "$init" "$r/init"
}

# vm_pack ROOT INITRD: ROOT as a gzipped newc cpio archive.
vm_pack() {
	# The kernel opens /dev/console before /init runs (init falls back to
	# devtmpfs' node when this cannot be made, i.e. not root).
	mknod -m 600 "$1/dev/console" c 5 1 2>/dev/null
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$2"
}

# vm_boot DIR TIMEOUT VERBOSE CMDLINE [QEMU-ARG...]: boot the current kernel
# (kernel_lookup) with DIR/initrd.gz under QEMU TCG, at most TIMEOUT
# seconds; the console goes to DIR/console.log (and the terminal if VERBOSE
# is 1), the results port to DIR/results.log (CRs dropped).  Sets VM_RC,
# QEMU's status (124: timeout).
# shellcheck disable=SC2034 # VM_RC is the caller's
vm_boot() {
	local dir=$1 tmo=$2 verbose=$3 cmdline=$4
	shift 4
	: >"$dir/results.log"
	# --foreground: Ctrl-C reaches QEMU; QEMU has no children to time out.
	# ttyS0: the console on stdio, with the monitor (as -nographic alone);
	# ttyS1: the results port, a file.
	set -- timeout --foreground "$tmo" qemu-system-x86_64 -accel tcg \
		-nographic -no-reboot -serial mon:stdio -serial "file:$dir/results.log" \
		-kernel "$(kernel_files_dir)/vmlinuz" -initrd "$dir/initrd.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 wpu.results=/dev/ttyS1 $cmdline" "$@"
	if [ "$verbose" = 1 ]; then
		"$@" </dev/null 2>&1 | tee "$dir/console.log"
		VM_RC=${PIPESTATUS[0]}
	else
		"$@" </dev/null >"$dir/console.log" 2>&1
		VM_RC=$?
	fi
	vm_text "$dir/results.log" >"$dir/results.tmp" && mv "$dir/results.tmp" "$dir/results.log"
}

# vm_text FILE: FILE without CRs and the terminal escapes of SeaBIOS/the
# kernel.
vm_text() {
	tr -d '\r' <"$1" | sed -E 's/\x1b(\[[0-9;?]*[A-Za-z]|c)//g'
}

# vm_done DIR: true if the guest wrote "@@ DONE" to its results port.
vm_done() { grep -qx '@@ DONE' "$1/results.log"; }

# vm_complaints RESULTS <CONSOLE: the kernel complaints of a console text,
# once per distinct message: timestamps stripped, and the same WARNING from
# another CPU/PID counts once.  The lines of the file RESULTS (the results
# port) are the guest's copies of its result lines on the console, not
# judged; a result line that a kernel message split is judged.
vm_complaints() {
	grep -E "$VM_CONSOLE_RE" | grep -vxF -f "$1" |
		sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' |
		awk '{ k = $0; gsub(/CPU: [0-9]+ PID: [0-9]+/, "", k) } !seen[k]++'
}
