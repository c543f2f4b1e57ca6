/* Nodes, links and routing. A link direction is mpx-linkem's lk_dir, driven by the virtual
 * clock: the frame goes through the same loss draw, drop-tail queue, serialization and
 * jitter as in the emulator, and leaves at its release time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "sim/sim.h"

void sim_init(struct sim *s) { memset(s, 0, sizeof(*s)); }

void sim_free(struct sim *s)
{
    for (int i = 0; i < s->nlinks; i++) {
        struct sim_link *l = &s->links[i];
        for (int d = 0; d < 2; d++) {
            for (struct sim_pkt *p = l->q[d].head, *nx; p; p = nx) nx = p->next, sim_pkt_free(p);
            lk_dir_free(&l->dir[d]);
        }
        if (l->pcap) fclose(l->pcap);
    }
    sim_evq_free(&s->evq);
}

uint32_t sim_addr_parse(const char *txt)
{
    struct in_addr a;
    return inet_pton(AF_INET, txt, &a) == 1 ? ntohl(a.s_addr) : 0;
}

void sim_addr_fmt(uint32_t a, char *buf, size_t cap)
{
    struct in_addr x = { htonl(a) };
    inet_ntop(AF_INET, &x, buf, (socklen_t)cap);
}

struct sim_node *sim_node_find(struct sim *s, const char *name)
{
    for (int i = 0; i < s->nnodes; i++)
        if (!strcmp(s->nodes[i].name, name)) return &s->nodes[i];
    return NULL;
}

struct sim_node *sim_node_add(struct sim *s, const char *name, const char *role)
{
    struct sim_node *n = sim_node_find(s, name);
    if (n) {
        if (role) snprintf(n->role, sizeof n->role, "%s", role);
        return n;
    }
    if (s->nnodes == SIM_MAX_NODES) return NULL;
    n = &s->nodes[s->nnodes++];
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->role, sizeof n->role, "%s", role ? role : "host");
    return n;
}

bool sim_node_owns(const struct sim_node *n, uint32_t addr)
{
    for (int i = 0; i < n->nif; i++)
        if (n->ifs[i].addr == addr) return true;
    return false;
}

struct sim_link *sim_link_add(struct sim *s, const char *name, struct sim_node *a,
                              const char *ifa, uint32_t addra, struct sim_node *b,
                              const char *ifb, uint32_t addrb, const struct lk_params *ab,
                              const struct lk_params *ba, char *err, size_t errlen)
{
    if (s->nlinks == SIM_MAX_LINKS || a->nif == SIM_MAX_IF || b->nif == SIM_MAX_IF) {
        snprintf(err, errlen, "link %s: too many links or interfaces", name);
        return NULL;
    }
    struct sim_link *l = &s->links[s->nlinks];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof l->name, "%s", name);
    if (lk_dir_init(&l->dir[0], "ab", ab, 0, err, errlen)) return NULL;
    if (lk_dir_init(&l->dir[1], "ba", ba, 0, err, errlen)) {
        lk_dir_free(&l->dir[0]);
        return NULL;
    }
    s->nlinks++;
    struct sim_node *nd[2] = { a, b };
    const char *ifn[2] = { ifa, ifb };
    uint32_t ad[2] = { addra, addrb };
    for (int e = 0; e < 2; e++) {
        struct sim_if *f = &nd[e]->ifs[nd[e]->nif];
        snprintf(f->name, sizeof f->name, "%s", ifn[e]);
        f->addr = ad[e], f->link = l, f->end = e;
        l->node[e] = nd[e], l->ifi[e] = nd[e]->nif++;
    }
    return l;
}

/* ---- pcap: classic format, ns resolution, Ethernet ---- */
static void pcap_put(FILE *f, uint64_t t, const uint8_t *frame, uint32_t len)
{
    uint32_t h[4] = { (uint32_t)(t / SIM_S), (uint32_t)(t % SIM_S), len, len };
    fwrite(h, sizeof h, 1, f);
    fwrite(frame, len, 1, f);
}

int sim_pcap_open(struct sim *s, const char *dir, char *err, size_t errlen)
{
    for (int i = 0; i < s->nlinks; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.pcap", dir, s->links[i].name);
        FILE *f = fopen(path, "wb");
        if (!f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        const uint32_t gh[6] = { 0xa1b23c4d, 0x00040002, 0, 0, 65535, 1 };
        fwrite(gh, sizeof gh, 1, f);
        s->links[i].pcap = f;
    }
    return 0;
}

/* ---- forwarding ---- */
static void link_release(struct sim *s, void *arg, uint64_t d);
static void deliver(struct sim *s, struct sim_node *n, struct sim_pkt *p);
static void net_send(struct sim *s, struct sim_node *n, struct sim_pkt *p, bool own);

/* a packet a node's hook held goes on: u = node index * 2 + (1: it was being sent) */
static void hook_done(struct sim *s, void *arg, uint64_t u)
{
    struct sim_pkt *p = arg;
    p->hooked = true;
    if (u & 1) sim_send(s, &s->nodes[u >> 1], p);
    else deliver(s, &s->nodes[u >> 1], p);
}

/* true when n's hook holds p (an event takes it on later) */
static bool hook_holds(struct sim *s, struct sim_node *n, struct sim_pkt *p, bool out)
{
    if (p->hooked) {
        p->hooked = false;
        return false;
    }
    if (!n->hook) return false;
    uint64_t t = n->hook(s, n, p, out);
    if (t <= s->now) return false;
    return !sim_at(s, t, hook_done, p, (uint64_t)(n - s->nodes) * 2 + (out ? 1 : 0));
}

static void deliver(struct sim *s, struct sim_node *n, struct sim_pkt *p)
{
    if (hook_holds(s, n, p, false)) return;
    s->delivered++;
    if (n->rx && n->rx(s, n, p)) return;
    if (sim_node_owns(n, p->dst) || n->nif < 2) { /* no endpoint here: dropped */
        s->dropped++;
        sim_pkt_free(p);
        return;
    }
    net_send(s, n, p, false); /* a router */
}

static void link_schedule(struct sim *s, struct sim_link *l, int d)
{
    uint64_t t = lk_fifo_next_rel(&l->dir[d].q);
    if (t == UINT64_MAX || l->rel_pending[d]) return;
    l->rel_pending[d] = t;
    sim_at(s, t, link_release, l, (uint64_t)d);
}

static void link_release(struct sim *s, void *arg, uint64_t d)
{
    struct sim_link *l = arg;
    struct lk_dir *dir = &l->dir[d];
    l->rel_pending[d] = 0;
    int64_t seq;
    while ((seq = lk_fifo_pop_due(&dir->q, s->now)) >= 0) {
        struct lk_slot *slot = lk_fifo_slot(&dir->q, (uint64_t)seq);
        struct sim_pkt *p = l->q[d].head;
        l->q[d].head = p->next;
        if (!l->q[d].head) l->q[d].tail = NULL;
        p->next = NULL;
        lk_dir_note_sent(dir, slot->len, slot->t_rel, s->now);
        if (l->pcap) pcap_put(l->pcap, s->now, lk_fifo_data(&dir->q, (uint64_t)seq), slot->len);
        deliver(s, l->node[d == 0 ? 1 : 0], p);
    }
    lk_fifo_reclaim(&dir->q);
    link_schedule(s, l, (int)d);
}

static struct sim_if *route(struct sim_node *n, const struct sim_pkt *p)
{
    for (int i = 0; n->src_routing && i < n->nif; i++) /* a subflow leaves by its source */
        if (n->ifs[i].addr == p->src) return &n->ifs[i];
    for (int i = 0; i < n->nif; i++)
        if ((n->ifs[i].addr >> 8) == (p->dst >> 8)) return &n->ifs[i];
    return n->nif ? &n->ifs[0] : NULL; /* default route: the first interface */
}

void sim_send(struct sim *s, struct sim_node *n, struct sim_pkt *p) { net_send(s, n, p, true); }

/* own: the node sent it (the hook's "out"), else it forwards it */
static void net_send(struct sim *s, struct sim_node *n, struct sim_pkt *p, bool own)
{
    struct sim_if *f = route(n, p);
    if (!f) {
        s->dropped++;
        sim_pkt_free(p);
        return;
    }
    if (own && hook_holds(s, n, p, true)) return;
    struct sim_link *l = f->link;
    int d = f->end == 0 ? 0 : 1;
    static uint8_t frame[LK_SLOT_BYTES]; /* the bytes matter only to a pcap */
    uint32_t len = l->pcap ? sim_pkt_frame(p, frame, sizeof frame) : sim_pkt_wire_len(p);
    if (len > sizeof frame) len = 0;
    uint64_t idx;
    enum lk_verdict v = lk_dir_arrive(&l->dir[d], s->now, l->down, frame, len ? len : UINT32_MAX,
                                      &idx);
    if (v != LK_PASS) {
        s->dropped++;
        if (s->droplog)
            fprintf(s->droplog,
                    "{\"t_us\":%llu,\"link\":\"%s\",\"dir\":\"%s\",\"idx\":%llu,\"reason\":\"%s\","
                    "\"len\":%u}\n",
                    (unsigned long long)(s->now / 1000), l->name, d ? "ba" : "ab",
                    (unsigned long long)idx, lk_verdict_name[v], sim_pkt_wire_len(p));
        sim_pkt_free(p);
        return;
    }
    if (l->q[d].tail) l->q[d].tail->next = p;
    else l->q[d].head = p;
    l->q[d].tail = p;
    link_schedule(s, l, d);
}

/* ---- loading a resolved variant folder ---- */
static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (!b) snprintf(err, errlen, "%s: out of memory", path);
    else b[n] = 0;
    return b;
}

static uint32_t find_addr(const char *addrs, const char *node, const char *ifn)
{
    char n[64], i[64], a4[64], a6[80];
    for (const char *l = addrs; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "%63s %63s %63s %79s", n, i, a4, a6) >= 3 && !strcmp(n, node) &&
            !strcmp(i, ifn))
            return sim_addr_parse(a4);
    return 0;
}

static int load_spec(const char *dir, const char *link, struct lk_params p[2], char *err,
                     size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.spec", dir, link);
    char *txt = slurp(path, err, errlen);
    if (!txt) return -1;
    int got = 0;
    for (char *l = strtok(txt, "\n"); l; l = strtok(NULL, "\n")) {
        int d = !strncmp(l, "ab ", 3) ? 0 : !strncmp(l, "ba ", 3) ? 1 : -1;
        if (d < 0) continue;
        lk_params_default(&p[d]);
        if (lk_spec_parse(l + 3, &p[d], err, errlen)) {
            free(txt);
            return -1;
        }
        got |= 1 << d;
    }
    free(txt);
    if (got != 3) {
        snprintf(err, errlen, "%s: needs an ab and a ba line", path);
        return -1;
    }
    return 0;
}

int sim_net_load(struct sim *s, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/topology.resolved", dir);
    char *topo = slurp(path, err, errlen);
    if (!topo) return -1;
    char nm[64], role[64];
    for (const char *l = topo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (sscanf(l, "node %63s %63s", nm, role) == 2 && !sim_node_add(s, nm, role)) {
            free(topo);
            snprintf(err, errlen, "too many nodes");
            return -1;
        }
    free(topo);
    snprintf(path, sizeof path, "%s/addrs", dir);
    char *addrs = slurp(path, err, errlen);
    snprintf(path, sizeof path, "%s/links.txt", dir);
    char *links = addrs ? slurp(path, err, errlen) : NULL;
    int rc = links ? 0 : -1;
    char ln[64], an[64], ai[64], bn[64], bi[64];
    for (const char *l = links; rc == 0 && l && *l;
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (sscanf(l, "%63s %63s %63s %63s %63s", ln, an, ai, bn, bi) != 5) continue;
        struct lk_params p[2];
        struct sim_node *a = sim_node_add(s, an, NULL), *b = sim_node_add(s, bn, NULL);
        uint32_t aa = find_addr(addrs, an, ai), ba = find_addr(addrs, bn, bi);
        if (!a || !b || !aa || !ba) {
            snprintf(err, errlen, "link %s: no IPv4 address for %s:%s or %s:%s in addrs", ln,
                     an, ai, bn, bi);
            rc = -1;
        } else if (load_spec(dir, ln, p, err, errlen) ||
                   !sim_link_add(s, ln, a, ai, aa, b, bi, ba, &p[0], &p[1], err, errlen)) {
            rc = -1;
        }
    }
    if (rc == 0 && s->nlinks == 0) {
        snprintf(err, errlen, "%s/links.txt: no links", dir);
        rc = -1;
    }
    free(addrs);
    free(links);
    return rc;
}
