/* Board support for QEMU's RISC-V 'virt' machine (qemu-system-riscv32 -M virt
 * -bios none): picolibc's semihosting crt0 starts main with the command line
 * from QEMU's -semihosting-config, stdio and exit go through semihosting, and
 * its default linker script places code and constants from 0x80000000 and
 * data above them (the Makefile says where). No clock: QEMU models none. */
#include <stdint.h>
#include <stdlib.h>

#include "board.h"

#define STACK_PAINT 0xA5A5A5A5u
#define STACK_PAINT_BYTES 0x8000u

static uint32_t stack_top;
static uint32_t *paint_low, *paint_high;

/* Paint the stack below the current frame; board_stack_used finds the
 * deepest word overwritten since. */
void board_init(void)
{
    uint32_t sp, *p;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    stack_top = sp;
    paint_high = (uint32_t *)(sp - 256u);
    paint_low = (uint32_t *)(sp - STACK_PAINT_BYTES);
    for (p = paint_low; p < paint_high; p++)
        *p = STACK_PAINT;
}

void board_exit(int code)
{
    exit(code); /* picolibc's semihosting exit: QEMU exits with the code */
}

uint64_t board_time_ns(void)
{
    return 0;
}

uint32_t board_stack_used(void)
{
    const uint32_t *p = paint_low;
    if (!p)
        return 0;
    while (p < paint_high && *p == STACK_PAINT)
        p++;
    return stack_top - (uint32_t)p;
}
