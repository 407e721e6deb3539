# SPDX-License-Identifier: GPL-2.0
#
# kvhost top-level Makefile: a thin wrapper around kbuild plus the test,
# lint and VM targets. "make help" lists them.

KVER ?= $(shell uname -r)

# KDIR: the running kernel's build tree when it has one, otherwise the newest
# installed Debian 12 6.1 headers (our build machines run a kernel without
# module support, so the fallback is the normal case there).
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
	$(shell ls -d /usr/src/linux-headers-6.1.* 2>/dev/null | \
		grep -E '/linux-headers-6\.1\.[0-9]+-[0-9]+-amd64$$' | sort -V | tail -n 1))

# Every build is a W=1 build: extra warnings and kernel-doc checks.
W ?= 1

PWD := $(CURDIR)
KBUILD := $(MAKE) -C $(KDIR) M=$(PWD) W=$(W)

.PHONY: all modules clean sparse lint check vm kdir help print-kdir

all: modules

modules: kdir
	$(KBUILD) modules

kdir:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build tree: install linux-headers-amd64, or set KDIR=" >&2; \
		echo "(tools/testing/vm/setup.sh installs it)" >&2; exit 1; }

clean:
	-$(KBUILD) clean
	$(MAKE) -C tools/testing/selftests/vhost clean

# Sparse over every object (C=2 checks even up-to-date files).
sparse: kdir
	$(KBUILD) C=2 CF="-D__CHECK_ENDIAN__" modules

# checkpatch --strict on our sources, taken from Debian's linux-source-6.1
# (downloaded into ~/.cache/kvhost, never installed system-wide).
lint:
	tools/testing/lint.sh

# The whole test suite: set-up, build, static checks and the VM run.
check:
	tools/testing/check.sh

# The kselftest suite under a debug kernel (KASAN, lockdep, kmemleak, UBSAN),
# built from Debian's 6.1 source and cached in ~/.cache/kvhost.
.PHONY: check-debug
check-debug:
	tools/testing/check-debug.sh

# Boot the VM with our modules loaded. CMD runs instead of a shell.
vm: modules
	tools/testing/vm/run-vm.sh $(if $(CMD),-- $(CMD),--shell)

# The main job: a nested Debian QEMU (TCG, vhost=on, 2 queue pairs, MSI-X)
# inside the VM, its guest running ethtool -L, ping and TCP both ways on both
# queue pairs through our vhost_net, with the proof (per-queue interrupts,
# our debugfs counters). demo-libvirt starts QEMU as libvirt does, on
# pre-opened tap and vhost fds (fds=/vhostfds=), with packed rings.
.PHONY: demo demo-libvirt
demo: modules
	tools/testing/vm/run-vm.sh --mem 3G --timeout 900 -- tools/testing/vm/nested-net.sh
demo-libvirt: modules
	tools/testing/vm/run-vm.sh --mem 3G --timeout 900 -- tools/testing/vm/nested-net.sh --fds --packed

# Throughput of our vhost_net against the in-tree one, both loaded in turn in
# one VM boot: TX and RX packets/s at 64 and 1500 bytes and GSO bulk Gbit/s,
# on 1 and 2 queue pairs; prints a table (see tools/testing/vm/bench-net.sh).
# The default matrix takes about 7 minutes of VM time; the timeout leaves
# room for a loaded host. KVHOST_BENCH_* variables (REPS, SECONDS, WARMUP,
# MODES, SIZES, PAIRS, CASES, ARGS) are passed on.
.PHONY: bench-net
bench-net: modules
	$(MAKE) -C tools/testing/selftests/vhost \
		$(CURDIR)/tools/testing/selftests/vhost/net_bench
	tools/testing/vm/run-vm.sh --smp 2 --timeout 1500 -- env \
		$(foreach v,$(filter KVHOST_BENCH_%,$(.VARIABLES)),'$(v)=$($(v))') \
		tools/testing/vm/bench-net.sh

# IOPS of vhost-blk against a userspace io_uring device on a memory-backed
# null_blk, in the VM; prints a table (see tools/testing/vm/bench-blk.sh,
# which passes KVHOST_BENCH_* variables on).
.PHONY: bench-blk
bench-blk: modules
	$(MAKE) -C tools/testing/selftests/vhost \
		$(CURDIR)/tools/testing/selftests/vhost/blk_bench
	tools/testing/vm/bench-blk.sh

# Installation, as a host admin does it. The modules go under updates/,
# which depmod searches before the kernel's own tree, so "modprobe vhost_net"
# picks ours over the in-tree one. INSTALL_KVER is the release of the kernel
# in KDIR (which need not be the running kernel) unless KVER is given.
# DESTDIR and INSTALL_MOD_PATH prefix every installed path, as in kbuild.
# "make install" does not build: run "make" first.
KVHOST_MODULES := kvhost.ko vhost_net.ko vhost_blk.ko
INSTALL_KVER ?= $(if $(filter file,$(origin KVER)),$(shell sed -n \
	's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null),$(KVER))
INSTALL_ROOT := $(DESTDIR)$(INSTALL_MOD_PATH)
MODDEST := $(INSTALL_ROOT)/lib/modules/$(INSTALL_KVER)/updates/kvhost
UDEVDIR ?= /etc/udev/rules.d
UDEVRULE := udev/60-kvhost.rules
DEPMOD ?= depmod
# The DKMS package: its version follows the tree's tag or commit.
DKMS_VERSION ?= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRC := /usr/src/kvhost-$(DKMS_VERSION)

.PHONY: install uninstall dkms-install dkms-uninstall htmldocs

install:
	@test -n "$(INSTALL_KVER)" || { echo "install: no kernel release; set KVER=" >&2; exit 1; }
	@for m in $(KVHOST_MODULES); do test -f $$m || \
		{ echo "install: $$m is not built (run make)" >&2; exit 1; }; done
	install -d $(MODDEST)
	install -m 0644 $(KVHOST_MODULES) $(MODDEST)/
	install -D -m 0644 $(UDEVRULE) $(DESTDIR)$(UDEVDIR)/$(notdir $(UDEVRULE))
	$(DEPMOD) -a $(if $(INSTALL_ROOT),-b $(INSTALL_ROOT)) $(INSTALL_KVER)

uninstall:
	@test -n "$(INSTALL_KVER)" || { echo "uninstall: no kernel release; set KVER=" >&2; exit 1; }
	rm -f $(addprefix $(MODDEST)/,$(KVHOST_MODULES))
	-rmdir $(MODDEST) 2>/dev/null
	rm -f $(DESTDIR)$(UDEVDIR)/$(notdir $(UDEVRULE))
	$(DEPMOD) -a $(if $(INSTALL_ROOT),-b $(INSTALL_ROOT)) $(INSTALL_KVER)

# DKMS: a copy of the sources in /usr/src/kvhost-<version>, registered,
# built and installed for INSTALL_KVER (and, through AUTOINSTALL, rebuilt for
# every new kernel). The udev rule is installed too.
DKMS_FILES := Kbuild Makefile dkms.conf compat drivers include udev

dkms-install:
	@test -n "$(DKMS_VERSION)" || { echo "dkms-install: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
	-dkms remove -m kvhost -v $(DKMS_VERSION) --all >/dev/null 2>&1
	rm -rf $(DKMS_SRC)
	install -d $(DKMS_SRC)
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' $(DKMS_FILES) | tar -xf - -C $(DKMS_SRC)
	dkms add -m kvhost -v $(DKMS_VERSION)
	dkms build -m kvhost -v $(DKMS_VERSION) -k $(INSTALL_KVER)
	dkms install -m kvhost -v $(DKMS_VERSION) -k $(INSTALL_KVER)
	install -D -m 0644 $(UDEVRULE) $(UDEVDIR)/$(notdir $(UDEVRULE))

dkms-uninstall:
	-dkms remove -m kvhost -v $(DKMS_VERSION) --all
	rm -rf $(DKMS_SRC)
	rm -f $(UDEVDIR)/$(notdir $(UDEVRULE))

# Documentation/ as HTML in .build/htmldocs/, with Debian's python3-sphinx;
# any warning fails.
SPHINXBUILD ?= sphinx-build
HTMLDOCS_DIR ?= .build/htmldocs
htmldocs:
	$(SPHINXBUILD) -W --keep-going -q -b html Documentation $(HTMLDOCS_DIR)

help:
	@echo "make [KDIR=...]     build kvhost.ko, vhost_net.ko, vhost_blk.ko (W=1)"
	@echo "make sparse         the same build under sparse (C=2)"
	@echo "make lint           checkpatch --strict on our sources"
	@echo "make check          set up, build, lint and run every test in a VM"
	@echo "make check-debug    run the tests in a VM with a KASAN/lockdep/kmemleak kernel"
	@echo "make vm [CMD=...]   boot a VM with our modules loaded"
	@echo "make demo           nested QEMU guest: ethtool, ping, TCP on 2 queues via our vhost_net"
	@echo "make demo-libvirt   the same, QEMU on libvirt-style fds=/vhostfds=, packed rings"
	@echo "make bench-net      packets/s of our vhost_net vs the in-tree one, in the VM"
	@echo "make bench-blk      IOPS of vhost-blk vs a userspace io_uring device, in the VM"
	@echo "make install        install the modules under updates/ and the udev rule (no build)"
	@echo "make uninstall      remove what make install installed"
	@echo "make dkms-install   register, build and install through DKMS"
	@echo "make dkms-uninstall remove the DKMS package"
	@echo "make htmldocs       Documentation/ as HTML (sphinx-build -W)"
	@echo "KDIR=$(KDIR)"

print-kdir:
	@echo $(KDIR)
