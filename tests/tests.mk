# Fuzz targets: one libFuzzer binary per tests/fuzz/fuzz_*.c, linked with proto sources
# compiled by clang with -fsanitize=fuzzer (a component adds sources and libraries for target
# NAME in FUZZ_EXTRA_SRCS_NAME / FUZZ_LDLIBS_NAME). Rebuilt when these rules change.
# The same warnings as every other build (WARN, top Makefile): a fuzz target must not hide one.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined $(WARN)
FUZZ_NAMES  := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz-build
fuzz-build: $(addprefix $(FUZZBIN)/,$(FUZZ_NAMES))
# second expansion: the per-target extra sources (and their headers) are prerequisites too, so
# a change in pcap-analysis/ or emu/linkem/ rebuilds the fuzz targets that compile it
.SECONDEXPANSION:
$(FUZZBIN)/%: tests/fuzz/%.c $(PROTO_SRCS) $$(FUZZ_EXTRA_SRCS_$$*) \
    $$(wildcard $$(addsuffix *.h,$$(sort $$(dir $$(FUZZ_EXTRA_SRCS_$$*))))) tests/tests.mk
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRCS) $(FUZZ_EXTRA_SRCS_$*) $(PROTO_LDLIBS) $(FUZZ_LDLIBS_$*)
