# Packages of uffd-wpu; the top-level Makefile pulls this in with
# `include packaging.mk`.
#
#   make dist              build/dist/uffd-wpu-VERSION.tar.gz: the files git
#                          tracks, as they are in the work tree (needs git)
#   make deb               dist, then dpkg-buildpackage -us -uc -b in a copy
#                          under build/pkg/deb/; .deb/.changes/.buildinfo to
#                          build/dist/, then lintian (if installed; fails on
#                          errors, log in build/dist/lintian.log)
#   make rpm               dist, then rpmbuild -ba with _topdir
#                          build/pkg/rpm/; .rpm and .src.rpm to build/dist/
#   make check-packaging   tests/packaging.sh: build the .debs, install them
#                          for real (DKMS for every kernel whose headers are
#                          installed), boot those kernels with the DKMS-built
#                          module, purge, `make rpm`; as root
#   make clean-packaging   remove build/pkg and build/dist (part of `make clean`)
#
# Build dependencies (Debian 12): apt-get install --no-install-recommends
# build-essential debhelper dh-dkms lintian rpm; tests/packaging.sh installs them itself.

PKG_NAME := uffd-wpu
PKG_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PKG_TARBALL := $(PKG_NAME)-$(PKG_VERSION).tar.gz
PKG_BUILD ?= build/pkg
PKG_DIST ?= build/dist
LINTIAN ?= lintian
# Debian's rpm has no database of the build dependencies.
RPMBUILD_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps)

pkg_abs_build = $(abspath $(PKG_BUILD))
pkg_abs_dist = $(abspath $(PKG_DIST))

.PHONY: dist deb rpm check-packaging clean-packaging

# Deterministic: sorted, root-owned, mtime of the last commit, gzip -n.
dist:
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
		{ echo "make dist: not a git checkout"; exit 1; }
	@test -n "$(PKG_VERSION)" || { echo "make dist: no PACKAGE_VERSION in dkms.conf"; exit 1; }
	mkdir -p $(PKG_DIST)
	git ls-files -z | tar -c --null -T - --ignore-failed-read --sort=name \
		--owner=0 --group=0 --numeric-owner --format=gnu \
		--mtime=@$$(git log -1 --format=%ct) \
		--transform='s,^,$(PKG_NAME)-$(PKG_VERSION)/,' | \
		gzip -9n >$(PKG_DIST)/$(PKG_TARBALL).tmp
	mv $(PKG_DIST)/$(PKG_TARBALL).tmp $(PKG_DIST)/$(PKG_TARBALL)
	@echo "make dist: $(PKG_DIST)/$(PKG_TARBALL)"

deb: dist
	@dpkg-checkbuilddeps debian/control || { echo "make deb: as root:" \
		"apt-get install --no-install-recommends build-essential debhelper dh-dkms lintian"; exit 1; }
	rm -rf $(PKG_BUILD)/deb
	mkdir -p $(PKG_BUILD)/deb
	tar -xzf $(PKG_DIST)/$(PKG_TARBALL) -C $(PKG_BUILD)/deb
	ln -s $(pkg_abs_dist)/$(PKG_TARBALL) \
		$(PKG_BUILD)/deb/$(PKG_NAME)_$(PKG_VERSION).orig.tar.gz
	cd $(PKG_BUILD)/deb/$(PKG_NAME)-$(PKG_VERSION) && dpkg-buildpackage -us -uc -b
	rm -f $(PKG_DIST)/*.deb $(PKG_DIST)/*.changes $(PKG_DIST)/*.buildinfo
	cp $(PKG_BUILD)/deb/*.deb $(PKG_BUILD)/deb/*.changes \
		$(PKG_BUILD)/deb/*.buildinfo $(PKG_DIST)/
	@if command -v $(LINTIAN) >/dev/null; then \
		echo "$(LINTIAN) $(PKG_DIST)/*.changes"; \
		$(LINTIAN) --info --fail-on error $(PKG_DIST)/*.changes \
			>$(PKG_DIST)/lintian.log 2>&1; rc=$$?; \
		cat $(PKG_DIST)/lintian.log; \
		echo "lintian: $$(grep -c '^E:' $(PKG_DIST)/lintian.log) error(s)," \
			"$$(grep -c '^W:' $(PKG_DIST)/lintian.log) warning(s)," \
			"$$(grep -c '^[IP]:' $(PKG_DIST)/lintian.log) info/pedantic"; \
		exit $$rc; \
	else echo "make deb: lintian not installed, not run"; fi
	@ls -1 $(PKG_DIST)/*.deb

rpm: dist
	rm -rf $(PKG_BUILD)/rpm
	mkdir -p $(PKG_BUILD)/rpm/SOURCES
	cp $(PKG_DIST)/$(PKG_TARBALL) $(PKG_BUILD)/rpm/SOURCES/
	rpmbuild -ba $(RPMBUILD_FLAGS) --define '_topdir $(pkg_abs_build)/rpm' \
		rpm/$(PKG_NAME).spec
	rm -f $(PKG_DIST)/*.rpm
	cp $(PKG_BUILD)/rpm/RPMS/*/*.rpm $(PKG_BUILD)/rpm/SRPMS/*.rpm $(PKG_DIST)/
	@ls -1 $(PKG_DIST)/*.rpm

check-packaging:
	tests/packaging.sh $(ARGS)

clean-packaging:
	rm -rf $(PKG_BUILD) $(PKG_DIST)

clean: clean-packaging
