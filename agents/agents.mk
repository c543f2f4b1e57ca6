# agents/: mpx-server, mpx-client and the shared agent library (agents/common, static).
# agents/proxy.mk (the proxy helper's fragment) links $(AGENTS_COMMON_LIB) as well.
# Note: fragments are included in alphabetical order, so proto.mk comes later; the proto
# library path is spelled out here instead of using $(PROTO_LIB) in prerequisites.
AGENTS_COMMON_SRCS := $(sort $(wildcard agents/common/*.c))
AGENTS_COMMON_OBJS := $(AGENTS_COMMON_SRCS:%.c=$(OBJDIR)/%.o)
AGENTS_COMMON_LIB  := build/$(VARIANT)/libmpxagents.a
AGENTS_PROTO_LIB   := build/$(VARIANT)/libmpxproto.a

$(AGENTS_COMMON_LIB): $(AGENTS_COMMON_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

MPX_SERVER_SRCS := $(sort $(wildcard agents/server/*.c))
MPX_CLIENT_SRCS := $(sort $(wildcard agents/client/*.c))

ifneq ($(MPX_SERVER_SRCS),)
BINS += $(BINDIR)/mpx-server
$(BINDIR)/mpx-server: $(MPX_SERVER_SRCS:%.c=$(OBJDIR)/%.o) $(AGENTS_COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
endif

ifneq ($(MPX_CLIENT_SRCS),)
BINS += $(BINDIR)/mpx-client
$(BINDIR)/mpx-client: $(MPX_CLIENT_SRCS:%.c=$(OBJDIR)/%.o) $(AGENTS_COMMON_LIB) $(AGENTS_PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS) -lm
endif

# Unit tests tests/unit/test_agents_*.c link the agents library.
AGENTS_UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_agents_*.c))
UNIT_TESTS += $(AGENTS_UNIT_TESTS)
TEST_EXTRA_DEPS += $(AGENTS_COMMON_LIB)
$(foreach t,$(AGENTS_UNIT_TESTS),$(eval UNIT_LINK_$(t) := $(AGENTS_COMMON_LIB)))
