# agents/: mpx-server and mpx-client; they link lib/ ($(MPX_LIB)) and proto/ ($(PROTO_LIB)).
MPX_SERVER_SRCS := $(sort $(wildcard agents/server/*.c))
MPX_CLIENT_SRCS := $(sort $(wildcard agents/client/*.c))

ifneq ($(MPX_SERVER_SRCS),)
BINS += $(BINDIR)/mpx-server
$(BINDIR)/mpx-server: $(MPX_SERVER_SRCS:%.c=$(OBJDIR)/%.o) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
endif

ifneq ($(MPX_CLIENT_SRCS),)
BINS += $(BINDIR)/mpx-client
$(BINDIR)/mpx-client: $(MPX_CLIENT_SRCS:%.c=$(OBJDIR)/%.o) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS) -lm
endif


# tests/repro: standalone kernel reproducers of the client-side findings (docs/kernel-findings.md);
# built here so the project's warnings apply; tests/repro/run.sh also builds them on its own
REPRO_CLIENT_BINS := $(patsubst tests/repro/%.c,$(BINDIR)/%,$(wildcard tests/repro/mptcp_tfo_join_stall.c tests/repro/mptcp_fallback_info.c tests/repro/tproxy_tw_blackhole.c))
BINS += $(REPRO_CLIENT_BINS)
$(REPRO_CLIENT_BINS): $(BINDIR)/%: tests/repro/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c11 $(WARN) $(LDFLAGS) -o $@ $< $(LDLIBS)
