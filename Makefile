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
# inside the VM, its guest pinging through our vhost_net, with the proof.
.PHONY: demo
demo: modules
	tools/testing/vm/run-vm.sh --mem 3G --timeout 900 -- tools/testing/vm/nested-net.sh

help:
	@echo "make [KDIR=...]     build kvhost.ko, vhost_net.ko, vhost_blk.ko (W=1)"
	@echo "make sparse         the same build under sparse (C=2)"
	@echo "make lint           checkpatch --strict on our sources"
	@echo "make check          set up, build, lint and run every test in a VM"
	@echo "make check-debug    run the tests in a VM with a KASAN/lockdep/kmemleak kernel"
	@echo "make vm [CMD=...]   boot a VM with our modules loaded"
	@echo "make demo           a nested QEMU guest pings through our vhost_net, in the VM"
	@echo "KDIR=$(KDIR)"

print-kdir:
	@echo $(KDIR)
