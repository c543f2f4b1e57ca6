/* The event loop: one epoll set, a binary min-heap of per-connection deadlines (one
 * pending timer per connection), signals through signalfd. Connections use edge-triggered
 * epoll and remember readiness themselves; listeners are level-triggered so a bounded
 * accept batch never loses a wake-up. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "agents/proxy/proxy.h"
#include "agents/proxy/loop.h"

static int epfd = -1;
static struct conn **heap;
static size_t hn, hcap;

int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int loop_init(void)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    return epfd < 0 ? -1 : 0;
}

int loop_add(int fd, struct ev *e, uint32_t events)
{
    struct epoll_event ee = { .events = events, .data.ptr = e };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee);
}

void loop_del(int fd)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int loop_mod(int fd, struct ev *e, uint32_t events)
{
    struct epoll_event ee = { .events = events, .data.ptr = e };
    return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ee);
}

/* ---- timer heap ---- */
static void hswap(size_t i, size_t j)
{
    struct conn *t = heap[i]; heap[i] = heap[j]; heap[j] = t;
    heap[i]->hidx = (long)i; heap[j]->hidx = (long)j;
}
static void hup(size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (heap[p]->deadline <= heap[i]->deadline) break;
        hswap(i, p); i = p;
    }
}
static void hdown(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < hn && heap[l]->deadline < heap[m]->deadline) m = l;
        if (r < hn && heap[r]->deadline < heap[m]->deadline) m = r;
        if (m == i) break;
        hswap(i, m); i = m;
    }
}

void timer_clear(struct conn *c)
{
    if (c->hidx < 0) return;
    size_t i = (size_t)c->hidx;
    c->hidx = -1; c->tkind = T_NONE;
    hn--;
    if (i != hn) {
        heap[i] = heap[hn]; heap[i]->hidx = (long)i;
        hup(i); hdown((size_t)heap[i]->hidx);
    }
}

void timer_set(struct conn *c, int64_t at_us, int kind)
{
    timer_clear(c);
    if (hn == hcap) {
        size_t nc = hcap ? hcap * 2 : 1024;
        struct conn **nh = realloc(heap, nc * sizeof *nh);
        if (!nh) { plog(0, "timer heap: out of memory"); abort(); }
        heap = nh; hcap = nc;
    }
    c->deadline = at_us; c->tkind = kind; c->hidx = (long)hn;
    heap[hn++] = c;
    hup(hn - 1);
}

/* Runs until *stop; handlers dispatch by ev kind. */
void loop_run(const struct loop_handlers *h, volatile bool *stop)
{
    struct epoll_event evs[256];
    while (!*stop) {
        int timeout = -1;
        if (hn) {
            int64_t d = heap[0]->deadline - now_us();
            timeout = d <= 0 ? 0 : (int)((d + 999) / 1000);
        }
        if (h->tick_ms > 0 && (timeout < 0 || timeout > h->tick_ms)) timeout = h->tick_ms;
        int n = epoll_wait(epfd, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            plog(0, "epoll_wait: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            struct ev *e = evs[i].data.ptr;
            h->on_event(e, evs[i].events);
        }
        int64_t t = now_us();
        while (hn && heap[0]->deadline <= t) {
            struct conn *c = heap[0];
            int kind = c->tkind;
            timer_clear(c);
            conn_on_timer(c, kind);
        }
        if (h->after) h->after();
    }
}
