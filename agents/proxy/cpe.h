/* CPE mode internals (cpe.c: listeners and the per-connection machine; cpe_sig.c: what each
 * signal family puts on the WAN connection and how the HAG's answer is read). A family is
 * looked up by the registry row's wire class, as mpx-client does; every variation inside a
 * family (waits for the reply, TFO cookie, credentials, helper option) comes from the row. */
#ifndef MPX_AGENTS_PROXY_CPE_H
#define MPX_AGENTS_PROXY_CPE_H
#include "agents/proxy/proxy.h"

/* Why a connection left the HAG channel (stats "fallback_reasons") */
enum cpe_reason {
    CR_CONVERT_ERROR,
    CR_SOCKS_REP,
    CR_UNREACHABLE,
    CR_TIMEOUT,
    CR_RESET,
    CR_MALFORMED,
    CR__N
};

#define CPE_SIG_MAX 600         /* signalling bytes to the HAG (SOCKS auth: 513) */
#define CPE_RIN_MAX 1100        /* one reply (a Convert message is at most 1020 bytes) */
#define CPE_LAN_MAX (64 * 1024) /* LAN bytes kept for a replay until the signal is confirmed */

enum cpe_phase {
    CP_WAIT_LAN, /* up to wait=MS for the LAN client's first bytes */
    CP_WAN,      /* the WAN connection: connecting, signalling, awaiting the answer */
    CP_FALLBACK, /* plain TCP straight to the target: connecting */
};

struct cpe_family;
struct cpe_conn {
    int li; /* cfg.cpe[li] */
    const mpx_signal *sig;
    const struct cpe_family *fam;
    int phase;
    mpx_addr wan_dst;
    uint8_t sig_out[CPE_SIG_MAX];
    size_t sig_len, sig_off; /* signalling bytes to send */
    uint8_t rin[CPE_RIN_MAX];
    size_t rin_len; /* the answer being read */
    int step;       /* the family's step (SOCKS) */
    uint8_t sent[64];
    size_t sent_len; /* first-flight bytes the answer must echo (IE) */
    uint8_t *lan;
    size_t lan_cap, lan_len, lan_sent; /* LAN bytes read / sent to the WAN */
    bool lan_eof, wan_up, wscale0, mptcp_counted;
    bool syn_alone; /* wait=0: the signal alone in the SYN (no race for the
                     * LAN bytes; only a TFO LAN client's data goes along) */
    int subflows_max;
    uint16_t optd_sport; /* registered with mpx-optd (0 = no) */
    int reason;          /* enum cpe_reason set by a refusing reply */
    char why[160];
};

struct cpe_family {
    mpx_wire_class wire;
    /* the signal bytes of the SYN payload (rows whose signal travels there), or 0; -1 error */
    long (*first_flight)(struct conn *c, uint8_t *out, size_t cap);
    /* the WAN connect completed (SOCKS: the greeting) */
    void (*connected)(struct conn *c);
    /* the TCP option mpx-optd adds to the SYN (row.helper == TCP option): its length, 0 none */
    long (*syn_option)(const struct conn *c, uint8_t *out, size_t cap);
    /* bytes the current answer needs in total given cpe->rin so far; NULL: the family has no
     * answer (the first byte from the WAN side confirms the signal) */
    size_t (*reply_need)(const struct conn *c);
    /* a complete answer in rin[0..need): 1 confirmed, 0 next step queued (cpe_queue_sig),
     * -1 refused (cpe->reason, cpe->why set) */
    int (*reply)(struct conn *c, size_t len);
};

const struct cpe_family *cpe_family_for(mpx_wire_class w);
void cpe_queue_sig(struct conn *c, const uint8_t *p, size_t n);
const char *cpe_reason_name(int r);
#endif
