# agents/optd: mpx-optd, the NFQUEUE helper that adds/reads experimental SYN signals.
MPX_OPTD_SRCS := $(sort $(wildcard agents/optd/*.c))
BINS += $(BINDIR)/mpx-optd
$(BINDIR)/mpx-optd: $(MPX_OPTD_SRCS:%.c=$(OBJDIR)/%.o) $(MPX_LIB) build/$(VARIANT)/libmpxproto.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lnetfilter_queue -lmnl -lnettle $(LDLIBS)

UNIT_TESTS += test_optd_mangle
UNIT_LINK_test_optd_mangle := $(OBJDIR)/agents/optd/mangle.o
TEST_EXTRA_DEPS += $(OBJDIR)/agents/optd/mangle.o

UNIT_TESTS += test_optd_core
UNIT_LINK_test_optd_core := $(OBJDIR)/agents/optd/core.o $(OBJDIR)/agents/optd/mangle.o
TEST_EXTRA_DEPS += $(OBJDIR)/agents/optd/core.o

UNIT_TESTS += test_optd_ctl
UNIT_LINK_test_optd_ctl := $(OBJDIR)/agents/optd/core.o $(OBJDIR)/agents/optd/mangle.o
