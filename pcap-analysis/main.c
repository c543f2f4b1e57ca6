/* mpx-analyze: pcap verification for mpxlab (option encodings, MPTCP, TFO, Convert /
 * MP_CONVERT / SOCKS5 signals, latency timelines). See pcap-analysis/README.md.
 * Exit: bit 0 = violations found, bit 1 = usage or input error (0 clean, 1 violations, 2 input
 * error and no violations in what was read, 3 both). */
#include "pcap-analysis/analyze.h"
#include "pcap-analysis/legs.h"
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: mpx-analyze [--json|--csv|--report|--packets] [--out FILE] [--mpconvert-subtype "
          "N] [--check-csum] PCAP...\n"
          "       mpx-analyze --legs ROLE=PCAP[,PCAP...][,ROLE=PCAP...] [--json|--text|--report]\n"
          "                   [--out FILE] [--mpconvert-subtype N] [--check-csum]\n"
          "       mpx-analyze --help | --version\n"
          "  Decodes and checks every TCP option (through proto/), tracks TCP and MPTCP\n"
          "  connections (tokens, MP_JOIN HMACs, fallback cause), Convert / MP_CONVERT /\n"
          "  SOCKS5 signals, TFO coexistence and the latency timeline of each connection.\n"
          "  Several captures (one per link) are analysed together: MP_JOIN subflows and\n"
          "  proxy downstream connections are linked across them.\n"
          "  --json      one JSON line per connection + a summary line (default)\n"
          "  --csv       one CSV row per connection\n"
          "  --report    Markdown verification report\n"
          "  --packets   one JSON line per TCP segment (option decode, tcpdump-like text: README\n"
          "              \"--packets\" lists where it differs from tcpdump) instead\n"
          "  --out FILE  write there instead of stdout\n"
          "  --mpconvert-subtype N  MPTCP subtype of MP_CONVERT / MP_PREFER_PROXY (default 14)\n"
          "  --check-csum  IPv4 header and TCP checksums are rule violations when wrong (IP-CSUM,\n"
          "              TCP-CSUM); off by default: captures on a sender with checksum offload\n"
          "              show sums the NIC fills in later (mpx-linkem pcaps are always final)\n"
          "  --legs SPEC proxy/proxy: join the lan, access and wan legs of each application\n"
          "              connection and write their timeline instead (ROLE = lan, access or\n"
          "              wan; an item without ROLE= belongs to the role before it; repeatable;\n"
          "              no positional PCAP, no --csv or --packets with it)\n"
          "  --text      with --legs: a compact per-leg timeline table\n"
          "  --help      this text\n"
          "  --version   the version\n"
          "PCAP: pcap or pcapng (interfaces of different link types included), any number.\n"
          "exit: bit 0 set = violations found, bit 1 set = usage or input error (a capture that\n"
          "  cannot be opened, or ends mid-packet: what was read is analysed and reported):\n"
          "  0 clean, 1 violations, 2 input error and no violations in what was read,\n"
          "  3 input error and violations in what was read\n",
          f);
}

static void legs_free(char **files, int *roles, int n)
{
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    free(roles);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "json", no_argument, 0, 'j' }, { "csv", no_argument, 0, 'c' },
        { "report", no_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
        { "mpconvert-subtype", required_argument, 0, 's' }, { "packets", no_argument, 0, 'p' },
        { "check-csum", no_argument, 0, 'C' },
        { "legs", required_argument, 0, 'L' }, { "text", no_argument, 0, 'T' },
        { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
    };
    an_out_fmt fmt = AN_OUT_JSON;
    const char *out = NULL;
    long subtype = -1;
    bool packets = false, check_csum = false;
    bool csv = false, text = false;
    char **lfiles = NULL;   /* --legs captures and their roles */
    int *lroles = NULL, nl = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "jcro:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'j': fmt = AN_OUT_JSON; break;
        case 'c': fmt = AN_OUT_CSV; csv = true; break;
        case 'T': text = true; break;
        case 'L': {
            char err[200];
            if (an_legs_parse(optarg, &lfiles, &lroles, &nl, err, sizeof err) < 0) {
                fprintf(stderr, "mpx-analyze: %s\n", err);
                legs_free(lfiles, lroles, nl);
                return 2;
            }
            break;
        }
        case 'r': fmt = AN_OUT_REPORT; break;
        case 'o': out = optarg; break;
        case 'p': packets = true; break;
        case 'C': check_csum = true; break;
        case 's': {
            char *end;
            subtype = strtol(optarg, &end, 0);
            if (*end || subtype < 0 || subtype > 15) { fprintf(stderr, "mpx-analyze: bad subtype %s\n", optarg); return 2; }
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': printf("mpx-analyze %s\n", MPX_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    bool legs = nl > 0;
    if (legs ? (optind < argc || csv || packets) : (optind >= argc || text)) {
        if (legs) fputs("mpx-analyze: --legs takes its captures in SPEC: no positional PCAP, no --csv or --packets\n", stderr);
        else if (text) fputs("mpx-analyze: --text needs --legs\n", stderr);
        usage(stderr);
        legs_free(lfiles, lroles, nl);
        return 2;
    }
    int nfiles = legs ? nl : argc - optind;
    const char **files = legs ? (const char **)lfiles : (const char **)&argv[optind];
    an_ctx x;
    an_ctx_init(&x, files, nfiles);
    if (subtype >= 0) x.mpconv_subtype = (uint8_t)subtype;
    x.check_csum = check_csum;
    FILE *o = stdout;
    if (out && !(o = fopen(out, "w"))) {
        perror(out);
        an_ctx_free(&x);
        legs_free(lfiles, lroles, nl);
        return 2;
    }
    if (packets) x.pkt_out = o;
    int rc = 0;
    for (int i = 0; i < nfiles; i++) {
        char err[512];
        cap_file *c = cap_open(files[i], err, sizeof err);
        if (!c) {
            fprintf(stderr, "mpx-analyze: %s\n", err);
            snprintf(x.read_err[i], sizeof x.read_err[i], "cannot open: %.200s", err);
            rc = 2;
            continue;
        }
        mpx_pkt p;
        int r;
        x.dedup = cap_linktype(c) == DLT_LINUX_SLL
#ifdef DLT_LINUX_SLL2
                  || cap_linktype(c) == DLT_LINUX_SLL2
#endif
                  ;
        while ((r = cap_next(c, &p, err, sizeof err)) == 1) an_packet(&x, i, &p);
        if (r < 0) {
            fprintf(stderr, "mpx-analyze: %s: %s\n", files[i], err);
            snprintf(x.read_err[i], sizeof x.read_err[i], "%.250s", err);
            rc = 2;
        }
        x.file_frames[i] = cap_frames(c);
        x.frames += cap_frames(c);
        for (int k = 0; k < CAP_SKIP_MAX; k++) x.skipped[k] += cap_skipped(c, (enum cap_skip)k);
        cap_close(c);
    }
    if (rc == 2 && x.tcp_pkts == 0 && x.frames == 0) {
        an_ctx_free(&x);
        legs_free(lfiles, lroles, nl);
        return 2;
    }
    an_finish(&x);
    if (legs)
        an_legs_write(&x, lroles, text ? AN_LEGS_TEXT : fmt == AN_OUT_REPORT ? AN_LEGS_REPORT : AN_LEGS_JSON, o);
    else if (!packets)
        an_write(&x, fmt, o);
    if (o != stdout && fclose(o) != 0) { perror(out); rc = 2; }
    else if (o == stdout) fflush(stdout);
    size_t nv = an_total_violations(&x);
    an_ctx_free(&x);
    legs_free(lfiles, lroles, nl);
    /* bit 0: violations found; bit 1: an input could not be read (to its end) */
    return (nv ? 1 : 0) | rc;
}
