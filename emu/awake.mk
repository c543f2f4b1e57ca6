# emu/awake: mpx-awake, one SCHED_IDLE spinner per CPU so an idle vCPU does not halt while an
# emulation runs (emu/README.md, "Keeping the CPUs awake").
BINS += $(BINDIR)/mpx-awake
$(BINDIR)/mpx-awake: $(OBJDIR)/emu/awake/awake.o $(MPX_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS)
