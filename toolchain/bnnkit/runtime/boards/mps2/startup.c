/* Start-up for QEMU's MPS2 boards (mps2-an386: Cortex-M4 with FPU; mps2-an385:
 * Cortex-M3, soft float; mps2-an500: Cortex-M7; mps2-an505: Cortex-M33): vector table, the FPU enabled when the build uses
 * it, then newlib's rdimon crt0 (_start), which zeroes .bss, asks the host for
 * the command line by semihosting and calls main. .data is linked straight
 * into RAM: QEMU's ELF loader writes it there. */
#include <stdint.h>

#include "board.h"

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#if defined(__ARM_ARCH_8M_MAIN__)
#define BNN_CORE "Cortex-M33"
#elif defined(__ARM_ARCH_7EM__)
#define BNN_CORE "Cortex-M4/M7"
#else
#define BNN_CORE "Cortex-M3"
#endif

extern uint32_t __stack_top[];
extern void _start(void);

void Reset_Handler(void) __attribute__((noreturn));
void semihost_exit(int code) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));

__attribute__((section(".isr_vector"), used))
static void (*const vector_table[16])(void) = {
    (void (*)(void))__stack_top, Reset_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};

static uint32_t semihost(uint32_t op, uint32_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uint32_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_exit(int code)
{
    /* SYS_EXIT: ADP_Stopped_ApplicationExit (QEMU exits 0) or RunTimeErrorUnknown (1) */
    semihost(0x18u, code == 0 ? 0x20026u : 0x20023u);
    for (;;) {
    }
}

void Fault_Handler(void)
{
    semihost(0x04u, (uint32_t)"bnnkit: hard fault on the " BNN_CORE "\n"); /* SYS_WRITE0 */
    semihost_exit(2);
}

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    CPACR |= 0xFu << 20; /* CP10 and CP11 full access: the FPU (hard-float builds) */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    _start();
    semihost_exit(1);
}

/* rdimon's crt0 puts the stack where the host's SYS_HEAPINFO says, so ask the
 * same question to know the stack's top; paint below the current frame. */
static board_stack_paint paint;

void board_paint_stack(void)
{
    uint32_t block[4] = {0, 0, 0, 0}; /* heap base, heap limit, stack base, stack limit */
    uint32_t *argp = block;
    uint32_t sp;
    semihost(0x16u, (uint32_t)&argp); /* SYS_HEAPINFO */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    board_paint_stack_below(&paint, sp, block[2] ? block[2] : sp);
}

uint32_t board_stack_used(void)
{
    return board_painted_depth(&paint);
}
