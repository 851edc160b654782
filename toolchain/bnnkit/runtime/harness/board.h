/* The board layer: what the harness needs from a target. One folder per board
 * under firmware/boards provides board.c (and start-up code where needed). */
#ifndef BNN_BOARD_H
#define BNN_BOARD_H

#include <stdint.h>

#define BNN_NOINLINE __attribute__((noinline))
#define BNN_BARRIER() __asm__ volatile("" ::: "memory")

void board_init(void);
void board_exit(int code) __attribute__((noreturn));
uint64_t board_time_ns(void);    /* 0 where no usable clock (QEMU's SysTick) */
uint32_t board_stack_used(void); /* stack high-water mark in bytes, 0 if unknown */

/* Stack painting, for the bare-metal boards: paint the 32 KiB below the current
 * frame (sp) once, then the deepest word overwritten since gives the stack's
 * high-water mark, measured from its top. */
#define BOARD_STACK_PAINT 0xA5A5A5A5u
typedef struct {
    uintptr_t top;
    uint32_t *low, *high;
} board_stack_paint;

static inline void board_paint_stack_below(board_stack_paint *s, uintptr_t sp, uintptr_t top)
{
    uint32_t *p;
    s->top = top;
    s->high = (uint32_t *)(sp - 256u);
    s->low = (uint32_t *)(sp - 0x8000u);
    for (p = s->low; p < s->high; p++)
        *p = BOARD_STACK_PAINT;
}

static inline uint32_t board_painted_depth(const board_stack_paint *s)
{
    const uint32_t *p = s->low;
    if (!p)
        return 0;
    while (p < s->high && *p == BOARD_STACK_PAINT)
        p++;
    return (uint32_t)(s->top - (uintptr_t)p);
}

#endif
