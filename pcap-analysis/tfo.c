/* TFO coexistence (RFC 7413): cookie requested / granted / used, SYN data acknowledged by
 * the SYN/ACK or retransmitted after the handshake. Option decoding is proto/tcpopt.h's. */
#include "pcap-analysis/analyze.h"
#include <string.h>

void an_tfo_option(an_conn *c, int dir, uint8_t flags, const mpx_pkt *p, bool exp,
                   bool request, uint8_t cookie_len, const uint8_t *cookie)
{
    bool syn = flags & TH_SYN, ack = flags & TH_ACK;
    if (!syn) return;   /* TFO-NOT-SYN is reported by the option checker */
    if (exp) c->tfo_exp = true;
    if (!ack && dir == 0) {
        if (request) c->cookie_req = true;
        else if (cookie_len) {
            c->cookie_used = true;
            c->cookie_len_used = cookie_len;
        }
    } else if (ack && dir == 1) {
        if (!c->cookie_req && !c->cookie_used)
            an_violation(c, "AN-TFO-UNSOLICITED", p->num, p->t_us,
                         "SYN/ACK carries a TFO option but the SYN had none (RFC 7413 4.1.2, 4.2.1)");
        if (!request && cookie_len) {
            c->cookie_granted = true;
            c->cookie_len_granted = cookie_len;
            size_t n = cookie_len < sizeof c->cookie ? cookie_len : sizeof c->cookie;
            if (cookie) memcpy(c->cookie, cookie, n);
        }
    }
}

void an_tfo_segment(an_conn *c, int dir, const mpx_pkt *p)
{
    bool syn = p->flags & TH_SYN, ack = p->flags & TH_ACK;
    if (syn && !ack && dir == 0) {
        if (c->syn_count == 1) c->syn_data_len = p->data_len;
        return;
    }
    if (syn && ack && dir == 1 && c->synack_count == 1 && c->d[0].have_isn) {
        uint32_t acked = p->ack - (c->d[0].isn + 1);
        if (c->syn_data_len) {
            if (acked == c->syn_data_len) c->syn_data_acked = true;
            else if (acked > 0 && acked < c->syn_data_len) c->syn_data_partial = true;
        } else if (acked != 0) {
            an_violation(c, "AN-SYNACK-ACK", p->num, p->t_us,
                         "SYN/ACK acknowledges %u bytes beyond the SYN although the SYN carried none", acked);
        }
        return;
    }
    /* SYN data not (fully) acked: does the client send it again after the handshake? */
    if (dir == 0 && !syn && p->data_len && c->syn_data_len && !c->syn_data_acked &&
        c->saw_synack && c->d[0].have_isn) {
        uint32_t rel = p->seq - (c->d[0].isn + 1);
        if (rel < c->syn_data_len) c->syn_data_retx = true;
    }
}

void an_tfo_finish(an_conn *c)
{
    /* a cookie without SYN data is legal (RFC 7413 4.2.2: data SHOULD follow, not MUST) */
    if (c->syn_data_len == 0) c->syn_data_acked = false;
}
