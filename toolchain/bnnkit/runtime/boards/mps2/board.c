/* MPS2 board layer (mps2-an385, mps2-an386): newlib + semihosting for files and exit. QEMU's
 * SysTick does not count usefully, so there is no clock: performance on this
 * target is the instruction count QEMU reports. */
#include <stdio.h>

#include "board.h"

void semihost_exit(int code) __attribute__((noreturn));

void board_paint_stack(void);

void board_init(void)
{
    board_paint_stack();
}

void board_exit(int code)
{
    fflush(stdout);
    semihost_exit(code);
}

uint64_t board_time_ns(void)
{
    return 0;
}
