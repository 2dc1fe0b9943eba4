# SPDX-License-Identifier: Apache-2.0
# pam_engagelab_otp - build, test and install.
#
# make            build the module, the admin tool and the test programs
# make check      run every test (unit, mock API, end to end)
# make check SAN=1  the same, built with ASan and UBSan
# make demo       install dependencies, build, and log in through the module
# make install    DESTDIR, PREFIX honoured
#
# CC, CFLAGS, CPPFLAGS and LDFLAGS from the environment are honoured; the
# warning and hardening flags below are always added.

VERSION    := 0.1.0
PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
MULTIARCH  ?= $(shell $(CC) -print-multiarch 2>/dev/null)
ifneq ($(MULTIARCH),)
PAMDIR     ?= $(PREFIX)/lib/$(MULTIARCH)/security
else
PAMDIR     ?= $(PREFIX)/lib/security
endif
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
STATEDIR   ?= $(LOCALSTATEDIR)/lib/pam_engagelab_otp

CC         ?= cc
CFLAGS     ?= -O2 -g
PKG_CONFIG ?= pkg-config

ifeq ($(SAN),1)
BUILD      ?= build-san
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
else
BUILD      ?= build
SANFLAGS   :=
endif

# Flags a compiler may lack are probed, as OpenSSH's configure does.
probe = $(shell $(CC) $(1) -Werror -x c -c /dev/null -o /dev/null \
          2>/dev/null && echo $(1))

WARN := -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wformat-security \
        -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wmissing-declarations -Wpointer-arith -Wcast-qual \
        -Wwrite-strings -Wundef -Wimplicit-fallthrough -Wvla
HARDEN := -fPIC -fstack-protector-strong -fstack-clash-protection \
          -D_FORTIFY_SOURCE=2 \
          $(call probe,-ftrivial-auto-var-init=zero) \
          $(call probe,-fzero-call-used-regs=used)
LDHARDEN := -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed

DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcurl libcjson libcrypto \
                 2>/dev/null)
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs libcurl libcjson libcrypto \
                 2>/dev/null || echo -lcurl -lcjson -lcrypto)
LDAP_LIBS   := $(if $(wildcard /usr/include/ldap.h),-lldap -llber,)
# SMPP transport (issue 15): libsmpp34 packs the PDUs, libssl does TLS.
# Without libsmpp34 the build has no SMPP (transport = smpp is refused).
HAVE_SMPP   := $(wildcard /usr/include/libsmpp34/smpp34.h)
SMPP_CFLAGS := $(if $(HAVE_SMPP),-DEOTP_HAVE_SMPP $(patsubst -I%,-isystem %,\
                 $(shell $(PKG_CONFIG) --cflags libsmpp34 2>/dev/null || \
                   echo -I/usr/include/libsmpp34)),)
SMPP_LIBS   := $(if $(HAVE_SMPP),$(shell $(PKG_CONFIG) --libs libsmpp34 \
                 libssl 2>/dev/null || echo -lsmpp34 -lssl),)
# Redis (issue 13): hiredis for RESP only, our own socket and OpenSSL TLS.
REDIS_CFLAGS := $(shell $(PKG_CONFIG) --cflags hiredis 2>/dev/null)
REDIS_LIBS   := $(shell $(PKG_CONFIG) --libs hiredis libssl 2>/dev/null || \
                  echo -lhiredis -lssl)

ALL_CFLAGS  = $(WARN) $(HARDEN) -D_GNU_SOURCE \
              -DEOTP_VERSION=\"$(VERSION)\" \
              -DEOTP_SYSCONFDIR=\"$(SYSCONFDIR)\" \
              $(DEPS_CFLAGS) $(SMPP_CFLAGS) $(REDIS_CFLAGS) $(CPPFLAGS) \
              $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDHARDEN) $(CFLAGS) $(LDFLAGS) $(SANFLAGS)
LIBS        = $(DEPS_LIBS) $(REDIS_LIBS) $(LDAP_LIBS) $(SMPP_LIBS) -lpthread

CORE_SRC := $(sort $(wildcard src/core/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
# The callback receiver (issue 14): part of the admin tool, libmicrohttpd.
RECV_SRC := $(sort $(wildcard src/receiver/*.c))
RECV_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || \
               echo -lmicrohttpd)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o) $(RECV_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIB      := $(BUILD)/libeotp.a
MODULE   := $(BUILD)/pam_engagelab_otp.so
CLI      := $(BUILD)/engagelab-otp
HARNESS  := $(BUILD)/tests/pam_harness
CURLFLOOR := $(BUILD)/tests/curl_floor

PROGRAMS := $(MODULE) $(if $(CLI_SRC),$(CLI))

# Quiet by default; make V=1 shows the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all check unit-tests test-programs demo deps install uninstall \
        clean bench lint valgrind fuzz

all: $(PROGRAMS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# -z nodelete: libpam's dlclose() must never unmap libcurl while one of
# its resolver threads may still run.
$(MODULE): $(BUILD)/src/pam/pam_engagelab_otp.o $(LIB) src/pam/module.map
	$(CC) -shared -o $@ $(BUILD)/src/pam/pam_engagelab_otp.o $(LIB) \
	  -Wl,--version-script=src/pam/module.map -Wl,-z,nodelete \
	  $(ALL_LDFLAGS) $(LIBS) -lpam

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) -o $@ $(CLI_OBJ) $(LIB) $(ALL_LDFLAGS) $(LIBS) $(RECV_LIBS) -lpam \
	  -lpam_misc

# ---- tests ---------------------------------------------------------------

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes \
	  -Wno-missing-declarations -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS) \
	  -lcmocka -lpam

$(HARNESS): tests/e2e/pam_harness.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -rdynamic -lpam \
	  $(DEPS_LIBS)

$(CURLFLOOR): tests/bench/curl_floor.c tests/bench/floor_calls.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(DEPS_LIBS)

# Drives the Redis connection layer from tests/redis (issue 13).
REDISPROBE := $(BUILD)/tests/redis_probe
$(REDISPROBE): tests/redis/redis_probe.c src/cli/doctor_redis.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ tests/redis/redis_probe.c \
	  src/cli/doctor_redis.c $(LIB) $(ALL_LDFLAGS) $(LIBS)

test-programs: $(PROGRAMS) $(UNIT_BIN) $(HARNESS) $(BUILD)/tests/fakepw.so \
               $(REDISPROBE)

check: test-programs
	BUILD=$(BUILD) SAN=$(SAN) tests/run-tests.sh

unit-tests: $(UNIT_BIN)

# ---- dependencies and the demo -------------------------------------------

deps:
	packaging/install-deps.sh

demo: deps
	$(MAKE) all $(HARNESS)
	BUILD=$(BUILD) tests/demo.sh

# ---- install -------------------------------------------------------------

install: all
	install -d -m 0755 $(DESTDIR)$(PAMDIR) $(DESTDIR)$(SBINDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/security $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_engagelab_otp.so
	$(if $(CLI_SRC),install -m 0755 $(CLI) $(DESTDIR)$(SBINDIR)/engagelab-otp)
	test -e $(DESTDIR)$(SYSCONFDIR)/security/pam_engagelab_otp.conf || \
	  install -m 0600 conf/pam_engagelab_otp.conf \
	    $(DESTDIR)$(SYSCONFDIR)/security/pam_engagelab_otp.conf
	# The user map lists every user's phone number: root only.
	test -e $(DESTDIR)$(SYSCONFDIR)/security/engagelab_otp_users || \
	  install -m 0600 conf/engagelab_otp_users \
	    $(DESTDIR)$(SYSCONFDIR)/security/engagelab_otp_users
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	for m in packaging/man/*.[58]; do \
	  [ -e "$$m" ] || continue; \
	  s=$${m##*.}; install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_engagelab_otp.so \
	  $(DESTDIR)$(SBINDIR)/engagelab-otp \
	  $(DESTDIR)$(MANDIR)/man5/pam_engagelab_otp.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/pam_engagelab_otp.8 \
	  $(DESTDIR)$(MANDIR)/man8/engagelab-otp.8

clean:
	rm -rf build build-san

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d) \
         $(BUILD)/src/pam/pam_engagelab_otp.d

# ==== verification (issue 7): fuzz, valgrind, lint, torture, bench =======
# Everything below builds into its own directory and is run only by its
# own target; `make check` only replays the fuzz corpus (tests/fuzz/
# test_corpus.sh) and checks the module's ELF properties.

.PHONY: fuzz-build torture bench-programs clean-verify lint-flags

# libFuzzer targets: clang, ASan + UBSan, the core compiled again with the
# same sanitizers (and fuzzer coverage) in build-fuzz/.
FUZZ_BUILD   := build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(filter-out -fzero-call-used-regs=used \
                  -ftrivial-auto-var-init=zero,$(WARN)) \
                -g -O1 -D_GNU_SOURCE -DEOTP_VERSION=\"$(VERSION)\" \
                -DEOTP_SYSCONFDIR=\"$(SYSCONFDIR)\" $(DEPS_CFLAGS) \
                $(SMPP_CFLAGS) $(REDIS_CFLAGS) $(FUZZ_SAN) -MMD -MP
FUZZ_NAMES   := api_send api_verify api_error cfg usermap state \
                $(if $(wildcard src/core/callback.h),callback) \
                $(if $(wildcard src/core/phone.h),phone) \
                $(if $(wildcard src/core/api_template.h),template) \
                redis_url $(if $(HAVE_SMPP),smpp)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_OBJ     := $(CORE_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/src/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libeotp.a: $(FUZZ_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
                      $(FUZZ_BUILD)/libeotp.a
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_BUILD)/libeotp.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

# make fuzz FUZZ_SECONDS=N: each target for N seconds from its corpus.
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run-fuzz $(FUZZ_SECONDS) \
	  $(FUZZ_NAMES)

# The unit tests and end-to-end logins under valgrind (no sanitizer
# build: valgrind and ASan do not mix; DWARF 4: valgrind 3.19 cannot read
# gcc 12's DWARF 5 for the module).
VALGRIND_BUILD := build-valgrind

valgrind:
	$(MAKE) BUILD=$(VALGRIND_BUILD) SAN= CFLAGS="$(CFLAGS) -gdwarf-4" \
	  test-programs
	BUILD=$(VALGRIND_BUILD) bash tests/valgrind.sh

# Allocation-failure injection: a test-only module whose own allocations
# (core and PAM glue, linked with --wrap) fail at the Nth call.
TORTURE_BUILD := build-torture
TORTURE_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
TORTURE_WRAP  := -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc \
                 -Wl,--wrap=strdup -Wl,--wrap=strndup \
                 -Wl,--wrap=cJSON_ParseWithLength \
                 -Wl,--wrap=curl_easy_init -Wl,--wrap=curl_easy_perform

torture:
	$(MAKE) BUILD=$(TORTURE_BUILD) SAN= SANFLAGS="$(TORTURE_SAN)" \
	  $(TORTURE_BUILD)/torture/pam_engagelab_otp.so \
	  $(TORTURE_BUILD)/tests/pam_harness
	BUILD=$(TORTURE_BUILD) bash tests/alloc/test_torture.sh

$(BUILD)/tests/failalloc.o: tests/alloc/failalloc.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/torture/pam_engagelab_otp.so: $(BUILD)/src/pam/pam_engagelab_otp.o \
    $(BUILD)/tests/failalloc.o $(LIB) src/pam/module.map
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(BUILD)/src/pam/pam_engagelab_otp.o \
	  $(BUILD)/tests/failalloc.o $(LIB) \
	  -Wl,--version-script=src/pam/module.map -Wl,-z,nodelete \
	  $(TORTURE_WRAP) $(ALL_LDFLAGS) $(LIBS) -lpam

# Static checks: cppcheck, clang-tidy, banned functions, clang-format.
# The compile flags for the checkers are the real ones, as clang sees
# them (lint-flags prints them).
lint:
	LINT_CFLAGS="$$($(MAKE) -s --no-print-directory CC=clang lint-flags)" \
	  bash tests/lint.sh

lint-flags:
	@printf '%s\n' '$(filter-out -MMD -MP,$(ALL_CFLAGS))'

# Figures, not tests (docs/benchmarks.md).
bench-programs: $(PROGRAMS) $(HARNESS) $(CURLFLOOR) \
                $(BUILD)/tests/floor_module.so \
                $(BUILD)/tests/bench_login $(BUILD)/tests/bench_lookup \
                $(BUILD)/tests/fakepw.so

# Linked like the module (-z now, -z nodelete), so that libpam loads both
# the same way.
$(BUILD)/tests/floor_module.so: tests/bench/floor_module.c \
                                tests/bench/floor_calls.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $^ $(ALL_LDFLAGS) -Wl,-z,nodelete \
	  -lpam $(DEPS_LIBS)

$(BUILD)/tests/bench_lookup: tests/bench/bench_lookup.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS) -lpam

$(BUILD)/tests/bench_login: tests/bench/bench_login.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -rdynamic -lpam $(DEPS_LIBS) \
	  -lpthread

$(BUILD)/tests/fakepw.so: tests/bench/fakepw.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS) -ldl

bench: bench-programs
	BUILD=$(BUILD) bash tests/bench/run-bench.sh
	BUILD=$(BUILD) bash tests/bench/bench_redis.sh

clean-verify:
	rm -rf $(FUZZ_BUILD) $(TORTURE_BUILD) $(VALGRIND_BUILD)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BINS:=.d)

# ==== packaging (issue 6): make deb, make rpm ==============================
# make deb   binary package from packaging/debian/ with dpkg-buildpackage
# make rpm   binary and source RPMs from packaging/rpm/pam_engagelab_otp.spec
# Both build from a copy of the sources (never from build/) under
# $(PKG_BUILD)/, and package whatever "make install" installs: the admin
# tool is included whenever src/cli/ has sources.

.PHONY: deb rpm clean-pkg

PKG_BUILD ?= build-pkg
PKG_FILES := Makefile src conf packaging $(wildcard README.md NEWS LICENSE)
PKG_JOBS  ?= $(shell nproc 2>/dev/null || echo 1)
DEB_TREE  := $(PKG_BUILD)/deb/pam-engagelab-otp-$(VERSION)
RPM_TOP   := $(abspath $(PKG_BUILD)/rpm)
RPM_NAME  := pam_engagelab_otp-$(VERSION)
# On a system whose packages are not RPMs (Debian), rpmbuild cannot see
# the build dependencies, and has no debuginfo extraction; Debian's
# brp-compress needs bash (read -d), so man pages stay uncompressed
# unless it is run with bash.
RPM_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps \
               --define 'debug_package %{nil}' \
               --define '__os_install_post bash /usr/lib/rpm/brp-compress; \
                 /usr/lib/rpm/brp-strip /usr/bin/strip')

deb:
	rm -rf $(PKG_BUILD)/deb
	mkdir -p $(DEB_TREE)
	tar -cf - $(PKG_FILES) | tar -C $(DEB_TREE) -xf -
	cp -R packaging/debian $(DEB_TREE)/debian
	cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc -j$(PKG_JOBS)
	@ls -1 $(PKG_BUILD)/deb/*.deb

rpm:
	@grep -Eq '^Version:[[:space:]]+$(VERSION)$$' \
	  packaging/rpm/pam_engagelab_otp.spec || \
	  { echo "rpm: Version in the spec is not $(VERSION)" >&2; exit 1; }
	rm -rf $(RPM_TOP)
	mkdir -p $(RPM_TOP)/SOURCES $(RPM_TOP)/tree/$(RPM_NAME)
	tar -cf - $(PKG_FILES) | tar -C $(RPM_TOP)/tree/$(RPM_NAME) -xf -
	tar -C $(RPM_TOP)/tree -czf $(RPM_TOP)/SOURCES/$(RPM_NAME).tar.gz \
	  $(RPM_NAME)
	rpmbuild -ba --define '_topdir $(RPM_TOP)' \
	  --define '_smp_mflags -j$(PKG_JOBS)' $(RPM_FLAGS) \
	  packaging/rpm/pam_engagelab_otp.spec
	@find $(RPM_TOP)/RPMS $(RPM_TOP)/SRPMS -name '*.rpm'

clean-pkg:
	rm -rf $(PKG_BUILD)

# ==== SELinux (issue 17): make selinux =======================================
# The policy module packaging/selinux/pam_engagelab_otp.{te,fc,if}, built
# with the policy's devel Makefile (Fedora/RHEL selinux-policy-devel,
# Debian selinux-policy-dev) in $(BUILD)/selinux/.

.PHONY: selinux

SELINUX_DEVEL ?= /usr/share/selinux/devel/Makefile
SELINUX_SRC   := $(addprefix packaging/selinux/pam_engagelab_otp.,te fc if)

selinux: $(BUILD)/selinux/pam_engagelab_otp.pp

# The devel Makefile gets none of our variables (MAKEFLAGS).
$(BUILD)/selinux/pam_engagelab_otp.pp: $(SELINUX_SRC)
	@test -f $(SELINUX_DEVEL) || { echo "selinux: $(SELINUX_DEVEL)" \
	  "is missing (selinux-policy-devel, Debian selinux-policy-dev)" >&2; \
	  exit 1; }
	rm -rf $(BUILD)/selinux
	mkdir -p $(BUILD)/selinux
	cp $(SELINUX_SRC) $(BUILD)/selinux/
	cd $(BUILD)/selinux && env -u MAKEFLAGS -u MAKEOVERRIDES -u MAKELEVEL \
	  $(MAKE) -f $(SELINUX_DEVEL) pam_engagelab_otp.pp
