# conform/: mpx-conform, the RFC 8803 / SOCKS5 conformance tool (lib/ + proto/), its unit
# test, and the test-only mpx-proxy build that skips one check (conform_proxy.sh).
CONFORM_SRCS := $(filter-out conform/main.c,$(sort $(wildcard conform/*.c)))
CONFORM_OBJS := $(CONFORM_SRCS:%.c=$(OBJDIR)/%.o)

BINS += $(BINDIR)/mpx-conform
$(BINDIR)/mpx-conform: $(OBJDIR)/conform/main.o $(CONFORM_OBJS) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS)

# tests/unit/test_conform*.c link the case table and its helpers
CONFORM_UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_conform*.c))
UNIT_TESTS += $(CONFORM_UNIT_TESTS)
TEST_EXTRA_DEPS += $(CONFORM_OBJS)
$(foreach t,$(CONFORM_UNIT_TESTS),$(eval UNIT_LINK_$(t) := $(CONFORM_OBJS) $(MPX_LIB) -lpthread))

# mpx-proxy-conform-break: mpx-proxy with agents/proxy/convert.c built with
# -DMPX_PROXY_CONFORM_BREAK (the RFC 8803 s6.2.5 target address check skipped), so that the
# conformance test sees the matching cases fail. Never used outside tests.
ifneq ($(MPX_PROXY_OBJS),)
CONFORM_BREAK_OBJ := $(OBJDIR)/conform/break/proxy_convert.o
$(CONFORM_BREAK_OBJ): agents/proxy/convert.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMPX_PROXY_CONFORM_BREAK=1 -c -o $@ $<

BINS += $(BINDIR)/mpx-proxy-conform-break
$(BINDIR)/mpx-proxy-conform-break: $(filter-out %/agents/proxy/convert.o,$(MPX_PROXY_OBJS)) \
                                   $(CONFORM_BREAK_OBJ) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS) -lpthread
endif
