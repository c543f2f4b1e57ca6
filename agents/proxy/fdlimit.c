/* Spare descriptors for the fd limit. accept() failing with EMFILE leaves the connection in
 * the kernel's queue and the listener readable: without a spare the proxy can neither take
 * it off the queue to answer nor open the stats file. Two spares (/dev/null): one to accept
 * and answer a connection (Error 64 / SOCKS REP 1), one for the stats writer. */
#include <fcntl.h>
#include <unistd.h>
#include "agents/proxy/proxy.h"

static int spare[FDRES_N] = { -1, -1 };
void (*fdres_on_restore)(void);

static int open_spare(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

void fdres_init(void)
{
    for (int i = 0; i < FDRES_N; i++)
        if (spare[i] < 0) spare[i] = open_spare();
}

bool fdres_release(int which)
{
    if (which < 0 || which >= FDRES_N || spare[which] < 0) return false;
    close(spare[which]);
    spare[which] = -1;
    return true;
}

void fdres_restore(void)
{
    for (int i = 0; i < FDRES_N; i++) {
        if (spare[i] >= 0) continue;
        spare[i] = open_spare();
        if (spare[i] < 0) return;  /* still at the limit: try again at the next close */
    }
    if (fdres_on_restore) fdres_on_restore();  /* main.c: resumes accepting if it had paused */
}
