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

ALL_CFLAGS  = $(WARN) $(HARDEN) -D_GNU_SOURCE \
              -DEOTP_VERSION=\"$(VERSION)\" \
              -DEOTP_SYSCONFDIR=\"$(SYSCONFDIR)\" \
              $(DEPS_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS) $(SANFLAGS)
LIBS        = $(DEPS_LIBS) $(LDAP_LIBS) -lpthread

CORE_SRC := $(sort $(wildcard src/core/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
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
	$(CC) -o $@ $(CLI_OBJ) $(LIB) $(ALL_LDFLAGS) $(LIBS) -lpam -lpam_misc

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

$(CURLFLOOR): tests/bench/curl_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(DEPS_LIBS)

test-programs: $(PROGRAMS) $(UNIT_BIN) $(HARNESS)

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
	test -e $(DESTDIR)$(SYSCONFDIR)/security/engagelab_otp_users || \
	  install -m 0644 conf/engagelab_otp_users \
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
