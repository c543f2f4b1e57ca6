# emu/ topology runtime (shell, emu/lib + emu/cmd): nothing to compile except a test tool,
# mptcp_xfer, a minimal MPTCP/TCP bulk sender/receiver used by tests/integration/emu_*.sh.
MPTCP_XFER := build/$(VARIANT)/tools/mptcp_xfer
BINS += $(MPTCP_XFER)
$(MPTCP_XFER): $(OBJDIR)/tests/tools/mptcp_xfer.o $(MPX_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
