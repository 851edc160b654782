/* Float depthwise convolution (semantics in bnn_depthwise_conv2d_f32.h).
 *
 * The sum of every output keeps TFLite's order (bias, then the inside taps in
 * (ky, kx) order, multiply and add rounded separately); only the order in
 * which outputs are computed differs. Channels are innermost: with a depth
 * multiplier of 1, BLOCK channels of one output position are accumulated in
 * locals over all its taps (contiguous input and filter rows, a loop compilers
 * vectorize without reordering any sum), then clamped and stored once. Other
 * multipliers, and the last channels that do not fill a block, accumulate in
 * the output itself, tap by tap. The taps inside the image are found per
 * position, so no padded copy is made and nothing outside `in` is read. */
#include <float.h>
#include <string.h>

#include "bnn_depthwise_conv2d_f32.h"

#define BLOCK 8 /* the eight named accumulators a0..a7 */

/* The inside taps of the current position in (ky, kx) order, from channel c0:
 * `x` the input's and `w` the filter's first float of the tap for MAC. */
#define DW_FOR_EACH_TAP(MAC)                                                                  \
    for (ky = ky0; ky < ky1; ky++) {                                                          \
        const float *xr = in + (y0 + ky * p->dilation_h) * in_row + c0;                       \
        const float *wr = weights + ky * w_row + c0;                                          \
        for (kx = kx0; kx < kx1; kx++) {                                                      \
            const float *x = xr + (x0 + kx * p->dilation_w) * p->in_c;                        \
            const float *w = wr + kx * oc;                                                    \
            MAC;                                                                              \
        }                                                                                     \
    }

#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(BNN_NO_NEON)
#include <arm_neon.h>
#define DW_NEON 1
/* acc = acc + x * w on four channels: a multiply, then an add (no FMLA) */
#define DW_MAC4(acc, i) acc = vaddq_f32(acc, vmulq_f32(vld1q_f32(x + (i)), vld1q_f32(w + (i))))
#else
#define DW_NEON 0
#endif

/* Arm cores with a single-precision FPU (Cortex-M4F/M7/M33): sixteen channels'
 * taps in assembly, because gcc loads one float per instruction. VLDM loads
 * eight inputs and eight weights at once, and VMLA (not VFMA) rounds the
 * product before it adds, so each sum is the C loop's acc + x * w. */
#if defined(__arm__) && defined(__ARM_FP) && ((__ARM_FP) & 4) && !defined(BNN_NO_ASM)
#define DW_VFP_ASM 1

typedef struct {
    int32_t taps;       /* inside taps per kernel row */
    int32_t x_next_row; /* bytes from past a row's last tap to the next row's first */
    int32_t w_next_row;
    const float *bias;
    float *dst;
} dw_vfp_args;

/* dst[0..16) = bias[0..16) + the taps of one position, in (ky, kx) order.
 * Registers: accumulators s0..s15, eight inputs s16..s23, eight weights s24..s31. */
static void dw_taps16(const float *x, const float *w, int32_t rows, int32_t x_step,
                      int32_t w_step, const dw_vfp_args *args)
{
    int32_t n;
    __asm__ volatile(
        "ldr %[n], [%[args], #12]\n\t"
        "vldm %[n], {s0-s15}\n\t"
        "1:\n\t" /* kernel row */
        "ldr %[n], [%[args], #0]\n"
        "2:\n\t" /* one tap: channels 0..7, then 8..15 */
        "vldmia %[x]!, {s16-s23}\n\t"
        "vldmia %[w]!, {s24-s31}\n\t"
        "vmla.f32 s0, s16, s24\n\t vmla.f32 s1, s17, s25\n\t"
        "vmla.f32 s2, s18, s26\n\t vmla.f32 s3, s19, s27\n\t"
        "vmla.f32 s4, s20, s28\n\t vmla.f32 s5, s21, s29\n\t"
        "vmla.f32 s6, s22, s30\n\t vmla.f32 s7, s23, s31\n\t"
        "vldmia %[x]!, {s16-s23}\n\t"
        "vldmia %[w]!, {s24-s31}\n\t"
        "vmla.f32 s8, s16, s24\n\t vmla.f32 s9, s17, s25\n\t"
        "vmla.f32 s10, s18, s26\n\t vmla.f32 s11, s19, s27\n\t"
        "vmla.f32 s12, s20, s28\n\t vmla.f32 s13, s21, s29\n\t"
        "vmla.f32 s14, s22, s30\n\t vmla.f32 s15, s23, s31\n\t"
        "add %[x], %[x], %[x_step]\n\t"
        "add %[w], %[w], %[w_step]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 2b\n\t"
        "ldr %[n], [%[args], #4]\n\t"
        "add %[x], %[x], %[n]\n\t"
        "ldr %[n], [%[args], #8]\n\t"
        "add %[w], %[w], %[n]\n\t"
        "subs %[rows], %[rows], #1\n\t"
        "bne 1b\n\t"
        "ldr %[n], [%[args], #16]\n\t"
        "vstm %[n], {s0-s15}\n\t"
        : [x] "+r"(x), [w] "+r"(w), [rows] "+r"(rows), [n] "=&r"(n)
        : [x_step] "r"(x_step), [w_step] "r"(w_step), [args] "r"(args)
        : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12",
          "s13", "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24",
          "s25", "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory");
}
#else
#define DW_VFP_ASM 0
#endif

/* TFLite's ActivationFunctionWithMinMax: min(max(v, lo), hi); NaN stays NaN. */
static float clamp(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return hi < v ? hi : v;
}

/* clamp() over n finished outputs. On 32-bit cores (no float vectors),
 * under NONE and RELU (hi = FLT_MAX) it is decided on the bits, one unsigned
 * compare for every positive finite value: +inf becomes FLT_MAX, -inf
 * -FLT_MAX (NONE), and RELU sends every negative value below -0.0 to +0.0
 * (-0.0 and NaN stay, as clamp() leaves them). Elsewhere the compilers
 * vectorise clamp() itself. */
#if defined(__arm__) || defined(__riscv) || defined(BNN_CLAMP_ON_BITS)
#define DW_CLAMP_ON_BITS 1
#else
#define DW_CLAMP_ON_BITS 0
#endif
static void clamp_outputs(float *dst, int32_t n, int32_t act, float lo, float hi)
{
    int32_t j;
    if (!DW_CLAMP_ON_BITS || (act != BNN_DW_ACT_NONE && act != BNN_DW_ACT_RELU)) {
        for (j = 0; j < n; j++)
            dst[j] = clamp(dst[j], lo, hi);
        return;
    }
    for (j = 0; j < n; j++) {
        uint32_t u;
        memcpy(&u, dst + j, sizeof u);
        if (u < 0x7F800000u) /* +0.0 up to FLT_MAX */
            continue;
        if (u == 0x7F800000u) /* +inf */
            u = 0x7F7FFFFFu;
        else if (act == BNN_DW_ACT_RELU && u > 0x80000000u && u <= 0xFF800000u)
            u = 0u; /* below -0.0, -inf included */
        else if (u == 0xFF800000u) /* -inf under NONE */
            u = 0xFF7FFFFFu;
        memcpy(dst + j, &u, sizeof u);
    }
}

void bnn_depthwise_conv2d_f32(const bnn_depthwise_conv2d_params *p, const float *in,
                              const float *weights, const float *bias, float *out)
{
    const int32_t dm = p->depth_multiplier;
    const int32_t oc = p->in_c * dm;
    const int32_t w_row = p->k_w * oc;     /* filter floats per ky */
    const int32_t in_row = p->in_w * p->in_c; /* input floats per row */
    /* channels done in register blocks; the rest go through the output */
    const int32_t blocked = dm == 1 ? oc / BLOCK * BLOCK : 0;
    float lo = -FLT_MAX, hi = FLT_MAX;
    int32_t oy, ox, ky, kx, ky0, ky1, kx0, kx1, c0, c, m, j;
    if (p->act == BNN_DW_ACT_RELU || p->act == BNN_DW_ACT_RELU6)
        lo = 0.0f;
    if (p->act == BNN_DW_ACT_RELU6)
        hi = 6.0f;
    if (p->act == BNN_DW_ACT_RELU_N1_TO_1) {
        lo = -1.0f;
        hi = 1.0f;
    }
    for (oy = 0; oy < p->out_h; oy++) {
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        bnn_inside_taps(y0, p->dilation_h, p->k_h, p->in_h, &ky0, &ky1);
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            float *dst = out + (oy * p->out_w + ox) * oc;
            bnn_inside_taps(x0, p->dilation_w, p->k_w, p->in_w, &kx0, &kx1);
            c0 = 0;
#if DW_NEON
            /* arm64: sixteen channels in four vector accumulators, the same sums */
            for (; c0 + 16 <= blocked; c0 += 16) {
                float32x4_t a0 = vld1q_f32(bias + c0), a1 = vld1q_f32(bias + c0 + 4),
                            a2 = vld1q_f32(bias + c0 + 8), a3 = vld1q_f32(bias + c0 + 12);
                DW_FOR_EACH_TAP((DW_MAC4(a0, 0), DW_MAC4(a1, 4), DW_MAC4(a2, 8), DW_MAC4(a3, 12)))
                vst1q_f32(dst + c0, a0);
                vst1q_f32(dst + c0 + 4, a1);
                vst1q_f32(dst + c0 + 8, a2);
                vst1q_f32(dst + c0 + 12, a3);
            }
#endif
#if DW_VFP_ASM
            if (ky1 > ky0 && kx1 > kx0) {
                /* steps in bytes; the x and w pointers have moved 64 bytes per tap */
                const int32_t taps = kx1 - kx0, x_tap = p->dilation_w * p->in_c * 4,
                              w_tap = oc * 4;
                for (; c0 + 16 <= blocked; c0 += 16) {
                    const dw_vfp_args args = {
                        taps, p->dilation_h * in_row * 4 - taps * x_tap,
                        w_row * 4 - taps * w_tap, bias + c0, dst + c0};
                    dw_taps16(in + (y0 + ky0 * p->dilation_h) * in_row +
                                  (x0 + kx0 * p->dilation_w) * p->in_c + c0,
                              weights + ky0 * w_row + kx0 * oc + c0, ky1 - ky0, x_tap - 64,
                              w_tap - 64, &args);
                }
            }
#endif
            for (; c0 < blocked; c0 += BLOCK) {
                /* named accumulators: locals the compiler keeps in registers */
                float a0 = bias[c0], a1 = bias[c0 + 1], a2 = bias[c0 + 2], a3 = bias[c0 + 3];
                float a4 = bias[c0 + 4], a5 = bias[c0 + 5], a6 = bias[c0 + 6], a7 = bias[c0 + 7];
                DW_FOR_EACH_TAP((a0 = a0 + x[0] * w[0], a1 = a1 + x[1] * w[1],
                                 a2 = a2 + x[2] * w[2], a3 = a3 + x[3] * w[3],
                                 a4 = a4 + x[4] * w[4], a5 = a5 + x[5] * w[5],
                                 a6 = a6 + x[6] * w[6], a7 = a7 + x[7] * w[7]))
                dst[c0] = a0;
                dst[c0 + 1] = a1;
                dst[c0 + 2] = a2;
                dst[c0 + 3] = a3;
                dst[c0 + 4] = a4;
                dst[c0 + 5] = a5;
                dst[c0 + 6] = a6;
                dst[c0 + 7] = a7;
            }
            if (blocked < oc) {
                /* output channels blocked.. (input channels blocked / dm ..) */
                for (j = blocked; j < oc; j++)
                    dst[j] = bias[j];
                for (ky = ky0; ky < ky1; ky++) {
                    const float *xr = in + (y0 + ky * p->dilation_h) * in_row;
                    const float *wr = weights + ky * w_row;
                    for (kx = kx0; kx < kx1; kx++) {
                        const float *x = xr + (x0 + kx * p->dilation_w) * p->in_c;
                        const float *w = wr + kx * oc;
                        if (dm == 1) {
                            for (j = blocked; j < oc; j++)
                                dst[j] = dst[j] + x[j] * w[j];
                        } else {
                            for (c = blocked / dm; c < p->in_c; c++) {
                                const float xv = x[c];
                                float *d = dst + c * dm;
                                const float *wc = w + c * dm;
                                for (m = 0; m < dm; m++)
                                    d[m] = d[m] + xv * wc[m];
                            }
                        }
                    }
                }
            }
            clamp_outputs(dst, oc, p->act, lo, hi);
        }
    }
}
