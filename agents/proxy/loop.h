#ifndef MPX_AGENTS_PROXY_LOOP_H
#define MPX_AGENTS_PROXY_LOOP_H
#include <stdbool.h>
#include <stdint.h>
struct ev;
struct loop_handlers {
    void (*on_event)(struct ev *e, uint32_t events);
    void (*after)(void);      /* after each batch (drain check) */
    int tick_ms;              /* wake at least this often (0 = only for timers) */
};
int  loop_init(void);
void loop_run(const struct loop_handlers *h, volatile bool *stop);
#endif
