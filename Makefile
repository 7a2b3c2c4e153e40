# hotline: build, test, demo, install, deps.
#
#   make            binaries under build/
#   make test       unit tests, then integration tests and drills
#   make test SAN=1 the same, built with ASan+UBSan into build-san/
#   make test VALGRIND=1   unit tests under valgrind
#   make test-faults  the long fault-injection runs (docs/TESTING.md)
#   make demo       a local relay, real clients and a real drill
#   make deps       check (and as root install) the Debian packages
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/hotline
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

SAN ?= 0
VALGRIND ?= 0
V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif
CC ?= cc
CFLAGS ?= -O2 -g
CPPFLAGS ?=
LDFLAGS ?=

# Hardened by default, as Debian's dpkg-buildflags would build it; HARDEN=0
# leaves it to CPPFLAGS, CFLAGS and LDFLAGS alone. Fortification needs
# optimisation: with -O0 in CFLAGS, build with HARDEN=0.
HARDEN ?= 1
ifeq ($(HARDEN),1)
HARDEN_CPPFLAGS := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
HARDEN_CFLAGS := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
else
HARDEN_CPPFLAGS :=
HARDEN_CFLAGS :=
HARDEN_LDFLAGS :=
endif

# BUILD names the output folder; a sanitizer build goes beside it.
BUILD ?= build
ifeq ($(SAN),1)
B := $(BUILD)-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B := $(BUILD)
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Werror
BASE_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -pthread \
	$(WARN) $(HARDEN_CPPFLAGS) $(CPPFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) \
	$(SANFLAGS) -MMD -MP -I.
# What every link adds after BASE_CFLAGS.
BASE_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)

# Each part sees only the libraries it is allowed to use: the client never
# sees libsignal's headers, the relay never sees libsignal or the vault.
BASE_PKGS   := libsodium
CRYPTO_PKGS := libsignal-protocol-c libcrypto libsodium jansson sqlite3
RELAY_PKGS  := libmicrohttpd gnutls jansson sqlite3 inih libsodium libsystemd libpq
CLIENT_PKGS := libcurl ncursesw jansson sqlite3 inih libsodium
TEST_PKGS   := cmocka libcurl jansson sqlite3 libsodium libcrypto \
	libsignal-protocol-c libmicrohttpd gnutls inih ncursesw libsystemd libpq

# pkg-config runs when a recipe runs (after `make deps`), never at parse time.
pkg_cflags = $(filter-out -D_XOPEN_SOURCE% -D_DEFAULT_SOURCE,$(shell pkg-config --cflags $(1)))
pkg_libs = $(shell pkg-config --libs $(1))
pkgs_for = $(strip \
	$(if $(filter crypto/%,$(1)),$(CRYPTO_PKGS)) \
	$(if $(filter relay/%,$(1)),$(RELAY_PKGS)) \
	$(if $(filter client/%,$(1)),$(CLIENT_PKGS)) \
	$(if $(filter tests/%,$(1)),$(TEST_PKGS)))

# The base is what every program shares and what holds no secret: the
# error table, encodings, times. The relay links only the base.
BASE_SRC   := crypto/hl_err.c crypto/hl_encode.c crypto/hl_time.c crypto/hl_jsonwipe.c \
	crypto/hl_handle.c crypto/hl_db.c
CRYPTO_SRC := $(filter-out $(BASE_SRC),$(wildcard crypto/*.c))
RELAY_SRC  := $(filter-out relay/main.c,$(wildcard relay/*.c))
CLIENT_SRC := $(filter-out client/main.c client/drill_main.c,$(wildcard client/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
INTEG_SRC  := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
DEMO_SRC   := $(wildcard tests/demo/*.c)
SCRIPT_TESTS := $(wildcard tests/scripts/test_*.sh)

obj = $(patsubst %.c,$(B)/%.o,$(1))

LIB_BASE   := $(B)/libhlbase.a
LIB_CRYPTO := $(B)/libhlcrypto.a
LIB_RELAY  := $(B)/libhlrelay.a
LIB_CLIENT := $(B)/libhlclient.a
LIB_TEST   := $(B)/libhltest.a

PROGS := $(if $(wildcard relay/main.c),$(B)/hotline-relay) \
	$(if $(wildcard client/main.c),$(B)/hotline) \
	$(if $(wildcard client/drill_main.c),$(B)/hotline-drill)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
INTEG_BINS := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(INTEG_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/tests/bench/%,$(BENCH_SRC))
DEMO_BINS  := $(patsubst tests/demo/%.c,$(B)/tests/demo/%,$(DEMO_SRC))
FAULT_BINS := $(filter $(B)/tests/integration/test_fault_%,$(INTEG_BINS))

# Archives: only what exists; the linker pulls just the objects it needs.
TEST_LIBS = $(if $(TESTLIB_SRC),$(LIB_TEST)) $(if $(CLIENT_SRC),$(LIB_CLIENT)) \
	$(if $(RELAY_SRC),$(LIB_RELAY)) $(if $(CRYPTO_SRC),$(LIB_CRYPTO)) $(LIB_BASE)

.PHONY: all test run-tests unit integration drills scripts demo run-demo deps install \
	uninstall clean bench fuzz test-faults run-faults
.DEFAULT_GOAL := all

all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC      $<"
	$(Q)$(CC) $(BASE_CFLAGS) $(call pkg_cflags,$(call pkgs_for,$<)) -c $< -o $@

$(LIB_BASE): $(call obj,$(BASE_SRC))
$(LIB_CRYPTO): $(call obj,$(CRYPTO_SRC))
$(LIB_RELAY): $(call obj,$(RELAY_SRC))
$(LIB_CLIENT): $(call obj,$(CLIENT_SRC))
$(LIB_TEST): $(call obj,$(TESTLIB_SRC))
$(B)/lib%.a:
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/hotline-relay: $(B)/relay/main.o $(LIB_RELAY) $(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(RELAY_PKGS)) -lm

$(B)/hotline: $(B)/client/main.o $(LIB_CLIENT) $(LIB_CRYPTO) $(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(CLIENT_PKGS) $(CRYPTO_PKGS)) -lm

$(B)/hotline-drill: $(B)/client/drill_main.o $(LIB_CLIENT) $(LIB_CRYPTO) $(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(CLIENT_PKGS) $(CRYPTO_PKGS)) -lm

$(UNIT_BINS) $(INTEG_BINS) $(BENCH_BINS) $(DEMO_BINS): %: %.o $(TEST_LIBS)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(TEST_PKGS)) -lm

# Tests and the demo first make sure the packages are there, then re-enter
# make so that pkg-config sees them.
test: deps
	@$(MAKE) --no-print-directory run-tests

run-tests: unit integration drills scripts

unit: $(UNIT_BINS)
	@B=$(B) VALGRIND=$(VALGRIND) sh tests/run-unit.sh $(UNIT_BINS)

integration: $(PROGS) $(INTEG_BINS)
	@B=$(B) sh tests/run-integration.sh $(INTEG_BINS)

drills: $(PROGS)
	@B=$(B) sh tests/run-drills.sh

# Shell tests: the build, the installed files, the demo, the README.
scripts: $(PROGS) $(DEMO_BINS)
	@B=$(B) sh tests/run-scripts.sh $(SCRIPT_TESTS)

# The fault tests run short in `make test`; these are their long runs.
test-faults: deps
	@$(MAKE) --no-print-directory run-faults

run-faults: $(PROGS) $(FAULT_BINS)
	@B=$(B) HL_FAULTS_LONG=1 sh tests/run-integration.sh $(FAULT_BINS)

demo: deps
	@$(MAKE) --no-print-directory run-demo

run-demo: $(PROGS) $(DEMO_BINS)
	@B=$(B) sh tests/demo/run.sh

bench: $(PROGS) $(BENCH_BINS)
	@B=$(B) sh tests/bench/run.sh

deps:
	@sh config/deps.sh config/debian-packages

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	for m in $(wildcard docs/*.1); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard docs/*.8); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/; done
	for c in $(wildcard config/*.ini); do install -m 0644 $$c $(DESTDIR)$(DATADIR)/; done
	for u in $(wildcard config/*.service); do \
		sed 's|/usr/local/bin|$(BINDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	install -m 0644 config/hotline-relay.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/hotline-relay.conf
	install -m 0644 config/hotline-relay.tmpfiles \
		$(DESTDIR)$(TMPFILESDIR)/hotline-relay.conf
	for c in $(wildcard config/bash-completion/*); do \
		install -m 0644 $$c $(DESTDIR)$(BASHCOMPDIR)/; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard docs/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard docs/*.8)))
	rm -rf $(DESTDIR)$(DATADIR)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(wildcard config/*.service)))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/hotline-relay.conf \
		$(DESTDIR)$(TMPFILESDIR)/hotline-relay.conf
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(wildcard config/bash-completion/*)))

clean:
	rm -rf $(BUILD) $(BUILD)-san $(BUILD)-fuzz

# Fuzzers (clang, libFuzzer) and their corpus replay in the test suite.
-include tests/fuzz/fuzz.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
