/* Family "convert": RFC 8803 Convert header + Connect TLV [+ Cookie TLV] [+ Extended Connect]
 * in the SYN payload, then the converter's reply (TLVs, or an Error TLV). The row says whether
 * the request rides in the same SYN or waits for the reply (waits_reply) and whether the SYN
 * goes cookie-less or with a real TFO cookie (tfo). */
#include <string.h>
#include <unistd.h>

#include "agents/client/client.h"
#include "proto/convert.h"

enum { CONV_REPLY };

/* The RFC 8803 Cookie TLV cache (--cookie-cache): lines "PROXY-ADDR HEX". */
static uint8_t g_cookie[256];
static size_t  g_cookie_len;

static void cookie_load(client *cl)
{
    const char *path = cl->cfg.cookie_path;
    g_cookie_len = 0;   /* a --plan line starts without the previous line's cookie */
    if (!path)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024], want[MPXA_ADDR_STRLEN];
    mpxa_addr_fmt(&cl->cfg.proxy, want, sizeof want);
    while (fgets(line, sizeof line, f)) {
        char a[128], hex[600];
        if (sscanf(line, "%127s %599s", a, hex) == 2 && strcmp(a, want) == 0) {
            long n = mpx_hex_parse(hex, g_cookie, sizeof g_cookie);
            g_cookie_len = n > 0 ? (size_t)n : 0;
        }
    }
    fclose(f);
}

static void cookie_store(client *cl, const uint8_t *ck, size_t n)
{
    const char *path = cl->cfg.cookie_path;
    if (n > sizeof g_cookie)
        n = sizeof g_cookie;
    memcpy(g_cookie, ck, n);
    g_cookie_len = n;
    if (!path)
        return;
    char want[MPXA_ADDR_STRLEN], hex[2 * sizeof g_cookie + 1];
    mpxa_addr_fmt(&cl->cfg.proxy, want, sizeof want);
    mpx_hex_format(ck, n, hex);
    /* rewrite the file: keep other proxies' lines */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return;
    FILE *in = fopen(path, "r");
    if (in) {
        char line[1024], a[128];
        while (fgets(line, sizeof line, in))
            if (sscanf(line, "%127s", a) == 1 && strcmp(a, want) != 0)
                fputs(line, out);
        fclose(in);
    }
    fprintf(out, "%s %s\n", want, hex);
    fclose(out);
    rename(tmp, path);
}

static long conv_first_flight(client *cl, cconn *c, uint8_t *out, size_t cap)
{
    const client_cfg *cfg = &cl->cfg;
    mpx_err e;
    mpx_err_clear(&e);
    mpx_addr t;
    mpx_addr_from_sockaddr(&cfg->target.u.sa, cfg->target.len, &t);
    mpx_conv_opt opts[32];
    for (size_t i = 0; i < cfg->nconv_opts; i++)
        opts[i] = (mpx_conv_opt){ .kind = cfg->conv_opts[i], .vlen = 0, .val = NULL };
    long n = mpx_conv_encode_connect(&t, g_cookie_len ? g_cookie : NULL, g_cookie_len,
                                     cfg->nconv_opts ? opts : NULL, cfg->nconv_opts, out, cap, &e);
    if (n < 0) {
        client_set_err(c, "encoding the signal failed: %s: %s", e.rule ? e.rule : "?", e.msg);
        return n;
    }
    client_sig_step(c, CONV_REPLY, "convert-reply");
    return n;
}

static int conv_reply(client *cl, cconn *c)
{
    mpx_err e;
    mpx_err_clear(&e);
    if (c->sig_in_len < MPX_CONV_HDR_LEN)
        return 0;
    size_t need = mpx_conv_frame_len(c->sig_in, c->sig_in_len);
    if (need == 0 && c->sig_in_len >= MPX_CONV_HDR_LEN)
        need = MPX_CONV_HDR_LEN;   /* Total Length 0: let the decoder say why */
    if (c->sig_in_len < need)
        return 0;
    mpx_conv_msg m;
    unsigned fl = MPX_CONV_F_COMPLETE | MPX_CONV_F_FROM_CONVERTER;
    int r = mpx_conv_decode(c->sig_in, need, fl, &m, &e);
    if (r != MPX_DEC_OK) {
        client_set_err(c, "bad Convert reply: %s: %s", e.rule ? e.rule : "?", e.msg);
        c->rst = true;   /* RFC 8803: the client resets on an invalid message */
        return -1;
    }
    c->t_sig = client_rel(c);
    c->sig_in_total += m.conv_len;
    if (m.has_ext_hdr) {
        size_t n = m.ext_hdr_len > 64 ? 64 : m.ext_hdr_len;
        mpx_hex_format(m.ext_hdr, n, c->ext_hdr);
    }
    if (m.has_error) {
        c->conv_error = m.error.code;
        c->rst = true;
        if (m.error.code == MPX_CONV_E_MISSING_COOKIE && m.error.data_len)
            cookie_store(cl, m.error.data, m.error.data_len);
        client_set_err(c, "convert error %u (%s)", m.error.code, mpx_conv_error_name(m.error.code));
        return -1;
    }
    client_sig_consume(c, m.conv_len, false);
    client_start_response(c);
    return 1;
}

const client_signal_ops client_sig_convert = {
    .wire = MPX_WIRE_CONVERT,
    .convert_opts = true,
    .setup = cookie_load,
    .first_flight = conv_first_flight,
    .reply = conv_reply,
};
