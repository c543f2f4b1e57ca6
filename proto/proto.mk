# proto/: the wire-format library (pure functions, no I/O) and its CLI face, mpx-wire.
PROTO_SRCS   := $(sort $(wildcard proto/*.c))
PROTO_OBJS   := $(PROTO_SRCS:%.c=$(OBJDIR)/%.o)
PROTO_LDLIBS := -lnettle

$(PROTO_LIB): $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@.tmp && ar rcs $@.tmp $^ && mv -f $@.tmp $@

WIRE_SRCS := $(sort $(wildcard proto/wire/*.c))
ifneq ($(WIRE_SRCS),)
BINS += $(BINDIR)/mpx-wire
$(BINDIR)/mpx-wire: $(WIRE_SRCS:%.c=$(OBJDIR)/%.o) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) $(LDLIBS)
endif

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_proto_*.c))
