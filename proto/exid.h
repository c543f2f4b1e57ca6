/* The lab's RFC 6994 experimental TCP option: kind 253 with the 16-bit ExID 0x4D50 ("MP",
 * not IANA-registered: lab use only). It carries MP_PREFER_PROXY / MP_CONVERT when they
 * cannot be a second kind-30 option (a BPF program cannot add one next to MPTCP's own).
 *
 * Layout: FD | LEN | 4D 50 | body, body = the kind-30 option's bytes after kind and length,
 * so LEN = kind-30 length + 2: MP_PREFER_PROXY is FD 06 4D 50 E0 00, MP_CONVERT (-09,
 * IPv4+port) FD 0C 4D 50 E0 06 a.a.a.a pp.
 *
 * The macros need no libc: agents/optd/bpf/optexp.bpf.c includes this header. */
#ifndef MPX_PROTO_EXID_H
#define MPX_PROTO_EXID_H

#define MPX_EXP253_KIND    253
#define MPX_EXP253_EXID    0x4d50
#define MPX_EXP253_EXID_HI 0x4d
#define MPX_EXP253_EXID_LO 0x50
#define MPX_EXP253_HDR     4     /* kind, length, ExID */
#define MPX_EXP253_MAX     39    /* longest option a SYN can hold next to nothing else */
/* kind-30 option length -> the kind-253 length carrying the same body */
#define MPX_EXP253_LEN(len30) ((len30) + 2)

#ifndef __bpf__
#include <stddef.h>
#include <stdint.h>
#include "proto/buf.h"
/* Writes the kind-253 form of the kind-30 option opt30[0..len30) (kind 30, its length byte,
 * body). Returns 0, or -1 when opt30 is not a well-formed kind-30 option or w overflowed. */
int mpx_exp253_wrap(const uint8_t *opt30, size_t len30, mpx_wr *w);
#endif
#endif
