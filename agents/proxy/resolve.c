/* SOCKS5 domain names: getaddrinfo() blocks, so it runs on a small pool of helper threads.
 * The loop hands a request over (mutex + condition variable) and gets the finished request
 * back as a pointer written into a pipe that epoll watches. A connection closed meanwhile
 * marks its request cancelled; the loop frees it when it comes back. Names resolve as the
 * system does (/etc/hosts, then DNS per nsswitch.conf): a slow DNS server delays only other
 * name lookups (at most RESOLVER_THREADS at a time), never the relay. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agents/proxy/proxy.h"

#define RESOLVER_THREADS 2

struct resolve_req {
    struct resolve_req *next;
    struct conn *c;
    bool cancelled;
    char name[256];
    uint16_t port;
    int rc;
    mpx_addr result;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct resolve_req *qhead, *qtail;
static int done_pipe[2] = { -1, -1 };
static struct ev rev = { EV_RESOLVER, -1 };
static bool started;

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!qhead) pthread_cond_wait(&cv, &mu);
        struct resolve_req *r = qhead;
        qhead = r->next;
        if (!qhead) qtail = NULL;
        pthread_mutex_unlock(&mu);
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
                                  .ai_flags = AI_ADDRCONFIG }, *res = NULL;
        r->rc = getaddrinfo(r->name, NULL, &hints, &res);
        if (r->rc == 0 && res) {
            mpx_addr_from_sockaddr(res->ai_addr, res->ai_addrlen, &r->result);
            r->result.port = r->port;
        } else if (r->rc == 0) r->rc = EAI_NONAME;
        if (res) freeaddrinfo(res);
        ssize_t w;
        do w = write(done_pipe[1], &r, sizeof r); while (w < 0 && errno == EINTR);
    }
    return NULL;
}

int resolver_start(void)
{
    if (started) return 0;
    if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
    /* the write end blocks: a worker must never drop a finished request */
    fcntl(done_pipe[1], F_SETFL, 0);
    rev.fd = done_pipe[0];
    if (loop_add(done_pipe[0], &rev, EPOLLIN) < 0) return -1;
    for (int i = 0; i < RESOLVER_THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) return -1;
        pthread_detach(t);
    }
    started = true;
    return 0;
}

int resolver_fd(void) { return done_pipe[0]; }

int resolve_submit(struct conn *c, const char *name, uint16_t port)
{
    if (cfg.no_resolver) return -1;   /* the fuzz target: no DNS, no threads */
    if (!started && resolver_start() < 0) return -1;
    struct resolve_req *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->c = c;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->port = port;
    c->rreq = r;
    st.resolves++;
    pthread_mutex_lock(&mu);
    if (qtail) qtail->next = r; else qhead = r;
    qtail = r;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

void resolve_cancel(struct conn *c)
{
    if (c->rreq) { c->rreq->cancelled = true; c->rreq->c = NULL; c->rreq = NULL; }
}

void resolve_on_event(void)
{
    struct resolve_req *r;
    for (;;) {
        ssize_t n = read(done_pipe[0], &r, sizeof r);
        if (n != (ssize_t)sizeof r) return;
        if (r->cancelled || !r->c) { free(r); continue; }
        struct conn *c = r->c;
        c->rreq = NULL;
        if (r->rc != 0) {
            LOGV("conn %llu resolve %s: %s", (unsigned long long)c->id, r->name, gai_strerror(r->rc));
            conn_fail(c, 97, 1, "name not resolved");
        } else {
            c->target = r->result;
            c->state = CS_HEADER;
            conn_target_ready(c);
        }
        free(r);
    }
}
