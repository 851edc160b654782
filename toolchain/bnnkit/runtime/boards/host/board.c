/* Host board (Linux, the machine's own gcc): wall clock for timing. */
#define _POSIX_C_SOURCE 199309L
#include <stdlib.h>
#include <time.h>

#include "board.h"

void board_init(void) {}

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
    return 0;
}
