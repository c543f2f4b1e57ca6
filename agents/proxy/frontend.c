/* The front-end table. Each entry lives in its front-end's own file; this list only fixes
 * the order, which is the order of the per-front-end keys in the stats JSON (kept from the
 * first version: consumers that print the object as it comes see the same columns). A new
 * front-end is a new file with its entry plus one line here. */
#include <string.h>
#include "agents/proxy/proxy.h"

extern const struct proxy_frontend fe_convert, fe_convert_tfo, fe_mpconvert, fe_mpconvert_ie,
    fe_socks5, fe_transparent, fe_mpconvert_opt;

const struct proxy_frontend *const proxy_frontends[] = {
    &fe_convert, &fe_mpconvert, &fe_mpconvert_ie, &fe_socks5, &fe_transparent,
    &fe_convert_tfo, &fe_mpconvert_opt,
};

#define N_FE ((int)(sizeof proxy_frontends / sizeof proxy_frontends[0]))
_Static_assert(N_FE <= PROXY_FE_MAX, "raise PROXY_FE_MAX");
const int proxy_n_frontends = N_FE;

int proxy_frontend_find(const char *name)
{
    for (int i = 0; name && i < N_FE; i++)
        if (!strcmp(proxy_frontends[i]->name, name)) return i;
    return -1;
}
