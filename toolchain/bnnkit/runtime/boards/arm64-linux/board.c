/* ARM64 Linux board: a static binary run under qemu-aarch64. Wall clock for
 * timing (emulated time is not device time: the instruction count is the
 * performance figure); stack use is measured by painting below main's frame. */
#define _POSIX_C_SOURCE 199309L
#include <stdlib.h>
#include <time.h>

#include "board.h"

#define STACK_PAINT 0xA5A5A5A5u
#define STACK_PAINT_WORDS 16384 /* 64 KiB below main's frame */

static uintptr_t stack_top;
static volatile uint32_t *paint_low;

static BNN_NOINLINE void paint(void)
{
    volatile uint32_t *p;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    paint_low = (volatile uint32_t *)(sp - 1024u - 4u * STACK_PAINT_WORDS);
    for (p = paint_low; p < (volatile uint32_t *)(sp - 1024u); p++)
        *p = STACK_PAINT;
}

void board_init(void)
{
    stack_top = (uintptr_t)__builtin_frame_address(0);
    paint();
}

void board_exit(int code)
{
    exit(code);
}

uint64_t board_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t board_stack_used(void)
{
    volatile uint32_t *p = paint_low;
    if (!p)
        return 0;
    while (*p == STACK_PAINT)
        p++;
    return (uint32_t)(stack_top - (uintptr_t)p);
}
