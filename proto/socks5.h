/* SOCKS version 5 (RFC 1928) and username/password sub-negotiation (RFC 1929): every message
 * both ways, encode + decode. Decoders are streaming: MPX_DEC_MORE while incomplete (a
 * proxy keeps reading), MPX_DEC_BAD with a rule ID (S5-*) when malformed; `len` in each
 * decoded struct is the number of bytes the message used. See protocols.md 6. */
#ifndef MPX_PROTO_SOCKS5_H
#define MPX_PROTO_SOCKS5_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/addr.h"
#include "proto/buf.h"

#define MPX_S5_VERSION      5
#define MPX_S5_AUTH_VERSION 1
#define MPX_S5_PORT         1080

enum mpx_s5_method {
    MPX_S5_M_NOAUTH = 0x00, MPX_S5_M_GSSAPI = 0x01, MPX_S5_M_USERPASS = 0x02,
    MPX_S5_M_NONE_ACCEPTABLE = 0xff,
};
enum mpx_s5_cmd { MPX_S5_CMD_CONNECT = 1, MPX_S5_CMD_BIND = 2, MPX_S5_CMD_UDP = 3 };
enum mpx_s5_atyp { MPX_S5_ATYP_V4 = 1, MPX_S5_ATYP_DOMAIN = 3, MPX_S5_ATYP_V6 = 4 };
enum mpx_s5_rep {
    MPX_S5_REP_OK = 0, MPX_S5_REP_FAILURE = 1, MPX_S5_REP_NOT_ALLOWED = 2,
    MPX_S5_REP_NET_UNREACH = 3, MPX_S5_REP_HOST_UNREACH = 4, MPX_S5_REP_REFUSED = 5,
    MPX_S5_REP_TTL_EXPIRED = 6, MPX_S5_REP_CMD_UNSUPPORTED = 7, MPX_S5_REP_ATYP_UNSUPPORTED = 8,
};

/* Client greeting: VER NMETHODS METHODS[1..255]. */
typedef struct {
    uint8_t nmethods;
    uint8_t methods[255];
    size_t  len;
} mpx_s5_greeting;

/* Request (code = CMD) or reply (code = REP): VER CODE RSV ATYP ADDR PORT. */
typedef struct {
    uint8_t  code;
    uint8_t  atyp;         /* encode: 0 = derive from addr.family (or domain if set) */
    mpx_addr addr;         /* ATYP 1/4; addr.port == port */
    uint8_t  domain_len;   /* ATYP 3 */
    char     domain[256];  /* NUL-terminated copy */
    uint16_t port;
    size_t   len;
} mpx_s5_msg;

/* RFC 1929 request: VER=1 ULEN UNAME PLEN PASSWD (copies, NUL-terminated). */
typedef struct {
    uint8_t ulen, plen;
    char    user[256];
    char    pass[256];
    size_t  len;
} mpx_s5_auth;

/* Client greeting (VER NMETHODS METHODS). */
int mpx_s5_decode_greeting(const uint8_t *p, size_t len, mpx_s5_greeting *g, mpx_err *e);
/* Method selection VER METHOD -> *method. */
int mpx_s5_decode_choice(const uint8_t *p, size_t len, uint8_t *method, mpx_err *e);
int mpx_s5_decode_request(const uint8_t *p, size_t len, mpx_s5_msg *m, mpx_err *e);
int mpx_s5_decode_reply(const uint8_t *p, size_t len, mpx_s5_msg *m, mpx_err *e);
int mpx_s5_decode_auth(const uint8_t *p, size_t len, mpx_s5_auth *a, mpx_err *e);
/* RFC 1929 response VER=1 STATUS -> *status (0 = success). */
int mpx_s5_decode_auth_reply(const uint8_t *p, size_t len, uint8_t *status, mpx_err *e);

/* Encoders return bytes written or -1 (S5-ENC-* rule: no room, empty method list,
 * domain/user/password empty or longer than 255, unknown family). */
long mpx_s5_encode_greeting(const uint8_t *methods, size_t n, uint8_t *out, size_t cap, mpx_err *e);
long mpx_s5_encode_choice(uint8_t method, uint8_t *out, size_t cap, mpx_err *e);
/* code = CMD (request) or REP (reply). For a domain set m->atyp = MPX_S5_ATYP_DOMAIN and
 * domain (domain_len 0 = strlen). */
long mpx_s5_encode_request(const mpx_s5_msg *m, uint8_t *out, size_t cap, mpx_err *e);
long mpx_s5_encode_reply(const mpx_s5_msg *m, uint8_t *out, size_t cap, mpx_err *e);
long mpx_s5_encode_auth(const char *user, const char *pass, uint8_t *out, size_t cap, mpx_err *e);
long mpx_s5_encode_auth_reply(uint8_t status, uint8_t *out, size_t cap, mpx_err *e);

/* Shorthands: CONNECT to a v4/v6 address / to a domain name. */
long mpx_s5_encode_connect(const mpx_addr *target, uint8_t *out, size_t cap, mpx_err *e);
long mpx_s5_encode_connect_domain(const char *name, uint16_t port, uint8_t *out, size_t cap, mpx_err *e);

/* Reply code a server should send when a request failed to decode with `rule`
 * (S5-CMD -> 7, S5-ATYP -> 8, otherwise 1 general failure); -1 if the rule means the
 * server must just close (bad version, greeting/auth errors). */
int mpx_s5_rule_reply(const char *rule);

const char *mpx_s5_rep_name(uint8_t rep);        /* "succeeded", "connection refused", ... */
const char *mpx_s5_method_name(uint8_t method);  /* "no authentication required", ... */
const char *mpx_s5_cmd_name(uint8_t cmd);
const char *mpx_s5_atyp_name(uint8_t atyp);
#endif
