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

