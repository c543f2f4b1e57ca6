/* MPTCP options (TCP option kind 30): decoder, semantic checker, encoder, names, and the
 * key-derived values (token, IDSN, MP_JOIN and ADD_ADDR HMACs). RFC 8684 (v1) and RFC 6824
 * (v0) where it differs. Pure functions, no I/O; crypto through nettle.
 *
 * Every decoder checks the option length against the subtype, the flags and the segment
 * context BEFORE reading a field (table-driven: {subtype, name, min length, decoder}).
 *
 * Decode rule IDs (mpx_mptcp_decode returns -1 with one of these):
 *   MPTCP-LEN-SHORT   option shorter than 3 bytes (no subtype byte) or than the subtype's
 *                     fixed part
 *   MPTCP-KIND        first byte is not 30
 *   MPTCP-LEN-BYTE    the length byte differs from the length passed in
 *   MPC-LEN           MP_CAPABLE length not valid for its version / segment context
 *                     (v1: SYN 4, SYN/ACK 12, ACK 20/22/24; v0: SYN 12, SYN/ACK 12, ACK 20)
 *   MPC-VERSION       MP_CAPABLE version other than 0 or 1
 *   MPJ-LEN           MP_JOIN length not 12 (SYN) / 16 (SYN/ACK) / 24 (ACK)
 *   DSS-LEN           DSS length does not match its flags (with or without checksum)
 *   ADD-ADDR-LEN      ADD_ADDR length not one of v1 16/18/28/30 (echo 8/10/20/22) or
 *                     v0 8/10/20/22
 *   RM-ADDR-LEN       REMOVE_ADDR shorter than 4 (no address ID)
 *   PRIO-LEN          MP_PRIO length not 3 (v1) or 3/4 (v0 with address ID)
 *   FAIL-LEN          MP_FAIL length != 12
 *   FASTCLOSE-LEN     MP_FASTCLOSE length != 12
 *   TCPRST-LEN        MP_TCPRST length != 4
 * Semantic rule IDs (mpx_mptcp_check adds them; the option was still decoded):
 *   MPC-FLAG-B        B (extensibility) set: receiver must ignore MP_CAPABLE (8684 3.1)
 *   MPC-NO-CRYPTO     none of D..H (v0: C..H) set: option invalid (8684 3.1, 6824 3.1)
 *   MPC-CTX           MP_CAPABLE in a segment that cannot carry it (e.g. SYN/ACK form in SYN
 *                     when the context is known through the length only)
 *   MPJ-CTX           MP_JOIN form does not match the segment (e.g. 12-byte form without SYN)
 *   DSS-IN-SYN        DSS in a SYN
 *   DSS-RSV           reserved bits of DSS set
 *   DSS-INF-CSUM      infinite mapping (length 0) with a non-zero checksum
 *   ADD-ADDR-RSV      v1 ADD_ADDR reserved bits set
 *   TCPRST-NOT-RST    MP_TCPRST on a segment without RST (needs flags)
 *   TCPRST-REASON     reason code not in the registry (0..6)
 * Unassigned subtypes (0x9..0xe, e.g. MP_CONVERT trials on 0xe) and MP_EXPERIMENTAL decode
 * as opaque options (raw + len) and are not violations.
 */
#ifndef MPX_PROTO_MPTCP_H
#define MPX_PROTO_MPTCP_H
#include "proto/buf.h"

enum {
    MPX_MP_CAPABLE = 0x0,
    MPX_MP_JOIN = 0x1,
    MPX_MP_DSS = 0x2,
    MPX_MP_ADD_ADDR = 0x3,
    MPX_MP_REMOVE_ADDR = 0x4,
    MPX_MP_PRIO = 0x5,
    MPX_MP_FAIL = 0x6,
    MPX_MP_FASTCLOSE = 0x7,
    MPX_MP_TCPRST = 0x8,
    MPX_MP_EXPERIMENTAL = 0xf,
};

/* MP_CAPABLE flag bits (byte 3). */
enum {
    MPX_MPC_A = 0x80, MPX_MPC_B = 0x40, MPX_MPC_C = 0x20, MPX_MPC_D = 0x10,
    MPX_MPC_E = 0x08, MPX_MPC_F = 0x04, MPX_MPC_G = 0x02, MPX_MPC_H = 0x01,
};
/* DSS flag bits (byte 3). */
enum {
    MPX_DSS_A = 0x01,  /* Data ACK present */
    MPX_DSS_a = 0x02,  /* Data ACK is 8 bytes */
    MPX_DSS_M = 0x04,  /* mapping present */
    MPX_DSS_m = 0x08,  /* DSN is 8 bytes */
    MPX_DSS_F = 0x10,  /* DATA_FIN */
};
/* MP_TCPRST flag bits (low nibble of byte 2) and reasons. */
enum { MPX_TCPRST_T = 0x1, MPX_TCPRST_W = 0x2, MPX_TCPRST_V = 0x4, MPX_TCPRST_U = 0x8 };
enum {
    MPX_TCPRST_UNSPEC = 0, MPX_TCPRST_MPTCP_ERR = 1, MPX_TCPRST_RESOURCES = 2,
    MPX_TCPRST_ADMIN = 3, MPX_TCPRST_OUTSTANDING = 4, MPX_TCPRST_PERFORMANCE = 5,
    MPX_TCPRST_MIDDLEBOX = 6,
};

/* Segment context: decides which MP_CAPABLE / MP_JOIN forms are legal. ANY accepts every
 * length that is legal in some context (for printing options out of context). */
typedef enum { MPX_MPCTX_ANY = 0, MPX_MPCTX_SYN, MPX_MPCTX_SYNACK, MPX_MPCTX_ACK } mpx_mpctx;
/* SYN without ACK -> SYN, SYN+ACK -> SYNACK, anything else -> ACK. */
mpx_mpctx mpx_mpctx_from_flags(uint8_t tcp_flags);

typedef struct {
    uint8_t version;     /* 0 or 1 */
    uint8_t flags;       /* MPX_MPC_* */
    bool    has_snd_key; /* sender's key: SYN v0, SYN/ACK, ACK */
    bool    has_rcv_key; /* receiver's key: ACK (20/22/24) */
    uint64_t snd_key, rcv_key;
    bool    has_dll;     /* v1 ACK with data (22/24) */
    uint16_t dll;
    bool    has_csum;    /* length 24 */
    uint16_t csum;
} mpx_mp_capable;

typedef enum { MPX_MPJ_SYN = 0, MPX_MPJ_SYNACK, MPX_MPJ_ACK } mpx_mpj_form;
typedef struct {
    mpx_mpj_form form;   /* from the length: 12 SYN, 16 SYN/ACK, 24 ACK */
    bool     backup;     /* B flag (SYN, SYN/ACK) */
    uint8_t  addr_id;    /* SYN, SYN/ACK */
    uint32_t token;      /* SYN: receiver's token */
    uint32_t nonce;      /* SYN, SYN/ACK: sender's random number */
    uint64_t hmac64;     /* SYN/ACK: leftmost 64 bits of the sender's HMAC */
    uint8_t  hmac[20];   /* ACK: leftmost 160 bits of the sender's HMAC */
} mpx_mp_join;

typedef struct {
    uint8_t  flags;      /* MPX_DSS_* as on the wire (incl. reserved bits) */
    bool     has_ack, ack64;
    uint64_t data_ack;
    bool     has_map, dsn64;
    uint64_t dsn;
    uint32_t ssn;        /* relative subflow sequence number */
    uint16_t dll;        /* data-level length; 0 = infinite mapping */
    bool     has_csum;   /* inferred from the length */
    uint16_t csum;
    bool     fin;
} mpx_mp_dss;

typedef struct {
    uint8_t  version;    /* 1, or 0 for the RFC 6824 form (IPVer nibble 4/6) */
    bool     echo;       /* v1 E flag */
    uint8_t  family;     /* 4 or 6 */
    uint8_t  addr_id;
    uint8_t  addr[16];   /* network order; IPv4 in addr[0..3] */
    bool     has_port;
    uint16_t port;
    bool     has_hmac;   /* v1, E = 0 */
    uint64_t hmac;       /* rightmost 64 bits of HMAC-SHA256 */
    uint8_t  rsv;        /* v1 reserved bits (low nibble minus E) */
} mpx_mp_add_addr;

typedef struct { uint8_t n; const uint8_t *ids; } mpx_mp_remove_addr;  /* ids in input */
typedef struct { bool backup; bool has_addr_id; uint8_t addr_id; } mpx_mp_prio;
typedef struct { uint64_t dsn; } mpx_mp_fail;
typedef struct { uint64_t key; } mpx_mp_fastclose;
typedef struct { uint8_t flags; bool transient; uint8_t reason; } mpx_mp_tcprst;

typedef struct {
    uint8_t subtype;     /* MPX_MP_* or an unassigned value */
    uint8_t len;         /* option length incl. kind and length */
    uint8_t sub_lo;      /* low nibble of byte 2 (version / flags / IPVer) */
    const uint8_t *raw;  /* the whole option in the caller's buffer (NULL when encoding) */
    union {
        mpx_mp_capable     mpc;
        mpx_mp_join        mpj;
        mpx_mp_dss         dss;
        mpx_mp_add_addr    add_addr;
        mpx_mp_remove_addr rm_addr;
        mpx_mp_prio        prio;
        mpx_mp_fail        fail;
        mpx_mp_fastclose   fastclose;
        mpx_mp_tcprst      tcprst;
    } u;                 /* MP_EXPERIMENTAL / unknown: only raw + len */
} mpx_mptcp_opt;

/* Decodes one kind-30 option: `p` points at the kind byte, `len` is the option length (the
 * length byte must equal len; pass mpx_tcpopt.len). Returns 0 or -1 with e->rule set. */
int mpx_mptcp_decode(const uint8_t *p, size_t len, mpx_mpctx ctx, mpx_mptcp_opt *out, mpx_err *e);

/* Semantic checks of a decoded option in a segment with TCP flags `tcp_flags`; appends to
 * vs and returns the number added. `off` is added to the reported offsets. */
size_t mpx_mptcp_check(const mpx_mptcp_opt *o, uint8_t tcp_flags, size_t off, mpx_viols *vs);

/* Length the encoder will produce for o (0 if o is not encodable). */
size_t mpx_mptcp_encoded_len(const mpx_mptcp_opt *o);
/* Encodes o (kind, length computed from the fields, subtype data). For MP_CAPABLE the
 * fields has_snd_key/has_rcv_key/has_dll/has_csum choose the form; for MP_JOIN the form; for
 * DSS the has_* fields (flags recomputed, F from fin); ADD_ADDR from family/has_port/echo/
 * has_hmac; REMOVE_ADDR from n/ids; unknown subtypes from raw/len. Returns 0, or -1 when
 * the struct is not encodable or w overflowed. */
int mpx_mptcp_encode(const mpx_mptcp_opt *o, mpx_wr *w);

/* Names for printers: "MP_CAPABLE", "MP_JOIN", "DSS", ..., "MP_EXPERIMENTAL",
 * "unassigned" for 0x9..0xe. tcpdump-style short names: "capable", "join", "dss",
 * "add-addr", "remove-addr", "prio", "fail", "fast-close", "tcprst", "exp", "unknown". */
const char *mpx_mptcp_subtype_name(uint8_t subtype);
const char *mpx_mptcp_subtype_short(uint8_t subtype);
/* "unspecified", "mptcp_error", "resources", "admin_prohibited", "outstanding_data",
 * "unacceptable_performance", "middlebox_interference", "unknown". */
const char *mpx_mptcp_tcprst_reason_name(uint8_t reason);
/* tcpdump-like one-line text of a decoded option (without the leading "mptcp LEN "). */
int mpx_mptcp_format(const mpx_mptcp_opt *o, char *buf, size_t cap);

/* Key-derived values. v1 (RFC 8684 3.1): SHA-256(key as 8 bytes big-endian); token = most
 * significant 32 bits, IDSN = least significant 64 bits. v0 (RFC 6824): same with SHA-1. */
uint32_t mpx_mptcp_token(uint64_t key, int version);
uint64_t mpx_mptcp_idsn(uint64_t key, int version);

/* MP_JOIN HMAC (RFC 8684 3.2): HMAC(Key=key1||key2, Msg=nonce1||nonce2), keys and nonces
 * big-endian. For the SYN/ACK of host B: key1 = Key-B, key2 = Key-A, nonce1 = R-B,
 * nonce2 = R-A; for the third ACK from A: key1 = Key-A, key2 = Key-B, nonce1 = R-A,
 * nonce2 = R-B. v1 HMAC-SHA256 (32 bytes out), v0 HMAC-SHA1 (20 bytes out). Returns the
 * MAC length written to out (out must hold 32). */
size_t mpx_mptcp_join_hmac(int version, uint64_t key1, uint64_t key2, uint32_t nonce1,
                           uint32_t nonce2, uint8_t out[32]);
/* Leftmost 64 bits, as carried in the SYN/ACK. */
uint64_t mpx_mptcp_join_hmac64(int version, uint64_t key1, uint64_t key2, uint32_t nonce1,
                               uint32_t nonce2);
/* Verify a received MP_JOIN (SYN/ACK: hmac64, ACK: the 20-byte hmac) with the keys/nonces
 * ordered as for mpx_mptcp_join_hmac from the SENDER's point of view. Constant time. */
bool mpx_mptcp_join_verify(int version, const mpx_mp_join *j, uint64_t key1, uint64_t key2,
                           uint32_t nonce1, uint32_t nonce2);

/* DSS checksum (RFC 8684 3.3.1): ones' complement of the ones' complement sum of the
 * pseudo-header {DSN (64, always the full DSN), relative SSN (32), data-level length (16),
 * zeros (16)} and the mapped payload. A mapping often spans several segments, so the payload
 * sum can be built piecewise with mpx_csum_add (pieces in stream order, any lengths).
 * For a received option, compare the result with mpx_mp_dss.csum (or mpx_mp_capable.csum
 * for the 24-byte MP_CAPABLE, whose DSN is the sender's IDSN + 1 and SSN 1). */
typedef struct { uint64_t sum; uint64_t len; } mpx_csum;
void     mpx_csum_init(mpx_csum *c);
void     mpx_csum_add(mpx_csum *c, const uint8_t *p, size_t n);
uint16_t mpx_mptcp_dss_csum_final(const mpx_csum *payload, uint64_t dsn, uint32_t ssn, uint16_t dll);
uint16_t mpx_mptcp_dss_csum(uint64_t dsn, uint32_t ssn, uint16_t dll, const uint8_t *data, size_t n);

/* ADD_ADDR truncated HMAC (RFC 8684 3.4.1): rightmost 64 bits of
 * HMAC-SHA256(Key=key1||key2, Msg=AddrID||Address||Port), port 0 when absent. key1 is the
 * sender's key. */
uint64_t mpx_mptcp_add_addr_hmac(uint64_t key1, uint64_t key2, const mpx_mp_add_addr *a);
#endif
