/* mpx-analyze --legs: joins the LAN, access and WAN legs of each proxy/proxy application
 * connection and writes their timeline (pcap-analysis/README.md, "Three legs").
 * Pairwise joins (LAN -> access, access -> WAN), each by the strongest key present: the MPX1
 * request header (lib/pattern.h), else the target endpoint and time order. Each join pass
 * sorts its candidates once and finds each partner by binary search, skipping taken entries
 * through a path-compressed "next free" array: O(n log n) in connections. */
#include "pcap-analysis/legs.h"
#include "lib/json.h"
#include "lib/pattern.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLE[AN_LEG__N] = { "lan", "access", "wan" };

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        perror("realloc");
        exit(2);
    }
    return q;
}

int an_legs_parse(const char *spec, char ***files, int **roles, int *n, char *err, size_t errlen)
{
    int role = AN_LEG_NONE;
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len), *f = p;
        size_t flen = len;
        if (eq) {
            size_t rl = (size_t)(eq - p);
            int r = AN_LEG_NONE;
            for (int k = 0; k < AN_LEG__N; k++)
                if (strlen(ROLE[k]) == rl && !memcmp(p, ROLE[k], rl)) r = k;
            if (r == AN_LEG_NONE) {
                snprintf(err, errlen, "--legs: unknown role '%.*s' (lan, access, wan)", (int)rl, p);
                return -1;
            }
            role = r;
            f = eq + 1;
            flen = len - rl - 1;
        }
        if (role == AN_LEG_NONE) {
            snprintf(err, errlen, "--legs: '%.*s' has no role (ROLE=PCAP first)", (int)len, p);
            return -1;
        }
        if (!flen) {
            snprintf(err, errlen, "--legs: empty capture name in '%s'", spec);
            return -1;
        }
        *files = xrealloc(*files, (size_t)(*n + 1) * sizeof **files);
        *roles = xrealloc(*roles, (size_t)(*n + 1) * sizeof **roles);
        char *s = xrealloc(NULL, flen + 1);
        memcpy(s, f, flen);
        s[flen] = 0;
        (*files)[*n] = s;
        (*roles)[*n] = role;
        (*n)++;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* ---- legs and their keys -------------------------------------------------------------- */

typedef struct lg lg;
struct lg {
    an_conn *c;
    int role;
    bool hdr;       /* MPX1 request header found in the client's first bytes */
    size_t hdr_off; /* its stream offset */
    uint8_t h[MPXA_HDR_LEN];
    mpxa_req_hdr rh;
    int taf; /* target endpoint: signalled, else the server endpoint */
    uint8_t tip[16];
    uint16_t tport;
    bool refused; /* the peer refused (Convert Error TLV, SOCKS REP != 0) */
    int64_t t_sort;
    lg *next, *prev;      /* joined legs (LAN -> access -> WAN) */
    const char *key_next; /* the key that joined next */
    lg *att[4];           /* on a LAN leg: the refused access attempts before its access leg */
    int natt;
    bool is_att;         /* a refused attempt attached to a LAN leg */
    const char *att_key; /* how: "mpx1", "target-time" or "time" */
    char why[40];        /* why it was refused ("" = it was not) */
};

enum { E_SYN, E_SYNACK, E_ACK, E_DC2S, E_DS2C, E_REQ, E_RESP, E_FINC, E_FINS, E_RST, E__N };
static const char *const ENAME[E__N] = { "syn",      "synack",    "ack",        "data_c2s",
                                         "data_s2c", "first_req", "first_resp", "fin_c2s",
                                         "fin_s2c",  "rst" };

static bool hdr_at(lg *l, const uint8_t *b, size_t off)
{
    mpxa_req_hdr rh;
    if (memcmp(b + off, MPXA_HDR_MAGIC, 4) || mpxa_hdr_decode(b + off, &rh) != MPXA_HDR_OK)
        return false;
    l->hdr = true;
    l->hdr_off = off;
    memcpy(l->h, b + off, MPXA_HDR_LEN);
    l->rh = rh;
    return true;
}

/* The header is where the signal ends; if the signal decode stopped elsewhere (a partial
 * capture, an unknown signal), the first valid header in the kept head. */
static void find_hdr(lg *l)
{
    const an_dir *d = &l->c->d[0];
    if (!d->head || d->head_len < MPXA_HDR_LEN) return;
    size_t off = l->c->sig_len_c2s;
    if (off + MPXA_HDR_LEN <= d->head_len && hdr_at(l, d->head, off)) return;
    for (size_t i = 0; i + MPXA_HDR_LEN <= d->head_len; i++) {
        const uint8_t *m = memchr(d->head + i, 'M', d->head_len - MPXA_HDR_LEN + 1 - i);
        if (!m) return;
        i = (size_t)(m - d->head);
        if (hdr_at(l, d->head, i)) return;
    }
}

/* The peer refused: a Convert Error TLV, a SOCKS reply other than success, or (read from the
 * reply bytes: signal.c stops there) no acceptable SOCKS method or a failed RFC 1929 login. */
static void set_refused(lg *l)
{
    const an_conn *c = l->c;
    const uint8_t *h = c->d[1].head;
    size_t n = c->d[1].head_len;
    if (c->convert_error >= 0)
        snprintf(l->why, sizeof l->why, "convert-error %d", c->convert_error);
    else if (c->socks_reply > 0)
        snprintf(l->why, sizeof l->why, "socks-reply %d", c->socks_reply);
    else if (c->wire == MPX_WIRE_SOCKS5 && h && n >= 2 && h[0] == 5 && h[1] == 0xff)
        snprintf(l->why, sizeof l->why, "socks-no-method");
    else if (c->wire == MPX_WIRE_SOCKS5 && h && n >= 4 && h[0] == 5 && h[1] == 2 && h[3] != 0)
        snprintf(l->why, sizeof l->why, "socks-auth-failed");
    l->refused = l->why[0] != 0;
}

static void set_target(lg *l)
{
    const an_conn *c = l->c;
    if (c->target_af) {
        l->taf = c->target_af;
        memcpy(l->tip, c->target_ip, 16);
        l->tport = c->target_port;
    } else {
        l->taf = c->af;
        memset(l->tip, 0, 16);
        memcpy(l->tip, c->srv, c->af == 6 ? 16 : 4);
        l->tport = c->sport;
    }
    /* an IPv4 target written IPv4-mapped (RFC 8803 Connect TLV) is the IPv4 endpoint */
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (l->taf == 6 && !memcmp(l->tip, mapped, 12)) {
        memmove(l->tip, l->tip + 12, 4);
        memset(l->tip + 4, 0, 12);
        l->taf = 4;
    }
}

/* Join key of a leg in a pass: the MPX1 header after its magic and the target endpoint
 * (K_HDR_TARGET: the seeds repeat across clients, the target tells their connections apart
 * when they overlap), the header alone (K_HDR: a leg whose target is unknown, e.g. a signal
 * the analyzer could not decode), or the target alone (K_TARGET). */
enum { K_HDR_TARGET, K_HDR, K_TARGET };
#define KLEN 40
static void key_of(const lg *l, int kind, uint8_t k[KLEN])
{
    memset(k, 0, KLEN);
    if (kind != K_TARGET) memcpy(k, l->h + 4, MPXA_HDR_LEN - 4);
    if (kind != K_HDR) {
        k[12] = (uint8_t)l->taf;
        memcpy(k + 13, l->tip, 16);
        k[29] = (uint8_t)(l->tport >> 8);
        k[30] = (uint8_t)l->tport;
    }
}

typedef struct {
    uint8_t k[KLEN];
    int64_t t;
    size_t id;
    lg *l;
} ent;

static int ent_cmp(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    int r = memcmp(a->k, b->k, KLEN);
    if (r) return r;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static size_t free_from(size_t *nxt, size_t i)
{
    size_t r = i;
    while (nxt[r] != r) r = nxt[r];
    while (nxt[i] != r) {
        size_t n = nxt[i];
        nxt[i] = r;
        i = n;
    }
    return r;
}

static bool joinable_syn(const lg *l) { return l->c->t_syn != AN_NONE; }

static bool add_attempt(lg *l, lg *att, const char *how)
{
    if (l->natt >= (int)(sizeof l->att / sizeof *l->att)) return false;
    l->att[l->natt++] = att;
    att->prev = l;
    att->is_att = true;
    att->att_key = how;
    return true;
}

/* One pass: every leg of A (in SYN order) without a next leg takes the earliest free leg of
 * B with the same key whose SYN is at or after its own. */
static void join_pass(lg **a, size_t na, lg **b, size_t nb, int kind, const char *kname)
{
    ent *e = xrealloc(NULL, nb * sizeof *e);
    size_t n = 0;
    for (size_t i = 0; i < nb; i++) {
        lg *l = b[i];
        if (l->prev || !joinable_syn(l) || (kind != K_TARGET && !l->hdr)) continue;
        key_of(l, kind, e[n].k);
        e[n].t = l->c->t_syn;
        e[n].id = l->c->id;
        e[n].l = l;
        n++;
    }
    qsort(e, n, sizeof *e, ent_cmp);
    size_t *nxt = xrealloc(NULL, (n + 1) * sizeof *nxt);
    for (size_t i = 0; i <= n; i++) nxt[i] = i;
    for (size_t i = 0; i < na; i++) {
        lg *l = a[i];
        if (l->next || !joinable_syn(l) || (kind != K_TARGET && !l->hdr)) continue;
        if (l->role == AN_LEG_ACCESS && l->refused) continue;
        ent q;
        key_of(l, kind, q.k);
        q.t = l->c->t_syn;
        /* lower bound of (key, t) */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t m = lo + (hi - lo) / 2;
            int r = memcmp(e[m].k, q.k, KLEN);
            if (r < 0 || (r == 0 && e[m].t < q.t))
                lo = m + 1;
            else
                hi = m;
        }
        size_t j = free_from(nxt, lo);
        if (j >= n || memcmp(e[j].k, q.k, KLEN)) continue;
        /* a refused attempt (Convert Error TLV, SOCKS REP != 0) followed by the CPE's direct
         * fallback with the same bytes and target: the attempt is kept apart, the later leg
         * joined */
        while (l->role == AN_LEG_LAN && e[j].l->refused) {
            size_t k = free_from(nxt, j + 1);
            if (k >= n || memcmp(e[k].k, q.k, KLEN)) break;
            nxt[j] = j + 1;
            add_attempt(l, e[j].l, "mpx1");
            j = k;
        }
        nxt[j] = j + 1;
        l->next = e[j].l;
        e[j].l->prev = l;
        l->key_next = kname;
    }
    free(nxt);
    free(e);
}

/* Refused access legs nobody joined (an attempt without the request bytes, W = 0): each is
 * attached to the LAN leg with the same target whose SYN is the last at or before its own. */
static void attach_attempts(lg **lan, size_t nl, lg **acc, size_t na)
{
    ent *e = xrealloc(NULL, nl * sizeof *e);
    size_t n = 0;
    for (size_t i = 0; i < nl; i++) {
        if (!joinable_syn(lan[i])) continue;
        key_of(lan[i], K_TARGET, e[n].k);
        e[n].t = lan[i]->c->t_syn;
        e[n].id = lan[i]->c->id;
        e[n].l = lan[i];
        n++;
    }
    qsort(e, n, sizeof *e, ent_cmp);
    for (size_t i = 0; i < na; i++) {
        lg *a = acc[i];
        if (a->prev || !a->refused || !joinable_syn(a)) continue;
        ent q;
        key_of(a, K_TARGET, q.k);
        /* upper bound of (key, t) */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t m = lo + (hi - lo) / 2;
            int r = memcmp(e[m].k, q.k, KLEN);
            if (r < 0 || (r == 0 && e[m].t <= a->c->t_syn))
                lo = m + 1;
            else
                hi = m;
        }
        if (lo && !memcmp(e[lo - 1].k, q.k, KLEN)) add_attempt(e[lo - 1].l, a, "target-time");
    }
    free(e);
}

/* Refused attempts that never named their target (a SOCKS method or authentication refusal
 * ends before the request): the LAN leg whose SYN is the last at or before the attempt's and
 * whose access leg (the fallback) starts after it, among the 8 latest LAN SYNs; by time only. */
static void attach_untargeted(lg **lan, size_t nl, lg **acc, size_t na)
{
    for (size_t i = 0; i < na; i++) {
        lg *a = acc[i];
        if (a->prev || !a->refused || !joinable_syn(a) || a->c->target_af) continue;
        size_t lo = 0, hi = nl; /* lan[] is in SYN order: upper bound of the attempt's SYN */
        while (lo < hi) {
            size_t m = lo + (hi - lo) / 2;
            if (lan[m]->t_sort <= a->c->t_syn)
                lo = m + 1;
            else
                hi = m;
        }
        for (size_t k = lo; k > 0 && lo - k < 8; k--) {
            lg *l = lan[k - 1];
            if (!joinable_syn(l) || (l->next && l->next->c->t_syn < a->c->t_syn)) continue;
            if (add_attempt(l, a, "time")) break;
        }
    }
}

static int lg_cmp(const void *pa, const void *pb)
{
    const lg *a = *(lg *const *)pa, *b = *(lg *const *)pb;
    if (a->t_sort != b->t_sort) return a->t_sort < b->t_sort ? -1 : 1;
    return a->c->id < b->c->id ? -1 : a->c->id > b->c->id;
}

/* ---- times ------------------------------------------------------------------------------ */

static int64_t sub(int64_t a, int64_t b)
{
    return a == AN_NONE || b == AN_NONE ? AN_NONE : an_dt(a, b);
}

/* Earliest data segment of direction d on the connection's MP_JOIN subflows. */
static int64_t joins_first(const an_conn *c, int d)
{
    int64_t best = AN_NONE;
    for (const an_conn *j = c->joins; j; j = j->next_join)
        for (size_t i = 0; i < j->d[d].nsegs; i++)
            if (best == AN_NONE || j->d[d].segs[i].t_us < best) best = j->d[d].segs[i].t_us;
    return best;
}

static int64_t tmin(int64_t a, int64_t b)
{
    return a == AN_NONE ? b : b == AN_NONE ? a : a < b ? a : b;
}

static void leg_times(const lg *l, int64_t t[E__N])
{
    for (int i = 0; i < E__N; i++) t[i] = AN_NONE;
    if (!l) return;
    const an_conn *c = l->c;
    t[E_SYN] = c->t_syn;
    t[E_SYNACK] = c->t_synack;
    t[E_ACK] = c->t_ack;
    t[E_REQ] = tmin(c->t_first_req, joins_first(c, 0));
    t[E_RESP] = tmin(c->t_first_resp, joins_first(c, 1));
    t[E_FINC] = c->t_fin[0];
    t[E_FINS] = c->t_fin[1];
    t[E_RST] = c->t_rst;
    /* the first payload each way, signalling included (SYN data counts) */
    for (int d = 0; d < 2; d++) {
        int64_t f = joins_first(c, d);
        for (size_t i = 0; i < c->d[d].nsegs; i++) f = tmin(f, c->d[d].segs[i].t_us);
        t[d ? E_DS2C : E_DC2S] = f;
    }
}

/* One-way delays from the handshake (mpx-linkem stamps arrival at the next hop). */
static int64_t owd_c2s(const int64_t t[E__N])
{
    int64_t v = sub(t[E_ACK], t[E_SYNACK]);
    return v != AN_NONE && v < 0 ? AN_NONE : v;
}
static int64_t owd_s2c(const int64_t t[E__N])
{
    int64_t v = sub(t[E_SYNACK], t[E_SYN]);
    return v != AN_NONE && v < 0 ? AN_NONE : v;
}

enum {
    G_LAN_ACC,
    G_ACC_WAN,
    G_CPE_WAIT,
    G_CPE_REQ,
    G_HAG_WAIT,
    G_LAN_TTFB,
    G_ACC_TTFB,
    G_WAN_TTFB,
    G_SERVER,
    G__N
};
static const char *const GNAME[G__N] = { "lan_syn_to_access_syn",
                                         "access_syn_to_wan_syn",
                                         "cpe_wait",
                                         "cpe_req_to_access_syn",
                                         "hag_wait",
                                         "lan_ttfb",
                                         "access_ttfb",
                                         "wan_ttfb",
                                         "server_resp" };

typedef struct {
    lg *l[AN_LEG__N];
    int64_t t[AN_LEG__N][E__N];
    int64_t t0;
    int64_t g[G__N];
    const char *hag_at; /* "syn" / "ack" / NULL */
} app;

/* The same TCP connection seen at the next capture point (routed, not proxied). */
static bool routed(const lg *a, const lg *b)
{
    const an_conn *x = a->c, *y = b->c;
    size_t al = x->af == 6 ? 16 : 4;
    return x->af == y->af && x->cport == y->cport && x->sport == y->sport &&
           !memcmp(x->cli, y->cli, al) && !memcmp(x->srv, y->srv, al) && x->d[0].have_isn &&
           y->d[0].have_isn && x->d[0].isn == y->d[0].isn;
}

static void app_fill(app *a)
{
    a->t0 = AN_NONE;
    for (int r = 0; r < AN_LEG__N; r++) {
        leg_times(a->l[r], a->t[r]);
        if (a->l[r]) {
            const an_conn *c = a->l[r]->c;
            a->t0 = tmin(a->t0, c->t_syn != AN_NONE ? c->t_syn : c->t_first);
        }
    }
    const int64_t *L = a->t[AN_LEG_LAN], *A = a->t[AN_LEG_ACCESS], *W = a->t[AN_LEG_WAN];
    int64_t a_sent = sub(A[E_SYN], owd_c2s(A)), w_sent = sub(W[E_SYN], owd_c2s(W));
    a->g[G_LAN_ACC] = sub(A[E_SYN], L[E_SYN]);
    a->g[G_ACC_WAN] = sub(W[E_SYN], A[E_SYN]);
    a->g[G_CPE_WAIT] = sub(a_sent, L[E_ACK]);
    a->g[G_CPE_REQ] = sub(a_sent, L[E_REQ]);
    a->g[G_HAG_WAIT] = sub(w_sent, A[E_SYN]);
    a->g[G_LAN_TTFB] = sub(L[E_RESP], sub(L[E_SYN], owd_c2s(L)));
    a->g[G_ACC_TTFB] = sub(A[E_RESP], a_sent);
    a->g[G_WAN_TTFB] = sub(W[E_RESP], w_sent);
    a->g[G_SERVER] = sub(sub(W[E_RESP], owd_s2c(W)), W[E_REQ]);
    a->hag_at = NULL;
    if (w_sent != AN_NONE && A[E_ACK] != AN_NONE) a->hag_at = w_sent < A[E_ACK] ? "syn" : "ack";
    /* a routed leg (the same TCP connection further on) has no CPE or HAG connection step */
    const lg *ll = a->l[AN_LEG_LAN], *al = a->l[AN_LEG_ACCESS], *wl = a->l[AN_LEG_WAN];
    if (ll && al && routed(ll, al)) a->g[G_CPE_WAIT] = a->g[G_CPE_REQ] = AN_NONE;
    if (al && wl && routed(al, wl)) {
        a->g[G_HAG_WAIT] = AN_NONE;
        a->hag_at = NULL;
    }
}

/* The SYN data holds the signal, then the MPX1 header. */
static bool syn_carries_request(const lg *l)
{
    return l->hdr && l->hdr_off >= l->c->sig_len_c2s &&
           l->hdr_off + MPXA_HDR_LEN <= l->c->syn_data_len;
}

static const char *mptcp_name(enum an_mptcp m)
{
    return m == AN_MPTCP ? "mptcp" : m == AN_FALLBACK ? "fallback" : "tcp";
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void target_str(const app *a, char *b, size_t n)
{
    for (int r = 0; r < AN_LEG__N; r++)
        if (a->l[r]) {
            const lg *l = a->l[r];
            cap_ep_str(l->taf, l->tip, l->tport, b, n);
            return;
        }
    snprintf(b, n, "?");
}

static const lg *hdr_leg(const app *a)
{
    for (int r = 0; r < AN_LEG__N; r++)
        if (a->l[r] && a->l[r]->hdr) return a->l[r];
    return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void jstr(FILE *o, const char *s)
{
    if (s)
        mpxa_json_fput_str(o, s, strlen(s));
    else
        fputs("null", o);
}
static void jt(FILE *o, const char *k, int64_t v, bool comma)
{
    if (v == AN_NONE)
        fprintf(o, "\"%s\":null", k);
    else
        fprintf(o, "\"%s\":%" PRId64, k, v);
    if (comma) fputc(',', o);
}

static void json_leg(an_ctx *x, FILE *o, const app *a, int r)
{
    const lg *l = a->l[r];
    if (!l) {
        fputs("null", o);
        return;
    }
    const an_conn *c = l->c;
    char cl[80], sv[80], tg[80];
    cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
    cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
    fputs("{\"pcap\":", o);
    jstr(o, x->files[c->file_idx]);
    fputs(",\"client\":", o);
    jstr(o, cl);
    fputs(",\"server\":", o);
    jstr(o, sv);
    fputs(",\"relay\":", o);
    jstr(o, l->next ? (routed(l, l->next) ? "routed" : "proxied") : NULL);
    fputs(",\"signal\":", o);
    jstr(o, mpx_wire_class_name(c->wire));
    fprintf(o, ",\"signal_valid\":%s,\"signal_target\":", c->sig_valid ? "true" : "false");
    if (c->target_af) {
        cap_ep_str(l->taf, l->tip, l->tport, tg, sizeof tg);
        jstr(o, tg);
    } else
        fputs("null", o);
    fprintf(o, ",\"mptcp\":\"%s\",\"token\":", mptcp_name(c->mptcp));
    if (c->have_key[1])
        fprintf(o, "\"%08" PRIx32 "\"", c->token[1]);
    else
        fputs("null", o);
    fprintf(o, ",\"subflows\":%d,\"subflow_pcaps\":[", c->nsubflows);
    jstr(o, x->files[c->file_idx]);
    for (const an_conn *j = c->joins; j; j = j->next_join) {
        fputc(',', o);
        jstr(o, x->files[j->file_idx]);
    }
    fprintf(o, "],\"syn_data_len\":%u,\"req_in_syn\":%s,\"syn_carries_request\":%s,\"refused\":%s",
            c->syn_data_len, c->req_in_syn ? "true" : "false",
            syn_carries_request(l) ? "true" : "false", l->refused ? "true" : "false");
    fputs(",\"refused_why\":", o);
    jstr(o, l->refused ? l->why : NULL);
    fputs(",\"t_us\":{", o);
    for (int i = 0; i < E__N; i++) jt(o, ENAME[i], sub(a->t[r][i], a->t0), i + 1 < E__N);
    fputs("},\"owd_us\":{", o);
    jt(o, "c2s", owd_c2s(a->t[r]), true);
    jt(o, "s2c", owd_s2c(a->t[r]), false);
    fputs("},", o);
    jt(o, "hs_rtt_us", sub(c->t_synack, c->t_syn), true);
    jt(o, "ttfb_us", sub(a->t[r][E_RESP], c->t_syn), true);
    fprintf(o, "\"bytes\":{\"c2s\":%" PRIu64 ",\"s2c\":%" PRIu64 "},\"pkts\":%" PRIu64 "}",
            c->d[0].bytes, c->d[1].bytes, c->pkts);
}

static void json_app(an_ctx *x, FILE *o, const app *a, size_t id)
{
    char tg[80];
    bool complete = a->l[0] && a->l[1] && a->l[2];
    target_str(a, tg, sizeof tg);
    fprintf(o, "{\"type\":\"legs\",\"id\":%zu,\"complete\":%s,\"target\":", id,
            complete ? "true" : "false");
    jstr(o, tg);
    const lg *h = hdr_leg(a);
    fputs(",\"mpx1\":", o);
    if (h)
        fprintf(o,
                "{\"seed\":%" PRIu32 ",\"req_len\":%" PRIu32 ",\"resp_len\":%" PRIu32
                ",\"echo\":%s}",
                mpxa_hdr_seed(&h->rh), h->rh.req_len, h->rh.resp_len,
                (h->rh.flags & MPXA_FLAG_ECHO) ? "true" : "false");
    else
        fputs("null", o);
    fputs(",\"key\":{\"access\":", o);
    jstr(o, a->l[AN_LEG_LAN] && a->l[AN_LEG_ACCESS] ? a->l[AN_LEG_LAN]->key_next : NULL);
    fputs(",\"wan\":", o);
    jstr(o, a->l[AN_LEG_ACCESS] && a->l[AN_LEG_WAN] ? a->l[AN_LEG_ACCESS]->key_next : NULL);
    fprintf(o, "},\"t0_epoch_us\":%" PRId64, a->t0);
    for (int r = 0; r < AN_LEG__N; r++) {
        fprintf(o, ",\"%s\":", ROLE[r]);
        json_leg(x, o, a, r);
    }
    fputs(",\"attempts\":[", o);
    const lg *ll = a->l[AN_LEG_LAN];
    for (int i = 0; ll && i < ll->natt; i++) {
        const an_conn *c = ll->att[i]->c;
        char cl[80], sv[80];
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        fputs(i ? ",{\"pcap\":" : "{\"pcap\":", o);
        jstr(o, x->files[c->file_idx]);
        fputs(",\"client\":", o);
        jstr(o, cl);
        fputs(",\"server\":", o);
        jstr(o, sv);
        fputs(",\"signal\":", o);
        jstr(o, mpx_wire_class_name(c->wire));
        fprintf(o, ",\"mptcp\":\"%s\",", mptcp_name(c->mptcp));
        fputs("\"why\":", o);
        jstr(o, ll->att[i]->why);
        fputs(",\"key\":", o);
        jstr(o, ll->att[i]->att_key);
        fputc(',', o);
        jt(o, "convert_error", c->convert_error >= 0 ? c->convert_error : AN_NONE, true);
        jt(o, "socks_reply", c->socks_reply >= 0 ? c->socks_reply : AN_NONE, true);
        jt(o, "t_syn_us", sub(c->t_syn, a->t0), true);
        jt(o, "t_end_us", sub(tmin(c->t_rst, tmin(c->t_fin[0], c->t_fin[1])), a->t0), false);
        fputc('}', o);
    }
    fputc(']', o);
    fputs(",\"hag_connect_at\":", o);
    jstr(o, a->hag_at);
    fputs(",\"gaps_us\":{", o);
    for (int g = 0; g < G__N; g++) jt(o, GNAME[g], a->g[g], g + 1 < G__N);
    fputs("}}\n", o);
}

/* ---- text ------------------------------------------------------------------------------- */

static void msf(char *b, size_t n, int64_t v)
{
    if (v == AN_NONE)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.3f", (double)v / 1000.0);
}

static void text_app(an_ctx *x, FILE *o, const app *a, size_t id)
{
    char tg[80], b[32];
    target_str(a, tg, sizeof tg);
    const lg *h = hdr_leg(a);
    fprintf(o, "#%zu target %s", id, tg);
    if (h)
        fprintf(o, ", MPX1 seed %" PRIu32 " (req %" PRIu32 " B, resp %" PRIu32 " B)",
                mpxa_hdr_seed(&h->rh), h->rh.req_len, h->rh.resp_len);
    const char *ka = a->l[0] && a->l[1] ? a->l[0]->key_next : NULL;
    const char *kw = a->l[1] && a->l[2] ? a->l[1]->key_next : NULL;
    fprintf(o, "; joined: lan-access %s, access-wan %s%s\n", ka ? ka : "-", kw ? kw : "-",
            a->l[0] && a->l[1] && a->l[2] ? "" : " (INCOMPLETE)");
    fprintf(o, "  %-6s %-12s %-44s %-10s %9s %9s %9s %9s %9s %9s %9s %s\n", "leg", "capture",
            "client -> server", "signal", "SYN", "SYN/ACK", "ACK", "req", "resp", "FIN->", "FIN<-",
            "subflows");
    for (int r = 0; r < AN_LEG__N; r++) {
        const lg *l = a->l[r];
        if (!l) {
            fprintf(o, "  %-6s (not joined / not captured)\n", ROLE[r]);
            continue;
        }
        const an_conn *c = l->c;
        char cl[80], sv[80], ep[170];
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        snprintf(ep, sizeof ep, "%s -> %s", cl, sv);
        fprintf(o, "  %-6s %-12s %-44s %-10s", ROLE[r], base(x->files[c->file_idx]), ep,
                mpx_wire_class_name(c->wire));
        const int ev[] = { E_SYN, E_SYNACK, E_ACK, E_REQ, E_RESP, E_FINC, E_FINS };
        for (size_t i = 0; i < sizeof ev / sizeof *ev; i++) {
            msf(b, sizeof b, sub(a->t[r][ev[i]], a->t0));
            fprintf(o, " %9s", b);
        }
        fprintf(o, " %d", c->nsubflows);
        if (c->joins) {
            fprintf(o, " (%s", base(x->files[c->file_idx]));
            for (const an_conn *j = c->joins; j; j = j->next_join)
                fprintf(o, ",%s", base(x->files[j->file_idx]));
            fputc(')', o);
        }
        fputc('\n', o);
    }
    const lg *lan = a->l[AN_LEG_LAN];
    for (int i = 0; lan && i < lan->natt; i++) {
        const an_conn *c = lan->att[i]->c;
        char cl[80], sv[80];
        cap_ep_str(c->af, c->cli, c->cport, cl, sizeof cl);
        cap_ep_str(c->af, c->srv, c->sport, sv, sizeof sv);
        msf(b, sizeof b, sub(c->t_syn, a->t0));
        fprintf(o,
                "  refused attempt before the access leg: %s %s -> %s %s, SYN at %s ms, %s (joined "
                "by %s)\n",
                base(x->files[c->file_idx]), cl, sv, mpx_wire_class_name(c->wire), b,
                lan->att[i]->why, lan->att[i]->att_key);
    }
    const lg *acc = a->l[AN_LEG_ACCESS];
    if (acc) {
        const an_conn *c = acc->c;
        fprintf(o,
                "  access: signal %s%s%s%s; SYN data %u B (signal %zu B), application bytes in the "
                "CPE's SYN: %s, the LAN request's MPX1 header in it: %s%s\n",
                mpx_wire_class_name(c->wire), c->target_af ? " to " : "",
                c->target_af ? c->target : "", c->sig_valid ? " (valid)" : " (NOT valid)",
                c->syn_data_len, c->sig_len_c2s, c->req_in_syn ? "yes" : "no",
                !acc->hdr                  ? "-"
                : syn_carries_request(acc) ? "yes"
                                           : "no",
                acc->refused ? "; REFUSED by the peer" : "");
    }
    static const char *const gtxt[G__N] = { "LAN SYN->access SYN",
                                            "access SYN->WAN SYN",
                                            "CPE wait",
                                            "LAN request->CPE SYN",
                                            "HAG wait",
                                            "TTFB lan",
                                            "TTFB access",
                                            "TTFB wan",
                                            "server" };
    fputs("  gaps (ms):", o);
    bool any = false;
    for (int g = 0; g < G__N; g++) {
        if (a->g[g] == AN_NONE) continue;
        msf(b, sizeof b, a->g[g]);
        fprintf(o, "%s %s %s", any ? "," : "", gtxt[g], b);
        any = true;
    }
    if (a->hag_at)
        fprintf(o, "%s HAG connected at the access %s", any ? ";" : "",
                !strcmp(a->hag_at, "syn") ? "SYN (0-RTT)" : "third ACK");
    if (!any && !a->hag_at) fputs(" -", o);
    fputc('\n', o);
}

/* ---- driver ----------------------------------------------------------------------------- */

void an_legs_write(an_ctx *x, const int *roles, an_legs_fmt fmt, FILE *o)
{
    size_t nall = 0;
    for (an_conn *c = x->t.head; c; c = c->next) nall++;
    lg *L = xrealloc(NULL, nall * sizeof *L);
    lg **by[AN_LEG__N];
    size_t nby[AN_LEG__N] = { 0 };
    for (int r = 0; r < AN_LEG__N; r++) by[r] = xrealloc(NULL, nall * sizeof **by);
    size_t n = 0;
    for (an_conn *c = x->t.head; c; c = c->next) {
        int r = roles[c->file_idx];
        /* MP_JOIN subflows belong to their MPTCP connection, not a leg of their own */
        if (r < 0 || r >= AN_LEG__N || c->is_join) continue;
        lg *l = &L[n++];
        memset(l, 0, sizeof *l);
        l->c = c;
        l->role = r;
        l->t_sort = c->t_syn != AN_NONE ? c->t_syn : c->t_first;
        set_refused(l);
        find_hdr(l);
        set_target(l);
        by[r][nby[r]++] = l;
    }
    for (int r = 0; r < AN_LEG__N; r++) qsort(by[r], nby[r], sizeof *by[r], lg_cmp);
    size_t nkey[2] = { 0 };
    for (int p = 0; p < 2; p++) {
        int ra = p ? AN_LEG_ACCESS : AN_LEG_LAN, rb = ra + 1;
        join_pass(by[ra], nby[ra], by[rb], nby[rb], K_HDR_TARGET, "mpx1");
        join_pass(by[ra], nby[ra], by[rb], nby[rb], K_HDR, "mpx1");
        join_pass(by[ra], nby[ra], by[rb], nby[rb], K_TARGET, "target-time");
        for (size_t i = 0; i < nby[ra]; i++)
            if (by[ra][i]->next) nkey[!strcmp(by[ra][i]->key_next, "target-time")]++;
    }
    attach_attempts(by[AN_LEG_LAN], nby[AN_LEG_LAN], by[AN_LEG_ACCESS], nby[AN_LEG_ACCESS]);
    attach_untargeted(by[AN_LEG_LAN], nby[AN_LEG_LAN], by[AN_LEG_ACCESS], nby[AN_LEG_ACCESS]);
    size_t natt = 0;
    for (size_t i = 0; i < nby[AN_LEG_ACCESS]; i++) natt += by[AN_LEG_ACCESS][i]->is_att;
    /* application connections: from each LAN leg, then legs nobody joined from before */
    app *apps = xrealloc(NULL, (n ? n : 1) * sizeof *apps);
    size_t na = 0, ncomplete = 0, unj[AN_LEG__N] = { 0 };
    for (int r = 0; r < AN_LEG__N; r++)
        for (size_t i = 0; i < nby[r]; i++) {
            lg *l = by[r][i];
            if (r == AN_LEG_LAN && !l->next) unj[r]++;
            if (r > AN_LEG_LAN && !l->prev) unj[r]++;
            if (l->prev) continue;
            app *a = &apps[na++];
            memset(a, 0, sizeof *a);
            for (int k = r; k < AN_LEG__N && l; k++, l = l->next) a->l[k] = l;
            app_fill(a);
            ncomplete += a->l[0] && a->l[1] && a->l[2];
        }
    if (fmt == AN_LEGS_JSON) {
        for (size_t i = 0; i < na; i++) json_app(x, o, &apps[i], i + 1);
        fprintf(o,
                "{\"type\":\"legs_summary\",\"connections\":%zu,\"complete\":%zu,"
                "\"keys\":{\"mpx1\":%zu,\"target-time\":%zu},\"legs\":{",
                na, ncomplete, nkey[0], nkey[1]);
        for (int r = 0; r < AN_LEG__N; r++)
            fprintf(o, "%s\"%s\":%zu", r ? "," : "", ROLE[r], nby[r]);
        fputs("},\"unjoined\":{", o);
        for (int r = 0; r < AN_LEG__N; r++)
            fprintf(o, "%s\"%s\":%zu", r ? "," : "", ROLE[r], unj[r]);
        fputs("},\"pcaps\":{", o);
        for (int r = 0; r < AN_LEG__N; r++) {
            fprintf(o, "%s\"%s\":[", r ? "," : "", ROLE[r]);
            bool first = true;
            for (int f = 0; f < x->nfiles; f++)
                if (roles[f] == r) {
                    if (!first) fputc(',', o);
                    jstr(o, x->files[f]);
                    first = false;
                }
            fputc(']', o);
        }
        fprintf(o, "},\"refused_attempts\":%zu", natt);
        fprintf(o, ",\"violations\":%zu,\"read_errors\":[", an_total_violations(x));
        bool first = true;
        for (int f = 0; f < x->nfiles; f++) {
            if (!x->read_err || !x->read_err[f][0]) continue;
            fputs(first ? "{\"pcap\":" : ",{\"pcap\":", o);
            jstr(o, x->files[f]);
            fprintf(o, ",\"frames_read\":%" PRIu64 ",\"error\":", x->file_frames[f]);
            jstr(o, x->read_err[f]);
            fputc('}', o);
            first = false;
        }
        fputs("]}\n", o);
    } else {
        if (fmt == AN_LEGS_REPORT) {
            an_write(x, AN_OUT_REPORT, o);
            fputs("\n## Three-leg timelines\n\nTimes in ms from the application connection's first "
                  "SYN "
                  "(pcap-analysis/README.md, \"Three legs\").\n\n```\n",
                  o);
        }
        fprintf(o,
                "legs: %zu application connection(s), %zu complete; joins by mpx1 %zu, by "
                "target-time %zu; "
                "unjoined lan %zu, access %zu, wan %zu; refused attempts %zu\n",
                na, ncomplete, nkey[0], nkey[1], unj[0], unj[1], unj[2], natt);
        for (size_t i = 0; i < na; i++) {
            fputc('\n', o);
            text_app(x, o, &apps[i], i + 1);
        }
        if (fmt == AN_LEGS_REPORT) fputs("```\n", o);
    }
    free(apps);
    for (int r = 0; r < AN_LEG__N; r++) free(by[r]);
    free(L);
}
