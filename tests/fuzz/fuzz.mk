# Fuzzers for hotline's parsers (included by the Makefile).
#
#   make fuzz          builds every fuzzer with clang and libFuzzer
#                      (ASan + UBSan) into $(BUILD)-fuzz/, then runs each
#                      for FUZZ_SECONDS over its seed corpus
#                      tests/fuzz/corpus/<name>/, which is only read; new
#                      inputs and crashes go to a temporary folder, or to
#                      FUZZ_OUT when set. FUZZERS="content time" picks some.
#   make fuzz-replay   every seed corpus once through its target, built with
#                      CC (and the sanitizers under SAN=1, valgrind under
#                      VALGRIND=1); part of `make test`
#   make fuzz-corpus   rewrites the generated seed files in
#                      tests/fuzz/corpus/ (never the regression inputs kept
#                      beside them)
#
# A fuzzer is tests/fuzz/fuzz_<name>.c, found by wildcard; its seeds are
# tests/fuzz/corpus/<name>/. Fuzzers named relay_* link the relay's parser
# files (RELAY_PARSE_SRC) and packages, fuzz_scenario the client's scenario
# parser (CLIENT_PARSE_SRC) and the base, the others the crypto core's
# archive.

FUZZ_SECONDS ?= 60
FUZZ_OUT ?=
FUZZ_CC ?= clang
FUZZ_B := $(BUILD)-fuzz

FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_RELAY := $(filter relay_%,$(FUZZ_ALL))
FUZZ_CLIENT := $(filter scenario,$(FUZZ_ALL))
FUZZ_CRYPTO := $(filter-out relay_% scenario,$(FUZZ_ALL))
FUZZERS ?= $(FUZZ_ALL)

# The fuzz build never takes CFLAGS or SAN: libFuzzer wants its own
# optimisation and sanitizers, and clang must build every object it links.
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -pthread \
	$(WARN) -g -O1 -fno-omit-frame-pointer -MMD -MP -I.
FUZZ_SAN_CC := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all
FUZZ_SAN_LD := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz_obj = $(patsubst %.c,$(FUZZ_B)/%.o,$(1))
FUZZ_LIB_BASE := $(FUZZ_B)/libhlbase.a
FUZZ_LIB_CRYPTO := $(FUZZ_B)/libhlcrypto.a
# The relay's pure parsers: JSON request bodies, relay.ini, secrets. Only
# these are linked, so the rest of the relay cannot break their fuzzers.
RELAY_PARSE_SRC := $(wildcard relay/request.c relay/secret.c relay/config.c)
# The scenario language of hotline-drill: text in, steps out, nothing else.
CLIENT_PARSE_SRC := $(wildcard client/scenario.c)
fuzz_bins = $(patsubst %,$(FUZZ_B)/fuzz_%,$(1))
replay_bins = $(patsubst %,$(B)/tests/fuzz/replay_%,$(1))

.PHONY: run-fuzz fuzz-replay fuzz-corpus

$(FUZZ_B)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN_CC) \
		$(call pkg_cflags,$(call pkgs_for,$<)) -c $< -o $@

$(FUZZ_LIB_BASE): $(call fuzz_obj,$(BASE_SRC))
$(FUZZ_LIB_CRYPTO): $(call fuzz_obj,$(CRYPTO_SRC))
$(FUZZ_LIB_BASE) $(FUZZ_LIB_CRYPTO):
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(call fuzz_bins,$(FUZZ_CRYPTO)): $(FUZZ_B)/fuzz_%: \
		$(FUZZ_B)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_CRYPTO) $(FUZZ_LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN_LD) -o $@ $^ \
		$(call pkg_libs,$(CRYPTO_PKGS)) -lm

$(call fuzz_bins,$(FUZZ_RELAY)): $(FUZZ_B)/fuzz_%: \
		$(FUZZ_B)/tests/fuzz/fuzz_%.o $(call fuzz_obj,$(RELAY_PARSE_SRC)) \
		$(FUZZ_LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN_LD) -o $@ $^ \
		$(call pkg_libs,$(RELAY_PKGS)) -lm

$(call fuzz_bins,$(FUZZ_CLIENT)): $(FUZZ_B)/fuzz_%: \
		$(FUZZ_B)/tests/fuzz/fuzz_%.o $(call fuzz_obj,$(CLIENT_PARSE_SRC)) \
		$(FUZZ_LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN_LD) -o $@ $^ \
		$(call pkg_libs,$(BASE_PKGS)) -lm

# Like `make test`: check the packages (clang and its libFuzzer runtime are
# among them), then re-enter make so that pkg-config sees them.
fuzz: deps
	@$(MAKE) --no-print-directory run-fuzz

run-fuzz: $(call fuzz_bins,$(FUZZERS))
	@FUZZ_B=$(FUZZ_B) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_OUT=$(FUZZ_OUT) \
		sh tests/fuzz/run-fuzz.sh $(FUZZERS)

# The replay links only what its parsers live in, so a part still being
# written elsewhere cannot break the others.
$(call replay_bins,$(FUZZ_CRYPTO)): $(B)/tests/fuzz/replay_%: \
		$(B)/tests/fuzz/replay.o $(B)/tests/fuzz/fuzz_%.o $(LIB_CRYPTO) \
		$(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(CRYPTO_PKGS)) -lm

$(call replay_bins,$(FUZZ_RELAY)): $(B)/tests/fuzz/replay_%: \
		$(B)/tests/fuzz/replay.o $(B)/tests/fuzz/fuzz_%.o \
		$(call obj,$(RELAY_PARSE_SRC)) $(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(RELAY_PKGS)) -lm

$(call replay_bins,$(FUZZ_CLIENT)): $(B)/tests/fuzz/replay_%: \
		$(B)/tests/fuzz/replay.o $(B)/tests/fuzz/fuzz_%.o \
		$(call obj,$(CLIENT_PARSE_SRC)) $(LIB_BASE)
	@[ "$(V)" = 1 ] || echo "  LD      $@"
	$(Q)$(CC) $(BASE_CFLAGS) $(BASE_LDFLAGS) -o $@ $^ $(call pkg_libs,$(BASE_PKGS)) -lm

fuzz-replay: $(call replay_bins,$(FUZZ_ALL))
	@B=$(B) VALGRIND=$(VALGRIND) sh tests/fuzz/run-replay.sh $(FUZZ_ALL)

run-tests: fuzz-replay

fuzz-corpus: $(B)/tests/fuzz/replay_session
	@B=$(B) sh tests/fuzz/gen-corpus.sh

-include $(shell find $(FUZZ_B) -name '*.d' 2>/dev/null)
