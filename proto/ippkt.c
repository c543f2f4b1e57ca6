/* IPv4/IPv6 + TCP headers of one packet. See ippkt.h. */
#include "proto/ippkt.h"

const uint8_t mpx_ipopt_ra[MPX_IPOPT_RA_LEN] = { MPX_IPOPT_RA, MPX_IPOPT_RA_LEN, 0x00, 0x00 };
