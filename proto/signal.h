/* The signal registry: one row per way an MPTCP client can tell its proxy the real target.
 * Everything that needs to know what a signal is (the client and proxy, the analyzer, the
 * harness and report through `mpx-wire signals --json`, the model) reads this table; a new
 * signal is a new row here plus its own files in the client and the proxy.
 *
 * Pure data and lookups: no I/O, no global mutable state. */
#ifndef MPX_PROTO_SIGNAL_H
#define MPX_PROTO_SIGNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/budget.h"

/* Who knows the target: nobody needs to (the baseline), the client says it (explicit), or an
 * on-path proxy takes the connection (implicit, draft-peirens). */
typedef enum { MPX_SIG_MODE_NONE, MPX_SIG_MODE_EXPLICIT, MPX_SIG_MODE_IMPLICIT } mpx_sig_mode;

/* Where the signal travels. */
typedef enum {
    MPX_SIG_IN_NONE,     /* no signal bytes at all */
    MPX_SIG_IN_APP,      /* application bytes after the handshake (an extra exchange) */
    MPX_SIG_IN_PAYLOAD,  /* the SYN payload (TCP Fast Open) */
    MPX_SIG_IN_TCPOPT,   /* a TCP option in the SYN */
    MPX_SIG_IN_IPOPT,    /* an IP option of the SYN (Router Alert) */
} mpx_sig_where;

/* TCP Fast Open as the signal uses it. OPTIONAL: not part of the signal; the client may
 * still ask for TFO towards the target (--tfo). */
typedef enum {
    MPX_SIG_TFO_NONE,       /* never (the signal is not in the SYN) */
    MPX_SIG_TFO_OPTIONAL,   /* the user's choice (--tfo) */
    MPX_SIG_TFO_NO_COOKIE,  /* SYN data without a cookie (TCP_FASTOPEN_NO_COOKIE) */
    MPX_SIG_TFO_COOKIE,     /* SYN data with a real TFO cookie */
} mpx_sig_tfo;

/* What the SYN option helper (mpx-optd, NFQUEUE) must add to the client's kernel SYN. */
typedef enum { MPX_SIG_HELPER_NONE, MPX_SIG_HELPER_TCPOPT, MPX_SIG_HELPER_IPOPT } mpx_sig_helper;

/* What a capture shows: the analyzer's classes of a connection's first bytes and SYN. */
typedef enum {
    MPX_WIRE_NONE,           /* no data from the client at all (or a join subflow) */
    MPX_WIRE_PLAIN,          /* application data with no signal in front of it */
    MPX_WIRE_CONVERT,        /* RFC 8803 Convert in the SYN payload */
    MPX_WIRE_MPCONVERT,      /* MP_CONVERT (plain-mode-09) in the SYN payload */
    MPX_WIRE_MPCONVERT_IE,   /* MP_CONVERT Information Element (plain-mode-10) */
    MPX_WIRE_MPCONVERT_OPT,  /* MP_CONVERT as a kind-30 option in the SYN */
    MPX_WIRE_SOCKS5,         /* a SOCKSv5 exchange after the handshake */
    MPX_WIRE__N
} mpx_wire_class;

/* Signal ids: the row order of the table (also the order reports list them in). */
typedef enum {
    MPX_SIG_TCP, MPX_SIG_SOCKS5, MPX_SIG_SOCKS5_AUTH, MPX_SIG_CONVERT, MPX_SIG_CONVERT_WAIT,
    MPX_SIG_CONVERT_COOKIE, MPX_SIG_MPCONVERT, MPX_SIG_MPCONVERT_IE, MPX_SIG_MPCONVERT_OPT,
    MPX_SIG_IMPLICIT, MPX_SIG_IMPLICIT_PREFER, MPX_SIG_IMPLICIT_RA,
#ifdef MPX_SIGNAL_TEST_ROW
    MPX_SIG_TEST_ROW,    /* a throw-away row that test builds add (tests/registry) */
#endif
    MPX_SIG__N
} mpx_sig_id;

/* Evidence properties, each with its reason as the report prints it. */
typedef struct {
    const char *varlen;      /* can it carry variable-length data? "yes (...)" / "no (...)" */
    const char *multi;       /* can it carry several instances? */
    const char *ipv6;        /* does an IPv6 target fit: "yes"/"no"/"—", or "budget" when
                              * the answer is the v6 option budget of the recipe */
    const char *ipv6_how;    /* why (unused with "budget": the budget says it) */
} mpx_sig_props;

typedef struct {
    mpx_sig_id     id;
    const char    *name;       /* the --signal name, also in .exp files and every report */
    mpx_sig_mode   mode;
    mpx_sig_where  where;
    const char    *channel;    /* the channel as the evidence table words it */
    const char    *frontend;   /* the proxy front-end that serves it (mpx-proxy --NAME PORT);
                                * NULL = the client talks to the target itself */
    uint16_t       port;       /* that front-end's default port on the proxy (0: none) */
    bool           auth;       /* the front-end must require RFC 1929 credentials: its own
                                * proxy instance (with --users) */
    bool           mptcp;      /* the client's connection is MPTCP (false: plain TCP) */
    mpx_sig_tfo    tfo;
    bool           waits_reply;/* the request leaves only after the proxy's reply */
    mpx_sig_helper helper;     /* what mpx-optd adds to the SYN */
    const char    *optd_item;  /* the budget item the helper adds ("prefer",
                                * "mpconvert:v@+port": @ = target family), or NULL */
    const char    *intercept;  /* the HAG interception mode it needs (agents/intercept:
                                * "all", "ra", "prefer", "optd-read"), or NULL */
    mpx_wire_class wire;       /* what the analyzer sees in a capture of it */
    const char    *model;      /* the analytic model's formula id (emu/harness/model.jq): direct,
                                * app-2x / app-3x (2 or 3 exchanges with the proxy before the
                                * request), syn-data, syn-data-wait, option, intercept */
    const char    *summary;    /* one line for --help */
    mpx_sig_props  props;
} mpx_signal;

/* The table, in id order; n rows. */
const mpx_signal *mpx_signals(size_t *n);
/* Row by id (NULL when out of range) or by name (NULL when unknown). */
const mpx_signal *mpx_signal_by_id(mpx_sig_id id);
const mpx_signal *mpx_signal_by_name(const char *name);

/* The analyzer's class names ("convert", "plain", "none", ...); NULL when out of range. */
const char *mpx_wire_class_name(mpx_wire_class c);
const char *mpx_sig_mode_name(mpx_sig_mode m);
const char *mpx_sig_where_name(mpx_sig_where w);
const char *mpx_sig_tfo_name(mpx_sig_tfo t);
const char *mpx_sig_helper_name(mpx_sig_helper h);

/* Does the SYN carry application payload as part of the signal (TFO SYN data)? */
bool mpx_signal_syn_data(const mpx_signal *s);

/* The SYN option recipe (an mpx_budget spec) of a client SYN of this signal, as Linux builds
 * it: "mss,sackperm,ts,ws[,tfo:C][,mpc][,helper item]" with the helper item for the target's
 * family (4 or 6). cookie: TFO cookie bytes (0 = none). Returns the length or -1 when it does
 * not fit in cap. */
int mpx_signal_recipe(const mpx_signal *s, int family, unsigned cookie, char *buf, size_t cap);

/* A comma-separated list of every name ("tcp,socks5,..."), for --help and error messages. */
void mpx_signal_names(char *buf, size_t cap, const char *sep);
#endif
