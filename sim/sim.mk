# sim/: mpx-sim, the discrete-event model of the experiments (sim/README.md). Its links are
# the link emulator's pure logic ($(LINKEM_PURE), emu/linkem.mk), so both draw alike.
SIM_SRCS := $(sort $(wildcard sim/*.c))
SIM_OBJS := $(SIM_SRCS:%.c=$(OBJDIR)/%.o)
SIM_CORE := $(filter-out $(OBJDIR)/sim/main.o,$(SIM_OBJS))

BINS += $(BINDIR)/mpx-sim
$(BINDIR)/mpx-sim: $(SIM_OBJS) $(LINKEM_PURE) $(MPX_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PROTO_LDLIBS) -lm $(LDLIBS)

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_sim_*.c))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_sim_*.c)),\
  $(eval UNIT_LINK_$(t) := $(SIM_CORE) $(LINKEM_PURE) $(MPX_LIB) $(PROTO_LIB) -lm))
$(foreach t,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_sim_*.c)),\
  $(eval $(TESTBIN)/$(t): $(SIM_CORE) $(LINKEM_PURE) $(MPX_LIB)))
