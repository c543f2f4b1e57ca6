# agents/proxy.mk: mpx-proxy (the converter), its unit tests and the test probe tool.
# Fragments are included in alphabetical order (agents before proto), so the proto library
# path is spelled out for prerequisites; PROTO_LDLIBS is only expanded inside recipes.
MPX_PROXY_SRCS := $(sort $(wildcard agents/proxy/*.c))
MPX_PROXY_OBJS := $(MPX_PROXY_SRCS:%.c=$(OBJDIR)/%.o)

ifneq ($(MPX_PROXY_SRCS),)
BINS += $(BINDIR)/mpx-proxy
$(BINDIR)/mpx-proxy: $(MPX_PROXY_OBJS) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS) -lpthread
endif

# tests/tools/proxy_probe: the proxy tests' own client (raw SYN payloads, timing, load).
PROXY_PROBE_SRCS := $(wildcard tests/tools/proxy_probe.c)
ifneq ($(PROXY_PROBE_SRCS),)
BINS += $(BINDIR)/mpx-proxy-probe
$(BINDIR)/mpx-proxy-probe: $(OBJDIR)/tests/tools/proxy_probe.o $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS)
endif

# tests/repro: the kernel reply-stall reproducer (standalone, no project code)
ifneq ($(wildcard tests/repro/mptcp_tfo_reply_stall.c),)
BINS += $(BINDIR)/mptcp_tfo_reply_stall
$(BINDIR)/mptcp_tfo_reply_stall: tests/repro/mptcp_tfo_reply_stall.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c11 $(WARN) $(LDFLAGS) -o $@ $< $(LDLIBS)
endif

# unit tests: tests/unit/test_proxy_*.c link the proxy objects except main.o
PROXY_UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_proxy_*.c))
UNIT_TESTS += $(PROXY_UNIT_TESTS)
PROXY_LIB_OBJS := $(filter-out %/main.o,$(MPX_PROXY_OBJS))
TEST_EXTRA_DEPS += $(PROXY_LIB_OBJS)
$(foreach t,$(PROXY_UNIT_TESTS),$(eval UNIT_LINK_$(t) := $(PROXY_LIB_OBJS) $(MPX_LIB) -lpthread))

# fuzz target: the front ends through the connection code (tests/fuzz/fuzz_proxy_frontend.c)
FUZZ_EXTRA_SRCS_fuzz_proxy_frontend := $(filter-out agents/proxy/main.c,$(MPX_PROXY_SRCS)) $(sort $(wildcard lib/*.c))
FUZZ_LDLIBS_fuzz_proxy_frontend := -lpthread
