# Fuzz targets: one libFuzzer binary per tests/fuzz/fuzz_*.c, linked with proto sources
# compiled by clang with -fsanitize=fuzzer (components add sources via FUZZ_SRCS).
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -I. -fsanitize=fuzzer,address,undefined
FUZZ_NAMES  := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz-build
fuzz-build: $(addprefix $(FUZZBIN)/,$(FUZZ_NAMES))
$(FUZZBIN)/%: tests/fuzz/%.c $(PROTO_SRCS) $(FUZZ_EXTRA_SRCS_$*)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(PROTO_SRCS) $(FUZZ_EXTRA_SRCS_$*) $(PROTO_LDLIBS) $(FUZZ_LDLIBS_$*)
