# pcap-analysis/: mpx-analyze, the pcap verification report (libpcap + proto/).
ANALYZE_SRCS := $(filter-out pcap-analysis/main.c,$(sort $(wildcard pcap-analysis/*.c)))
ANALYZE_OBJS := $(ANALYZE_SRCS:%.c=$(OBJDIR)/%.o)
# This fragment is included before proto/proto.mk (sorted names), so PROTO_LIB is still
# empty when the prerequisites below are read: name the library's path here.
ANALYZE_PROTO_LIB := build/$(VARIANT)/libmpxproto.a

BINS += $(BINDIR)/mpx-analyze
$(BINDIR)/mpx-analyze: $(OBJDIR)/pcap-analysis/main.o $(ANALYZE_OBJS) $(ANALYZE_PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) -lpcap $(LDLIBS)

# mkpcap: builds the hand-made corner-case captures of tests/data/pcap/
ifneq ($(wildcard tests/tools/mkpcap.c),)
BINS += $(BINDIR)/mpx-mkpcap
$(BINDIR)/mpx-mkpcap: $(OBJDIR)/tests/tools/mkpcap.o $(ANALYZE_PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS)
endif

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_analyze_*.c))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_analyze_*.c)),\
  $(eval UNIT_LINK_$(t) := $(ANALYZE_OBJS) -lpcap))
TEST_EXTRA_DEPS += $(ANALYZE_OBJS)

FUZZ_EXTRA_SRCS_fuzz_pcap := $(ANALYZE_SRCS)
FUZZ_LDLIBS_fuzz_pcap := -lpcap
