# emu/linkem: the userspace link emulator mpx-linkem (see emu/linkem/README.md).
LINKEM_SRCS := $(sort $(wildcard emu/linkem/*.c))
LINKEM_OBJS := $(LINKEM_SRCS:%.c=$(OBJDIR)/%.o)
# the parts the unit tests link (io.o only for its checksum function, which needs proto/ippkt)
LINKEM_PURE := $(addprefix $(OBJDIR)/emu/linkem/,spec.o loss.o trace.o queue.o sched.o link.o io.o)

BINS += $(BINDIR)/mpx-linkem
$(BINDIR)/mpx-linkem: $(LINKEM_OBJS) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lm $(LDLIBS)

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_linkem_*.c))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_linkem_*.c)),\
  $(eval UNIT_LINK_$(t) := $(LINKEM_PURE) $(MPX_LIB) $(PROTO_LIB) -lm))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_linkem_*.c)),\
  $(eval $(TESTBIN)/$(t): $(LINKEM_PURE) $(MPX_LIB)))

# mpx-lkprobe: UDP probe sender/receiver used by the linkem tests and bench/linkem
BINS += $(BINDIR)/mpx-lkprobe
$(BINDIR)/mpx-lkprobe: $(OBJDIR)/emu/linkem/probe/probe.o $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# fuzz target over the SPEC / schedule / trace parsers (tests/fuzz/fuzz_linkem_spec.c)
FUZZ_EXTRA_SRCS_fuzz_linkem_spec := emu/linkem/spec.c emu/linkem/sched.c emu/linkem/trace.c emu/linkem/loss.c \
  emu/linkem/pcap.c \
  lib/parse.c
FUZZ_LDLIBS_fuzz_linkem_spec := -lm
