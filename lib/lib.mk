# libuffd-wpu, its LD_PRELOAD shim and the uffd-wpu CLI (userspace; the
# module is built by the top-level Makefile).  The top-level Makefile pulls
# this in with `include lib/lib.mk`; it also works alone: make -f lib/lib.mk
#
#   make lib          $(LIB_BUILD)/lib/: libuffd-wpu.so.1.0.0 (+ .so.1 and .so
#                     links), libuffd-wpu.a, libuffd-wpu-preload.so
#   make tools        $(LIB_BUILD)/tools/uffd-wpu (linked to libuffd-wpu.so.1)
#   make install-lib  install library, shim, header, pkg-config file, CLI and
#                     man pages under DESTDIR + PREFIX (default /usr/local);
#                     the libraries go to LIBDIR, PREFIX/lib/<multiarch> by
#                     default (Debian: x86_64-linux-gnu, from gcc -print-multiarch
#                     or DEB_HOST_MULTIARCH), BINDIR INCLUDEDIR MANDIR PKGCONFIGDIR
#                     likewise overridable.  Run ldconfig afterwards.
#   make uninstall-lib  remove what install-lib installed (same variables)
#   make check-lib    run tests/progs/lib_api.c on this host against the
#                     shared library (under valgrind if it is installed)
#   make clean-lib    remove $(LIB_BUILD) (also part of `make clean`)
#
# Honours CC, CPPFLAGS, CFLAGS, LDFLAGS (dpkg-buildflags output works).
# LIB_BUILD: output directory (default build).  LIB_WERROR=: no -Werror.

uwl_saved_goal := $(.DEFAULT_GOAL)

UWL_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
UWL_TOP := $(patsubst %/,%,$(dir $(UWL_DIR)))

UWL_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(UWL_TOP)/dkms.conf 2>/dev/null)
ifeq ($(UWL_VERSION),)
$(error $(UWL_TOP)/dkms.conf: no PACKAGE_VERSION="...": the version is written there only)
endif
# ABI of libuffd-wpu.so: the soname is libuffd-wpu.so.$(UWL_SOMAJOR)
UWL_SOMAJOR := 1
UWL_SOFULL := $(UWL_SOMAJOR).0.0

LIB_BUILD ?= build
LIB_WERROR ?= -Werror
CFLAGS ?= -O2 -g

PREFIX ?= /usr/local
EXEC_PREFIX ?= $(PREFIX)
ifeq ($(origin DEB_HOST_MULTIARCH),undefined)
DEB_HOST_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
endif
LIBDIR ?= $(EXEC_PREFIX)/lib$(if $(DEB_HOST_MULTIARCH),/$(DEB_HOST_MULTIARCH))
BINDIR ?= $(EXEC_PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

UWL_B := $(LIB_BUILD)/lib
UWL_T := $(LIB_BUILD)/tools
UWL_CFLAGS := -std=gnu11 -Wall -Wextra $(LIB_WERROR) -fvisibility=hidden \
	-D_GNU_SOURCE -DUFFD_WPU_VERSION='"$(UWL_VERSION)"' \
	-I$(UWL_TOP)/include -I$(UWL_TOP)/include/uapi -I$(UWL_DIR)
UWL_HDRS := $(UWL_TOP)/include/uffd-wpu.h $(UWL_TOP)/include/uapi/linux/uffd-wpu.h \
	$(UWL_DIR)/internal.h
UWL_SO := $(UWL_B)/libuffd-wpu.so.$(UWL_SOFULL)
UWL_A := $(UWL_B)/libuffd-wpu.a
UWL_PRELOAD := $(UWL_B)/libuffd-wpu-preload.so
UWL_CLI := $(UWL_T)/uffd-wpu
# man3 pages that are links to uffd_wpu.3
UWL_MAN3_LINKS := uffd_wpu_probe uffd_wpu_api uffd_wpu_optin uffd_wpu_optout \
	uffd_wpu_status uffd_wpu_set_enabled uffd_wpu_set_transparent \
	uffd_wpu_strerror uffd_wpu_reason_str uffd_wpu_support_str \
	uffd_wpu_backend_str uffd_wpu_last_error uffd_wpu_library_version

.PHONY: lib tools install-lib uninstall-lib check-lib clean-lib

lib: $(UWL_SO) $(UWL_B)/libuffd-wpu.so.$(UWL_SOMAJOR) $(UWL_B)/libuffd-wpu.so \
	$(UWL_A) $(UWL_PRELOAD)

tools: $(UWL_CLI)

$(UWL_B)/pic/%.o: $(UWL_DIR)/%.c $(UWL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UWL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -c -o $@ $<

$(UWL_B)/static/%.o: $(UWL_DIR)/%.c $(UWL_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UWL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(UWL_SO): $(UWL_B)/pic/uffd-wpu.o $(UWL_DIR)/libuffd-wpu.map
	$(CC) $(CFLAGS) -shared -fPIC -Wl,-soname,libuffd-wpu.so.$(UWL_SOMAJOR) \
		-Wl,--version-script=$(UWL_DIR)/libuffd-wpu.map -Wl,-z,defs \
		$(LDFLAGS) -o $@ $(UWL_B)/pic/uffd-wpu.o

$(UWL_B)/libuffd-wpu.so.$(UWL_SOMAJOR): $(UWL_SO)
	ln -sf $(notdir $<) $@

$(UWL_B)/libuffd-wpu.so: $(UWL_B)/libuffd-wpu.so.$(UWL_SOMAJOR)
	ln -sf $(notdir $<) $@

$(UWL_A): $(UWL_B)/static/uffd-wpu.o
	rm -f $@
	$(AR) rcs $@ $^

# One file: the library code is linked in, hidden; only ioctl is exported.
$(UWL_PRELOAD): $(UWL_B)/pic/uffd-wpu.o $(UWL_B)/pic/preload.o $(UWL_DIR)/preload.map
	$(CC) $(CFLAGS) -shared -fPIC -Wl,--version-script=$(UWL_DIR)/preload.map \
		-Wl,-z,defs $(LDFLAGS) -o $@ $(UWL_B)/pic/uffd-wpu.o \
		$(UWL_B)/pic/preload.o -Wl,--as-needed -ldl

$(UWL_CLI): $(UWL_TOP)/tools/uffd-wpu.c $(UWL_TOP)/include/uffd-wpu.h \
		$(UWL_B)/libuffd-wpu.so
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -Wall -Wextra $(LIB_WERROR) -D_GNU_SOURCE \
		-DUFFD_WPU_VERSION='"$(UWL_VERSION)"' -I$(UWL_TOP)/include \
		$(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(UWL_B) -luffd-wpu

install-lib: lib tools
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(UWL_SO) $(UWL_A) $(UWL_PRELOAD) $(DESTDIR)$(LIBDIR)/
	ln -sf libuffd-wpu.so.$(UWL_SOFULL) $(DESTDIR)$(LIBDIR)/libuffd-wpu.so.$(UWL_SOMAJOR)
	ln -sf libuffd-wpu.so.$(UWL_SOMAJOR) $(DESTDIR)$(LIBDIR)/libuffd-wpu.so
	install -m 644 $(UWL_TOP)/include/uffd-wpu.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(UWL_VERSION)|' \
		$(UWL_DIR)/uffd-wpu.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/uffd-wpu.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/uffd-wpu.pc
	install -m 755 $(UWL_CLI) $(DESTDIR)$(BINDIR)/
	install -m 644 $(UWL_TOP)/man/uffd-wpu.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(UWL_TOP)/man/uffd_wpu.3 $(DESTDIR)$(MANDIR)/man3/
	for f in $(UWL_MAN3_LINKS); do \
		echo '.so man3/uffd_wpu.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done

uninstall-lib:
	rm -f $(DESTDIR)$(LIBDIR)/libuffd-wpu.so.$(UWL_SOFULL) \
		$(DESTDIR)$(LIBDIR)/libuffd-wpu.so.$(UWL_SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libuffd-wpu.so $(DESTDIR)$(LIBDIR)/libuffd-wpu.a \
		$(DESTDIR)$(LIBDIR)/libuffd-wpu-preload.so \
		$(DESTDIR)$(INCLUDEDIR)/uffd-wpu.h $(DESTDIR)$(PKGCONFIGDIR)/uffd-wpu.pc \
		$(DESTDIR)$(BINDIR)/uffd-wpu $(DESTDIR)$(MANDIR)/man1/uffd-wpu.1 \
		$(DESTDIR)$(MANDIR)/man3/uffd_wpu.3 \
		$(patsubst %,$(DESTDIR)$(MANDIR)/man3/%.3,$(UWL_MAN3_LINKS))

# The in-guest test program, here linked to the shared library.
$(LIB_BUILD)/check/lib_api: $(UWL_TOP)/tests/progs/lib_api.c \
		$(UWL_TOP)/tests/progs/uffd_util.c $(UWL_B)/libuffd-wpu.so
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra $(LIB_WERROR) -pthread -I$(UWL_TOP)/tests/progs \
		-I$(UWL_TOP)/include/uapi -I$(UWL_TOP)/include -o $@ $< \
		$(UWL_TOP)/tests/progs/uffd_util.c -L$(UWL_B) -luffd-wpu

# Then once more under valgrind: it has no userfaultfd() (ENOSYS), so that
# run covers the probe/status/error paths and the program skips the rest.
check-lib: $(LIB_BUILD)/check/lib_api
	LD_LIBRARY_PATH=$(UWL_B) $<
	$(if $(shell command -v valgrind 2>/dev/null),LD_LIBRARY_PATH=$(UWL_B) valgrind \
		--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all -q $<)

clean-lib:
	rm -rf $(LIB_BUILD)

clean: clean-lib

# Included: leave the includer's default goal alone.  Alone: build lib.
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := lib
else
.DEFAULT_GOAL := $(uwl_saved_goal)
endif
