# pcap-analysis/: mpx-analyze, the pcap verification report (libpcap + proto/ + lib/).
ANALYZE_SRCS := $(filter-out pcap-analysis/main.c,$(sort $(wildcard pcap-analysis/*.c)))
ANALYZE_OBJS := $(ANALYZE_SRCS:%.c=$(OBJDIR)/%.o)
# the parts of lib/ the analyzer uses (the fuzz build compiles them from source)
ANALYZE_LIB_SRCS := lib/stats.c lib/json.c lib/pattern.c

BINS += $(BINDIR)/mpx-analyze
$(BINDIR)/mpx-analyze: $(OBJDIR)/pcap-analysis/main.o $(ANALYZE_OBJS) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) -lpcap $(LDLIBS)

# mkpcap: builds the hand-made corner-case captures of tests/data/pcap/
ifneq ($(wildcard tests/tools/mkpcap.c),)
BINS += $(BINDIR)/mpx-mkpcap
$(BINDIR)/mpx-mkpcap: $(OBJDIR)/tests/tools/mkpcap.o $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS)
endif

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_analyze_*.c))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_analyze_*.c)),\
  $(eval UNIT_LINK_$(t) := $(ANALYZE_OBJS) $(MPX_LIB) -lpcap))
TEST_EXTRA_DEPS += $(ANALYZE_OBJS)

FUZZ_EXTRA_SRCS_fuzz_pcap := $(ANALYZE_SRCS) $(ANALYZE_LIB_SRCS)
FUZZ_LDLIBS_fuzz_pcap := -lpcap

# pcapgen: many-connection captures made from an experiment's captures (bench, scaling test)
BINS += $(BINDIR)/mpx-pcapgen
$(BINDIR)/mpx-pcapgen: $(OBJDIR)/tests/tools/pcapgen.o $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) -lpcap $(LDLIBS)
