# mpxlab top-level build. Each component appends to BINS / UNIT_TESTS / FUZZ_TARGETS in its
# own fragment (<dir>/*.mk) so a change to one component never touches another's rules.
#   make            all binaries into bin/
#   make SAN=1      ASan+UBSan build into build/san/bin
#   make test       every test, static checks first (lint/*; unit tests run the SAN build);
#                   T=regex runs a subset
#   make run        the default experiment
#   make deps       install missing Debian packages (idempotent, ~1 s when all present)
#   make lint       shellcheck and cppcheck over the tree (tests/lint.sh; make test runs it too);
#                   LINT_PATHS="dir file" checks only those
SHELL     := /bin/bash
CC        ?= cc
CLANG     ?= clang
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
WARN      := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -DMPX_VERSION='"$(VERSION)"' $(WARN) -I. -MMD -MP
LDLIBS    ?=

ifeq ($(SAN),1)
  VARIANT := san
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BINDIR  := build/san/bin
else
  VARIANT := rel
  BINDIR  := bin
endif
OBJDIR    := build/$(VARIANT)/obj
TESTBIN   := build/$(VARIANT)/tests
FUZZBIN   := build/fuzz

# lib/: the utility library every binary links (JSON, files, addresses, durations, clocks,
# sockets). Defined here, before the fragments, because they name it in prerequisites.
MPX_LIB_SRCS := $(sort $(wildcard lib/*.c))
MPX_LIB      := build/$(VARIANT)/libmpx.a
PROTO_LIB    := build/$(VARIANT)/libmpxproto.a

BINS         :=
UNIT_TESTS   :=
FUZZ_TARGETS :=

.PHONY: all test run deps lint fuzz bench clean unit-build
all:

include $(sort $(wildcard proto/*.mk emu/*.mk agents/*.mk pcap-analysis/*.mk conform/*.mk sim/*.mk tests/*.mk bench/*.mk))

all: $(BINS)

# Unit tests tests/unit/test_lib_*.c link the utility library.
LIB_UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_lib_*.c))
UNIT_TESTS += $(LIB_UNIT_TESTS)
TEST_EXTRA_DEPS += $(MPX_LIB)
$(foreach t,$(LIB_UNIT_TESTS),$(eval UNIT_LINK_$(t) := $(MPX_LIB)))

$(MPX_LIB): $(MPX_LIB_SRCS:%.c=$(OBJDIR)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked with libmpxproto and any
# extra objects the component lists in UNIT_LINK_<name>.
$(TESTBIN)/%: tests/unit/%.c $(PROTO_LIB) $(TEST_EXTRA_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LINK_$*) $(PROTO_LIB) -lcmocka $(PROTO_LDLIBS) $(LDLIBS)

unit-build: $(addprefix $(TESTBIN)/,$(UNIT_TESTS))

test: deps-check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 all unit-build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run.sh $(if $(T),--filter '$(T)')

run: deps-check all
	./mpxlab run experiments/default.exp

deps:
	@tests/deps.sh

deps-check:
	@tests/deps.sh --quiet

lint: deps-check
	@tests/lint.sh $(LINT_PATHS)

fuzz: fuzz-build
	@tests/run.sh --fuzz-seconds $${FUZZ_SECONDS:-60} --filter '^fuzz/'

bench: all
	@for b in bench/*/run.sh; do [ -x "$$b" ] && { echo "== $$b"; "$$b" || echo "bench $$b failed rc=$$?"; }; done; true

clean:
	rm -rf build bin/mpx-*

-include $(shell find build/$(VARIANT)/obj -name '*.d' 2>/dev/null)
