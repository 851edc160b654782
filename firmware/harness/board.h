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

#endif
