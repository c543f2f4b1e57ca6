#!/usr/bin/python3
"""mpx_mn: the Mininet side of mpxlab's Mininet backend (emu/mininet/README.md).

Runs inside the backend's sandbox (own network, PID and mount namespaces, private /tmp; see
emu/mininet/backend.sh) and keeps a Mininet network alive, built one step at a time on
commands read from a control FIFO, so that the bash topology builder (emu/lib/topo.sh) can
apply its sysctls between "host created" and "link created" exactly as the plain backend does:

    host NAME                 Mininet Host NAME (own netns); answers "host NAME PID"
    link N1 IF1 N2 IF2        Mininet Link N1:IF1 <-> N2:IF2 (a plain veth pair, no TCLink:
                              this kernel has no netem, mpx-linkem does the shaping);
                              answers "link N1 IF1 N2 IF2"
    stop                      net.stop(), answers "stopped" and exits 0

Answers (and "ready" at start, "err TEXT" on a failed command) are appended to the events
file, one line each. SIGTERM/SIGINT/SIGHUP stop the network like "stop".

Mininet.init() is skipped on purpose: its fixLimits() raises machine-wide settings
(fs.file-max, net.core.rmem_max/wmem_max, kernel.pty.max) that the plain backend leaves
alone; results must not depend on the backend. Mininet's cleanup() (mn -c) is never called.

Also:  mpx_mn.py totopo SPEC [--custom FILE] [--rate R] [--delay D]
                            prints a .topo for a Mininet topology (mn --topo syntax: single,3
                            linear,4 tree,depth=2,fanout=2 torus,3,3, or a Topo class from a
                            --custom file's "topos" dict, as with mn --custom): hosts stay
                            hosts, switches become routers, TCLink parameters (bw, delay,
                            jitter, loss, max_queue_size) become mpx-linkem link parameters
        mpx_mn.py selftest   builds two hosts and a link, pings, stops (needs root + sandbox).
Exit: 0 ok, 2 usage, 3 Mininet/setup error.
"""

import argparse
import os
import re
import runpy
import select
import signal
import sys
import time

VERSION = "1"


def _mininet():
    """Import Mininet lazily: the module must load (for --help) without it."""
    from mininet.net import Mininet  # pylint: disable=import-outside-toplevel
    from mininet.node import Host  # pylint: disable=import-outside-toplevel
    from mininet.nodelib import LinuxBridge  # pylint: disable=import-outside-toplevel
    from mininet.link import Link  # pylint: disable=import-outside-toplevel
    from mininet.log import setLogLevel  # pylint: disable=import-outside-toplevel
    return Mininet, Host, LinuxBridge, Link, setLogLevel


class MpxNet:
    """A Mininet network grown host by host and link by link."""

    def __init__(self, private_dirs=None, loglevel="warning"):
        mininet_cls, host_cls, bridge_cls, link_cls, set_log_level = _mininet()
        set_log_level(loglevel)
        mininet_cls.inited = True  # skip Mininet.init() -> fixLimits() (see module doc)
        # no controller, Linux bridges for switches (no Open vSwitch module here), plain
        # veth links; hosts get no Mininet addresses (ip=None): the topology builder
        # assigns 198.18.0.0/15 and fd00::/8 addresses itself
        self.net = mininet_cls(topo=None, build=False, controller=None,
                               switch=bridge_cls, host=host_cls, link=link_cls,
                               autoSetMacs=False, autoStaticArp=False)
        self.private_dirs = list(private_dirs or [])
        self.stopped = False

    def host(self, name):
        """Add a host; returns its shell's PID (in the sandbox's PID namespace)."""
        h = self.net.addHost(name, ip=None, privateDirs=self.private_dirs)
        return h.pid

    def link(self, n1, if1, n2, if2):
        """Add a link n1:if1 <-> n2:if2 (veth pair created directly in both namespaces)."""
        self.net.addLink(n1, n2, intfName1=if1, intfName2=if2)

    def stop(self):
        if not self.stopped:
            self.stopped = True
            self.net.stop()


class Server:
    """Reads commands from the control FIFO, appends answers to the events file."""

    def __init__(self, net, ctl, events):
        self.net = net
        self.ctl = ctl
        self.events = events
        self.sig = None

    def emit(self, line):
        with open(self.events, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()

    def _on_signal(self, signum, _frame):
        self.sig = signum

    def handle(self, line):
        w = line.split()
        if not w:
            return True
        try:
            if w[0] == "host" and len(w) == 2:
                pid = self.net.host(w[1])
                self.emit("host %s %d" % (w[1], pid))
            elif w[0] == "link" and len(w) == 5:
                self.net.link(w[1], w[2], w[3], w[4])
                self.emit("link %s" % " ".join(w[1:]))
            elif w[0] == "stop" and len(w) == 1:
                return False
            else:
                self.emit("err unknown command: %s" % line)
        except Exception as e:  # pylint: disable=broad-except
            # report and carry on: the builder decides (it tears the run down)
            self.emit("err %s: %s" % (w[0], str(e).replace("\n", " ")))
        return True

    def serve(self):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self._on_signal)
        # O_RDWR: the FIFO never reports EOF when a writer closes, and opening never blocks
        fd = os.open(self.ctl, os.O_RDWR | os.O_NONBLOCK)
        buf = b""
        self.emit("ready %d" % os.getpid())
        running = True
        try:
            while running and self.sig is None:
                try:
                    r, _, _ = select.select([fd], [], [], 0.2)
                except InterruptedError:
                    continue
                if not r:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                buf += chunk
                while b"\n" in buf and running:
                    line, buf = buf.split(b"\n", 1)
                    running = self.handle(line.decode("utf-8", "replace").strip())
        finally:
            os.close(fd)
            self.net.stop()
            self.emit("stopped")


def cmd_serve(a):
    private = []
    if a.real_tmp:
        private.append(("/tmp", a.real_tmp))
    if a.host_proc:
        private.append(("/proc", a.host_proc))
    try:
        net = MpxNet(private, a.loglevel)
    except Exception as e:  # pylint: disable=broad-except
        print("mpx_mn: cannot start Mininet: %s" % e, file=sys.stderr)
        return 3
    Server(net, a.ctl, a.events).serve()
    return 0


def cmd_selftest(a):
    """Two hosts, one link, addresses from the 198.18.0.0/15 benchmark range, one ping."""
    net = MpxNet([], a.loglevel)
    try:
        net.host("h1")
        net.host("h2")
        net.link("h1", "e1", "h2", "e2")
        h1, h2 = net.net["h1"], net.net["h2"]
        h1.cmd("ip addr add 198.18.254.1/24 dev e1; ip link set e1 up")
        h2.cmd("ip addr add 198.18.254.2/24 dev e2; ip link set e2 up")
        t = time.time()
        out = h1.cmd("ping -c 1 -W 2 198.18.254.2")
        ok = " 0% packet loss" in out
        print("selftest: ping %s (%.0f ms)" % ("ok" if ok else "FAILED", (time.time() - t) * 1e3))
        return 0 if ok else 3
    finally:
        net.stop()


def _topo_name(name, used):
    """A .topo name (a-z0-9_, at most 15, starting with a letter) for a Mininet name."""
    n = re.sub(r"[^a-z0-9_]", "_", str(name).lower())
    if not n or not n[0].isalpha():
        n = "n" + n
    n = n[:15]
    base, i = n, 1
    while n in used:
        i += 1
        n = "%s_%d" % (base[:15 - len(str(i)) - 1], i)
    used.add(n)
    return n


def _unit(v, default_unit):
    """'10ms' stays, 10 -> '10<default_unit>'."""
    v = str(v).strip()
    return v if re.match(r"^[0-9.]+[a-z]+$", v) else v + default_unit


def topo_text(topo, spec, rate=None, delay=None):
    """The .topo text of a Mininet Topo object."""
    used = set()
    names = {}
    out = ["# generated by: emu/mininet/mpx_mn.py totopo %s" % spec,
           "# from Mininet's topology; switches become routers (layer 3: every link gets its",
           "# own /24, routes are computed by mpxlab), links get mpx-linkem parameters.", ""]
    for n in topo.hosts():
        names[n] = _topo_name(n, used)
        out.append("node %s host" % names[n])
    for n in topo.switches():
        names[n] = _topo_name(n, used)
        out.append("node %s router" % names[n])
    out.append("")
    links = topo.links(sort=True, withKeys=True, withInfo=True)
    for i, (a, b, _key, info) in enumerate(links, 1):
        p1, p2 = info.get("port1"), info.get("port2")
        if p1 is None or p2 is None:
            p1, p2 = topo.port(a, b)
        kv = []
        bw = info.get("bw", rate)
        if bw:
            kv.append("rate=%s" % (_unit(bw, "mbit") if not isinstance(bw, str) or bw[-1].isdigit() else bw))
        d = info.get("delay", delay)
        if d:
            kv.append("delay=%s" % _unit(d, "ms"))
        if info.get("jitter"):
            kv.append("jitter=%s" % _unit(info["jitter"], "ms"))
        if info.get("loss"):
            kv.append("loss=%s%%" % info["loss"])
        if info.get("max_queue_size"):
            kv.append("queue=%dp" % int(info["max_queue_size"]))
        out.append("link l%d %s:eth%s %s:eth%s%s" % (i, names[a], p1, names[b], p2,
                                                  "".join(" " + x for x in kv)))
    return "\n".join(out) + "\n"


def cmd_totopo(a):
    # pylint: disable=import-outside-toplevel
    from mininet.topo import MinimalTopo, SingleSwitchTopo, LinearTopo, SingleSwitchReversedTopo
    from mininet.topolib import TreeTopo, TorusTopo
    from mininet.util import buildTopo
    topos = {"minimal": MinimalTopo, "linear": LinearTopo, "reversed": SingleSwitchReversedTopo,
             "single": SingleSwitchTopo, "tree": TreeTopo, "torus": TorusTopo}
    for f in a.custom or []:
        topos.update(runpy.run_path(f).get("topos", {}))
    try:
        topo = buildTopo(topos, a.spec)
    except Exception as e:  # pylint: disable=broad-except
        print("mpx_mn: %s (known: %s)" % (e, " ".join(sorted(topos))), file=sys.stderr)
        return 2
    sys.stdout.write(topo_text(topo, a.spec, a.rate, a.delay))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="mpx_mn.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See emu/mininet/README.md.")
    p.add_argument("--version", action="version", version="mpx_mn " + VERSION)
    p.add_argument("--loglevel", default="warning",
                   help="Mininet log level (debug, info, warning, error)")
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve", help="build on commands from a FIFO (used by backend.sh)")
    s.add_argument("--ctl", required=True, help="control FIFO")
    s.add_argument("--events", required=True, help="answers are appended here")
    s.add_argument("--real-tmp", help="directory bind-mounted on each host's /tmp")
    s.add_argument("--host-proc", help="proc mount bind-mounted on each host's /proc")
    sub.add_parser("selftest", help="two hosts, a link, one ping (inside a sandbox!)")
    t = sub.add_parser("totopo", help="print a .topo for a Mininet topology")
    t.add_argument("spec", help="mn --topo syntax, e.g. linear,3 or tree,depth=2,fanout=2")
    t.add_argument("--custom", action="append", help="a Python file with a 'topos' dict (mn --custom)")
    t.add_argument("--rate", help="rate for links without bw (e.g. 100mbit)")
    t.add_argument("--delay", help="one-way delay for links without delay (e.g. 5ms)")
    a = p.parse_args(argv)
    if a.cmd == "serve":
        return cmd_serve(a)
    if a.cmd == "selftest":
        return cmd_selftest(a)
    if a.cmd == "totopo":
        return cmd_totopo(a)
    p.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
