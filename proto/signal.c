/* The signal registry (signal.h). Ports: the proxy front-ends' defaults (convert 5124,
 * mpconvert 5125, mpconvert-ie 5126, transparent 5127, mpconvert-opt 5128, convert-tfo 5129,
 * SOCKS 1080, SOCKS with RFC 1929 1081). Texts are the evidence table's words. */
#include <stdio.h>
#include <string.h>
#include "proto/signal.h"

#define CONVERT_VARLEN "yes (TLVs, up to 1020 B)"
#define CONVERT_MULTI  "yes (distinct TLV types, each once)"
#define CONVERT_V6     "Connect TLV always carries 16 B (IPv4-mapped for IPv4): 20 B of payload, no option space"
#define SOCKS_VARLEN   "yes (domain name up to 255 B)"
#define SOCKS_MULTI    "no (one request per connection)"
#define SOCKS_V6       "ATYP 4 (16 B) in the CONNECT request"
#define IMPLICIT_V6    "the target is the packet's destination address"

static const mpx_signal g_signals[] = {
    { .id = MPX_SIG_TCP, .name = "tcp", .mode = MPX_SIG_MODE_NONE, .where = MPX_SIG_IN_NONE,
      .channel = "—", .mptcp = false, .tfo = MPX_SIG_TFO_OPTIONAL, .wire = MPX_WIRE_PLAIN,
      .model = "direct", .summary = "plain TCP straight to the target (the baseline, no proxy)",
      .props = { "—", "—", "—", "no signal" } },
    { .id = MPX_SIG_SOCKS5, .name = "socks5", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_APP,
      .channel = "app bytes after handshake", .frontend = "socks5", .port = 1080, .mptcp = true,
      .tfo = MPX_SIG_TFO_NONE, .waits_reply = true, .wire = MPX_WIRE_SOCKS5, .model = "app-2x",
      .summary = "SOCKSv5 CONNECT after the handshake (RFC 1928, no authentication)",
      .props = { SOCKS_VARLEN, SOCKS_MULTI, "yes", SOCKS_V6 } },
    { .id = MPX_SIG_SOCKS5_AUTH, .name = "socks5-auth", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_APP,
      .channel = "app bytes after handshake", .frontend = "socks5", .port = 1081, .auth = true, .mptcp = true,
      .tfo = MPX_SIG_TFO_NONE, .waits_reply = true, .wire = MPX_WIRE_SOCKS5, .model = "app-3x",
      .summary = "SOCKSv5 with RFC 1929 username/password",
      .props = { SOCKS_VARLEN, SOCKS_MULTI, "yes", SOCKS_V6 } },
    { .id = MPX_SIG_CONVERT, .name = "convert", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload (cookie-less TFO)", .frontend = "convert", .port = 5124, .mptcp = true,
      .tfo = MPX_SIG_TFO_NO_COOKIE, .wire = MPX_WIRE_CONVERT, .model = "syn-data",
      .summary = "RFC 8803 Convert + request in the SYN (cookie-less TFO, 0-RTT)",
      .props = { CONVERT_VARLEN, CONVERT_MULTI, "yes", CONVERT_V6 } },
    { .id = MPX_SIG_CONVERT_WAIT, .name = "convert-wait", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload, waits for reply", .frontend = "convert", .port = 5124, .mptcp = true,
      .tfo = MPX_SIG_TFO_NO_COOKIE, .waits_reply = true, .wire = MPX_WIRE_CONVERT, .model = "syn-data-wait",
      .summary = "Convert in the SYN, request only after the converter's reply (libconvert)",
      .props = { CONVERT_VARLEN, CONVERT_MULTI, "yes", CONVERT_V6 } },
    { .id = MPX_SIG_CONVERT_COOKIE, .name = "convert-cookie", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload + TFO cookie option", .frontend = "convert-tfo", .port = 5129, .mptcp = true,
      .tfo = MPX_SIG_TFO_COOKIE, .wire = MPX_WIRE_CONVERT, .model = "syn-data",
      .summary = "Convert in the SYN with a real TFO cookie (the first connection requests one)",
      .props = { CONVERT_VARLEN, CONVERT_MULTI, "yes", CONVERT_V6 } },
    { .id = MPX_SIG_MPCONVERT, .name = "mpconvert", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload (MP_CONVERT + EOL)", .frontend = "mpconvert", .port = 5125, .mptcp = true,
      .tfo = MPX_SIG_TFO_NO_COOKIE, .wire = MPX_WIRE_MPCONVERT, .model = "syn-data",
      .summary = "MP_CONVERT (plain-mode-09) + EOL + request in the SYN payload",
      .props = { "no (fixed IPv4/IPv6 layouts)", "yes, 2 (D bit: source + destination)", "yes",
                 "22 B MP_CONVERT (IPv6 + port) in the payload" } },
    { .id = MPX_SIG_MPCONVERT_IE, .name = "mpconvert-ie", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload (Information Element)", .frontend = "mpconvert-ie", .port = 5126, .mptcp = true,
      .tfo = MPX_SIG_TFO_NO_COOKIE, .wire = MPX_WIRE_MPCONVERT_IE, .model = "syn-data",
      .summary = "MP_CONVERT Information Element (plain-mode-10) in the SYN payload, echoed back",
      .props = { "no (type 0: address + port)", "yes, 2 (M bit chains IEs)", "yes",
                 "4 B magic + 22 B element in the payload" } },
    { .id = MPX_SIG_MPCONVERT_OPT, .name = "mpconvert-opt", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_TCPOPT,
      .channel = "TCP option space (kind 30)", .frontend = "mpconvert-opt", .port = 5128, .mptcp = true,
      .tfo = MPX_SIG_TFO_OPTIONAL, .helper = MPX_SIG_HELPER_TCPOPT, .optd_item = "mpconvert:v@+port",
      .intercept = "optd-read", .wire = MPX_WIRE_MPCONVERT_OPT, .model = "option",
      .summary = "MP_CONVERT as a kind-30 option in the SYN (needs mpx-optd; shows where it does not fit)",
      .props = { "no (40 B shared option space)", "2 in the format, room for 1 at most", "budget", NULL } },
    { .id = MPX_SIG_IMPLICIT, .name = "implicit", .mode = MPX_SIG_MODE_IMPLICIT, .where = MPX_SIG_IN_NONE,
      .channel = "none (interception)", .frontend = "transparent", .port = 5127, .mptcp = true,
      .tfo = MPX_SIG_TFO_OPTIONAL, .intercept = "all", .wire = MPX_WIRE_PLAIN, .model = "intercept",
      .summary = "MPTCP straight to the target; an on-path HAG intercepts (no signal)",
      .props = { "no signal", "—", "yes", IMPLICIT_V6 } },
    { .id = MPX_SIG_IMPLICIT_PREFER, .name = "implicit-prefer", .mode = MPX_SIG_MODE_IMPLICIT, .where = MPX_SIG_IN_TCPOPT,
      .channel = "TCP option (MP_PREFER_PROXY, 4 B)", .frontend = "transparent", .port = 5127, .mptcp = true,
      .tfo = MPX_SIG_TFO_OPTIONAL, .helper = MPX_SIG_HELPER_TCPOPT, .optd_item = "prefer",
      .intercept = "prefer", .wire = MPX_WIRE_PLAIN, .model = "intercept",
      .summary = "as implicit, the SYN marked with MP_PREFER_PROXY (needs mpx-optd)",
      .props = { "no (empty flag)", "no", "budget", NULL } },
    { .id = MPX_SIG_IMPLICIT_RA, .name = "implicit-ra", .mode = MPX_SIG_MODE_IMPLICIT, .where = MPX_SIG_IN_IPOPT,
      .channel = "IPv4 option (Router Alert)", .frontend = "transparent", .port = 5127, .mptcp = true,
      .tfo = MPX_SIG_TFO_OPTIONAL, .helper = MPX_SIG_HELPER_IPOPT, .intercept = "ra",
      .wire = MPX_WIRE_PLAIN, .model = "intercept",
      .summary = "as implicit, the SYN marked with an IPv4 Router Alert (RFC 2113)",
      .props = { "no (value 0 only)", "no", "no",
                 "IPv4 option; IPv6 needs a hop-by-hop Router Alert (RFC 2711), not built" } },
#ifdef MPX_SIGNAL_TEST_ROW
    /* A throw-away row for the registry test: a second name for the Convert front-end that
     * waits for the reply, to show that harness, report and analyzer pick up a row. */
    { .id = MPX_SIG_TEST_ROW, .name = "convert-test", .mode = MPX_SIG_MODE_EXPLICIT, .where = MPX_SIG_IN_PAYLOAD,
      .channel = "SYN payload (test row)", .frontend = "convert", .port = 5124, .mptcp = true,
      .tfo = MPX_SIG_TFO_NO_COOKIE, .waits_reply = true, .wire = MPX_WIRE_CONVERT, .model = "syn-data-wait",
      .summary = "a throw-away test row (Convert, waits for the reply)",
      .props = { CONVERT_VARLEN, CONVERT_MULTI, "yes", CONVERT_V6 } },
#endif
};

_Static_assert(sizeof g_signals / sizeof g_signals[0] == MPX_SIG__N, "one row per mpx_sig_id");

static const char *const g_wire_names[MPX_WIRE__N] = {
    [MPX_WIRE_NONE] = "none", [MPX_WIRE_PLAIN] = "plain", [MPX_WIRE_CONVERT] = "convert",
    [MPX_WIRE_MPCONVERT] = "mpconvert", [MPX_WIRE_MPCONVERT_IE] = "mpconvert-ie",
    [MPX_WIRE_MPCONVERT_OPT] = "mpconvert-opt", [MPX_WIRE_SOCKS5] = "socks5",
};

const mpx_signal *mpx_signals(size_t *n)
{
    if (n) *n = MPX_SIG__N;
    return g_signals;
}

const mpx_signal *mpx_signal_by_id(mpx_sig_id id)
{
    if ((unsigned)id >= MPX_SIG__N) return NULL;
    return &g_signals[id];
}

const mpx_signal *mpx_signal_by_name(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < MPX_SIG__N; i++)
        if (!strcmp(g_signals[i].name, name)) return &g_signals[i];
    return NULL;
}

const char *mpx_wire_class_name(mpx_wire_class c)
{
    return (unsigned)c < MPX_WIRE__N ? g_wire_names[c] : NULL;
}

const char *mpx_sig_mode_name(mpx_sig_mode m)
{
    static const char *const n[] = { "none", "explicit", "implicit" };
    return (unsigned)m < sizeof n / sizeof n[0] ? n[m] : NULL;
}

const char *mpx_sig_where_name(mpx_sig_where w)
{
    static const char *const n[] = { "none", "app", "payload", "option", "ipopt" };
    return (unsigned)w < sizeof n / sizeof n[0] ? n[w] : NULL;
}

const char *mpx_sig_tfo_name(mpx_sig_tfo t)
{
    static const char *const n[] = { "none", "optional", "no-cookie", "cookie" };
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : NULL;
}

const char *mpx_sig_helper_name(mpx_sig_helper h)
{
    static const char *const n[] = { "none", "tcp-option", "ip-option" };
    return (unsigned)h < sizeof n / sizeof n[0] ? n[h] : NULL;
}

bool mpx_signal_syn_data(const mpx_signal *s)
{
    return s && s->where == MPX_SIG_IN_PAYLOAD;
}

int mpx_signal_recipe(const mpx_signal *s, int family, unsigned cookie, char *buf, size_t cap)
{
    if (!s || !buf || (family != 4 && family != 6)) return -1;
    char item[48] = "";
    if (s->optd_item) {
        /* '@' stands for the target's address family */
        size_t j = 0;
        for (const char *p = s->optd_item; *p && j + 2 < sizeof item; p++)
            item[j++] = *p == '@' ? (char)('0' + family) : *p;
        item[j] = 0;
    }
    char tfo[16] = "";
    if (cookie) snprintf(tfo, sizeof tfo, ",tfo:%u", cookie);
    int n = snprintf(buf, cap, "mss,sackperm,ts,ws%s%s%s%s", tfo, s->mptcp ? ",mpc" : "",
                     item[0] ? "," : "", item);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

void mpx_signal_names(char *buf, size_t cap, const char *sep)
{
    size_t off = 0;
    if (!cap) return;
    buf[0] = 0;
    for (size_t i = 0; i < MPX_SIG__N; i++) {
        int n = snprintf(buf + off, cap - off, "%s%s", i ? sep : "", g_signals[i].name);
        if (n < 0 || (size_t)n >= cap - off) { buf[off] = 0; return; }
        off += (size_t)n;
    }
}
