/* Board support for QEMU's RISC-V 'virt' machine (qemu-system-riscv32 -M virt
 * -bios none): picolibc's semihosting crt0 starts main with the command line
 * from QEMU's -semihosting-config, stdio and exit go through semihosting, and
 * its default linker script places code and constants from 0x80000000 and
 * data above them (the Makefile says where). No clock: QEMU models none. */
#include <stdint.h>
#include <stdlib.h>

#include "board.h"

static board_stack_paint paint;

void board_init(void)
{
    uint32_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    board_paint_stack_below(&paint, sp, sp);
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
    return board_painted_depth(&paint);
}
