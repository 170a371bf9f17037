# uffd-wpu
#
#   make module                      build src/uffd_wpu.ko for the running kernel
#   make module KVER=6.1.0-56-amd64  ... against /lib/modules/KVER/build
#   make module KERNEL=6.12          ... for a kernel named in tests/kernels.conf
#   make module KDIR=/path/to/build  ... against any kernel build dir
#   make demo                        boot Debian 6.1 in QEMU: the gap, the module, the gap closed
#   make check                       VM tests on every kernel of tests/kernels.conf
#   make check ARGS="--kernel 6.1"   ... with tests/run options (see tests/run -h)
#   make check-apps                  real applications in the VMs (tests/apps/README)
#   make check-matrix                VM tests on the kernels tests/matrix/build.sh cached
#   make bench                       benchmarks in QEMU, every kernel (docs/benchmarks.md)
#   make bench-quick                 ... 64 MiB, THP never: a smoke test for CI
#   make lint                        checkpatch, shellcheck, W=1 builds, version,
#                                    commit subjects, whitespace (tests/lint/run)
#   make lint STEPS="checkpatch kbuild"  ... only these steps
#   make clean

KVER ?= $(shell uname -r)
ifdef KERNEL
KDIR ?= $(shell tests/kbuild-dir $(KERNEL))
endif
KDIR ?= /lib/modules/$(KVER)/build

.PHONY: all module demo check check-apps check-matrix bench bench-quick lint clean

all: module

module:
	@test -f "$(KDIR)/Makefile" || { \
		echo "no kernel build dir '$(KDIR)': install linux-headers-$(KVER)," \
		     "or pass KVER=, KDIR= or KERNEL= (tests/setup-host.sh prepares" \
		     "the kernels of tests/kernels.conf)"; exit 1; }
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)/src" modules

demo:
	tests/run --demo $(ARGS)

check:
	tests/run $(ARGS)

check-apps:
	tests/apps/run $(ARGS)

check-matrix:
	tests/matrix/check $(ARGS)

bench:
	tests/bench/run $(ARGS)

bench-quick:
	tests/bench/run --quick $(ARGS)

lint:
	tests/lint/run $(STEPS)

clean:
	rm -rf tests/out
	find src \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '.*.d' \) -delete
	rm -rf src/Module.symvers src/modules.order src/.tmp_versions src/.wpu-probes

# Userspace: libuffd-wpu, its LD_PRELOAD shim, the uffd-wpu CLI (make lib tools)
include lib/lib.mk
# Packages: make dist | deb | rpm | check-packaging (packaging.mk)
include packaging.mk
