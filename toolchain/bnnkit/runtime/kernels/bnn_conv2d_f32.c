/* Float 2-D convolution, TFLite CONV_2D semantics (NHWC input), bit-exact with
 * the optimized float conv that LCE's interpreter runs (im2col + GEMM): each
 * output starts from its bias and adds the taps in (ky, kx, ic) order with one
 * fused multiply-add each. A tap in the zero padding adds 0 * w, which changes
 * nothing, so it is the same sum as over the taps inside the image. Then ReLU,
 * then an optional fused non-overlapping max pool: the conv map never exists.
 *
 * Speed without reordering any sum: one chain of dependent FMAs is bound by
 * their latency, so BNN_CONV_GROUP conv positions are computed together (that
 * many independent chains per output channel), each over a block of output
 * channels held in registers, and every weight loaded serves all of them.
 * A group is as many whole pool windows side by side as fit (two 2x2 windows),
 * a part of one larger window, or a run along a row when there is no pooling;
 * GROUP is 8 (4 on Cortex-M, see below). A group whose input window
 * crosses the image border is first copied into `scratch` with zeros outside,
 * so the inner loop never tests bounds. Weights are HWIO (bnnkit transposes
 * TFLite's OHWI) with O and the bias zero-padded to BNN_CONV_PADDED_OC. */
#include <math.h>

#include "bnn_kernels.h"

/* Cortex-M (one FPU of 32 single registers, no SIMD): 4 positions x 4 output
 * channels in 16 named locals, the rest of the register file for the 4 inputs and
 * 4 weights of a tap; one flat loop per kernel row, since a row's (kx, ic) taps
 * are contiguous in the input and in the weights. On aarch64 (NEON) with no pool
 * or a 2x2 pool: intrinsics, see conv_neon. Elsewhere (SIMD hosts):
 * 8 positions x 8 or 16 channels in arrays the compiler vectorizes. Either way
 * each output is its bias then one fmaf per tap in (ky, kx, ic) order: the same
 * bits whatever the blocking. */
#if BNN_SMALL_CORE
#define CONV_SMALL_CORE 1
#define GROUP 4
#else
#define CONV_SMALL_CORE 0
#define GROUP BNN_CONV_GROUP
#endif

/* Input window of a group: `pos[i]` is tap (0, 0), channel 0 of position i. */
typedef struct {
    const float *pos[GROUP];
    int32_t row_stride; /* floats from one input row to the next */
} conv_window;

/* One FMA per (position, channel) for a tap: GROUP x BLOCK independent chains. */
#define CONV_TAP(BLOCK)                                                                       \
    for (o = 0; o < BLOCK; o++) {                                                             \
        a0[o] = fmaf(x0[t], wr[o], a0[o]);                                                    \
        a1[o] = fmaf(x1[t], wr[o], a1[o]);                                                    \
        a2[o] = fmaf(x2[t], wr[o], a2[o]);                                                    \
        a3[o] = fmaf(x3[t], wr[o], a3[o]);                                                    \
        a4[o] = fmaf(x4[t], wr[o], a4[o]);                                                    \
        a5[o] = fmaf(x5[t], wr[o], a5[o]);                                                    \
        a6[o] = fmaf(x6[t], wr[o], a6[o]);                                                    \
        a7[o] = fmaf(x7[t], wr[o], a7[o]);                                                    \
    }

#define DEFINE_CONV_GROUP(BLOCK)                                                              \
    static void conv_group##BLOCK(const bnn_conv2d_params *p, const conv_window *win,        \
                                  const float *w, const float *bias,                         \
                                  float result[GROUP][BNN_CONV_MAX_BLOCK])                   \
    {                                                                                         \
        /* named accumulators: locals the compiler keeps in registers */                      \
        float a0[BLOCK], a1[BLOCK], a2[BLOCK], a3[BLOCK];                                     \
        float a4[BLOCK], a5[BLOCK], a6[BLOCK], a7[BLOCK];                                     \
        const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);                               \
        const int32_t row_taps = p->k_w * p->in_c; /* contiguous in input and weights */      \
        int32_t ky, t, o;                                                                     \
        for (o = 0; o < BLOCK; o++)                                                           \
            a0[o] = a1[o] = a2[o] = a3[o] = a4[o] = a5[o] = a6[o] = a7[o] = bias[o];          \
        for (ky = 0; ky < p->k_h; ky++) {                                                     \
            const int32_t row = ky * win->row_stride;                                         \
            const float *x0 = win->pos[0] + row, *x1 = win->pos[1] + row;                     \
            const float *x2 = win->pos[2] + row, *x3 = win->pos[3] + row;                     \
            const float *x4 = win->pos[4] + row, *x5 = win->pos[5] + row;                     \
            const float *x6 = win->pos[6] + row, *x7 = win->pos[7] + row;                     \
            const float *wr = w + ky * row_taps * oc_stride;                                  \
            for (t = 0; t < row_taps; t++, wr += oc_stride) {                                 \
                CONV_TAP(BLOCK)                                                               \
            }                                                                                 \
        }                                                                                     \
        if (p->relu)                                                                          \
            for (o = 0; o < BLOCK; o++) {                                                     \
                a0[o] = a0[o] < 0.0f ? 0.0f : a0[o];                                          \
                a1[o] = a1[o] < 0.0f ? 0.0f : a1[o];                                          \
                a2[o] = a2[o] < 0.0f ? 0.0f : a2[o];                                          \
                a3[o] = a3[o] < 0.0f ? 0.0f : a3[o];                                          \
                a4[o] = a4[o] < 0.0f ? 0.0f : a4[o];                                          \
                a5[o] = a5[o] < 0.0f ? 0.0f : a5[o];                                          \
                a6[o] = a6[o] < 0.0f ? 0.0f : a6[o];                                          \
                a7[o] = a7[o] < 0.0f ? 0.0f : a7[o];                                          \
            }                                                                                 \
        for (o = 0; o < BLOCK; o++) {                                                         \
            result[0][o] = a0[o];                                                             \
            result[1][o] = a1[o];                                                             \
            result[2][o] = a2[o];                                                             \
            result[3][o] = a3[o];                                                             \
            result[4][o] = a4[o];                                                             \
            result[5][o] = a5[o];                                                             \
            result[6][o] = a6[o];                                                             \
            result[7][o] = a7[o];                                                             \
        }                                                                                     \
    }

static void conv_prepare(const bnn_conv2d_params *p, const float *in, const int32_t *cy,
                         const int32_t *cx, float *scratch, conv_window *win);

/* Arm cores with a single-precision FPU and VFMA (Cortex-M4F/M7/M33): the tap
 * loops in assembly, because gcc and clang load one float per instruction and
 * keep loop state in memory. VLDM loads a tap's 4 or 6 weights and a position's
 * next taps in one instruction each, all accumulators stay in s0..s23, and each
 * output still gets its bias then one VFMA (the fmaf of the C loop) per tap in
 * (ky, kx, ic) order: the same bits as the C path, which the host tests check
 * (-DBNN_SMALL_CORE=1) and the emulator tests compare with LCE. */
#if CONV_SMALL_CORE && defined(__arm__) && defined(__ARM_FP) && ((__ARM_FP) & 4) &&          \
    defined(__ARM_FEATURE_FMA) && !defined(BNN_NO_ASM)
#define CONV_VFP_ASM 1

/* Loop constants the assembly reads from memory (registers are scarce). */
typedef struct {
    int32_t steps;  /* taps per kernel row (4x6), or tap pairs (4x4) */
    int32_t odd;    /* 4x4: 1 when a kernel row has an odd number of taps */
    int32_t x_step; /* bytes from a row's last tap + 1 to the next row's first */
    float *acc;
} conv_vfp_args;

#define VFMA(a, x, w) VFMA_(a, x, w)
#define VFMA_(a, x, w) "vfma.f32 s" #a ", s" #x ", s" #w "\n\t"
/* one input tap x times four channels' weights: accumulators a .. a + 3 */
#define VFMA4(a0, a1, a2, a3, x, w) VFMA4_(a0, a1, a2, a3, x, w)
#define VFMA4_(a0, a1, a2, a3, x, w0, w1, w2, w3)                                             \
    VFMA(a0, x, w0) VFMA(a1, x, w1) VFMA(a2, x, w2) VFMA(a3, x, w3)
#define W16 16, 17, 18, 19 /* the first tap's weights */
#define W20 20, 21, 22, 23 /* the second's */

#define VFP_CLOBBERS                                                                          \
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13",   \
        "s14", "s15", "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25",   \
        "s26", "s27", "s28", "s29", "s30", "s31", "cc", "memory"

/* Both loops end so: the four positions' next kernel row, the loop over the
 * rows, then %[n] = the accumulators' address for the final VSTM. */
#define NEXT_ROW_THEN_ACC                                                                     \
    "ldr %[n], [%[args], #8]\n\t"                                                             \
    "add %[x0], %[x0], %[n]\n\t"                                                              \
    "add %[x1], %[x1], %[n]\n\t"                                                              \
    "add %[x2], %[x2], %[n]\n\t"                                                              \
    "add %[x3], %[x3], %[n]\n\t"                                                              \
    "subs %[rows], %[rows], #1\n\t"                                                           \
    "bne 1b\n\t"                                                                              \
    "ldr %[n], [%[args], #12]\n\t"
#define VFP_OPERANDS                                                                          \
    [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [w] "+r"(w), [rows] "+r"(rows), \
        [n] "=&r"(n)                                                                          \
        : [args] "r"(&args), [bias] "r"(bias)                                                 \
        : VFP_CLOBBERS

/* acc[4 * i + o] = bias[o] + the taps of position i for channel o (o < 4).
 * Registers: accumulators s0..s15, the weights of two taps s16..s23, two taps
 * of each position s24..s31. */
static void conv_taps4x4(const bnn_conv2d_params *p, const conv_window *win, const float *w,
                         const float *bias, float acc[16])
{
    const int32_t row_taps = p->k_w * p->in_c;
    const conv_vfp_args args = {row_taps >> 1, row_taps & 1,
                                (win->row_stride - row_taps) * (int32_t)sizeof(float), acc};
    const float *x0 = win->pos[0], *x1 = win->pos[1], *x2 = win->pos[2], *x3 = win->pos[3];
    int32_t rows = p->k_h, n;
    __asm__ volatile(
        "vldm %[bias], {s0-s3}\n\t"
        "vmov.f32 s4, s0\n\t vmov.f32 s5, s1\n\t vmov.f32 s6, s2\n\t vmov.f32 s7, s3\n\t"
        "vmov.f32 s8, s0\n\t vmov.f32 s9, s1\n\t vmov.f32 s10, s2\n\t vmov.f32 s11, s3\n\t"
        "vmov.f32 s12, s0\n\t vmov.f32 s13, s1\n\t vmov.f32 s14, s2\n\t vmov.f32 s15, s3\n\t"
        "1:\n\t" /* kernel row */
        "ldr %[n], [%[args], #0]\n\t"
        "cmp %[n], #0\n\t"
        "beq 3f\n"
        "2:\n\t" /* two taps */
        "vldmia %[w]!, {s16-s23}\n\t"
        "vldmia %[x0]!, {s24-s25}\n\t"
        "vldmia %[x1]!, {s26-s27}\n\t"
        "vldmia %[x2]!, {s28-s29}\n\t"
        "vldmia %[x3]!, {s30-s31}\n\t"
        VFMA4(0, 1, 2, 3, 24, W16) VFMA4(4, 5, 6, 7, 26, W16)
        VFMA4(8, 9, 10, 11, 28, W16) VFMA4(12, 13, 14, 15, 30, W16)
        VFMA4(0, 1, 2, 3, 25, W20) VFMA4(4, 5, 6, 7, 27, W20)
        VFMA4(8, 9, 10, 11, 29, W20) VFMA4(12, 13, 14, 15, 31, W20)
        "subs %[n], %[n], #1\n\t"
        "bne 2b\n"
        "3:\n\t" /* the odd tap */
        "ldr %[n], [%[args], #4]\n\t"
        "cmp %[n], #0\n\t"
        "beq 4f\n\t"
        "vldmia %[w]!, {s16-s19}\n\t"
        "vldmia %[x0]!, {s24}\n\t"
        "vldmia %[x1]!, {s26}\n\t"
        "vldmia %[x2]!, {s28}\n\t"
        "vldmia %[x3]!, {s30}\n\t"
        VFMA4(0, 1, 2, 3, 24, W16) VFMA4(4, 5, 6, 7, 26, W16)
        VFMA4(8, 9, 10, 11, 28, W16) VFMA4(12, 13, 14, 15, 30, W16)
        "4:\n\t" /* next kernel row */
        NEXT_ROW_THEN_ACC
        "vstm %[n], {s0-s15}\n\t"
        : VFP_OPERANDS);
}

#define VFMA6(a0, a1, a2, a3, a4, a5, x)                                                       \
    VFMA(a0, x, 24) VFMA(a1, x, 25) VFMA(a2, x, 26) VFMA(a3, x, 27) VFMA(a4, x, 28) VFMA(a5, x, 29)

/* acc[6 * i + o] = bias[o] + the taps of position i for channel o (o < 6).
 * Registers: accumulators s0..s23, a tap's six weights s24..s29, the tap of
 * two positions at a time in s30, s31. */
static void conv_taps4x6(const bnn_conv2d_params *p, const conv_window *win, const float *w,
                         const float *bias, float acc[24])
{
    const int32_t row_taps = p->k_w * p->in_c;
    const conv_vfp_args args = {row_taps, 0,
                                (win->row_stride - row_taps) * (int32_t)sizeof(float), acc};
    const float *x0 = win->pos[0], *x1 = win->pos[1], *x2 = win->pos[2], *x3 = win->pos[3];
    int32_t rows = p->k_h, n;
    __asm__ volatile(
        "vldm %[bias], {s0-s5}\n\t"
        "vmov.f32 s6, s0\n\t vmov.f32 s7, s1\n\t vmov.f32 s8, s2\n\t"
        "vmov.f32 s9, s3\n\t vmov.f32 s10, s4\n\t vmov.f32 s11, s5\n\t"
        "vmov.f32 s12, s0\n\t vmov.f32 s13, s1\n\t vmov.f32 s14, s2\n\t"
        "vmov.f32 s15, s3\n\t vmov.f32 s16, s4\n\t vmov.f32 s17, s5\n\t"
        "vmov.f32 s18, s0\n\t vmov.f32 s19, s1\n\t vmov.f32 s20, s2\n\t"
        "vmov.f32 s21, s3\n\t vmov.f32 s22, s4\n\t vmov.f32 s23, s5\n\t"
        "1:\n\t" /* kernel row: row_taps >= 1 */
        "ldr %[n], [%[args], #0]\n"
        "2:\n\t" /* one tap */
        "vldmia %[w]!, {s24-s29}\n\t"
        "vldmia %[x0]!, {s30}\n\t"
        "vldmia %[x1]!, {s31}\n\t"
        VFMA6(0, 1, 2, 3, 4, 5, 30) VFMA6(6, 7, 8, 9, 10, 11, 31)
        "vldmia %[x2]!, {s30}\n\t"
        "vldmia %[x3]!, {s31}\n\t"
        VFMA6(12, 13, 14, 15, 16, 17, 30) VFMA6(18, 19, 20, 21, 22, 23, 31)
        "subs %[n], %[n], #1\n\t"
        "bne 2b\n\t"
        NEXT_ROW_THEN_ACC
        "vstm %[n], {s0-s23}\n\t"
        : VFP_OPERANDS);
}
#else
#define CONV_VFP_ASM 0
#endif

#if CONV_SMALL_CORE
/* Kernel row ky of the group: its four positions' inputs and its weights. */
#define ROW_POINTERS4(ky, width)                                                              \
    const float *x0 = win->pos[0] + (ky) * win->row_stride;                                   \
    const float *x1 = win->pos[1] + (ky) * win->row_stride;                                   \
    const float *x2 = win->pos[2] + (ky) * win->row_stride;                                   \
    const float *x3 = win->pos[3] + (ky) * win->row_stride;                                   \
    const float *wr = w + (ky) * row_taps * (width)
#define FMA4(s0, s1, s2, s3, v)                                                               \
    s0 = fmaf(v, w0, s0);                                                                     \
    s1 = fmaf(v, w1, s1);                                                                     \
    s2 = fmaf(v, w2, s2);                                                                     \
    s3 = fmaf(v, w3, s3)
#define RELU4(s0, s1, s2, s3)                                                                 \
    s0 = s0 < 0.0f ? 0.0f : s0;                                                               \
    s1 = s1 < 0.0f ? 0.0f : s1;                                                               \
    s2 = s2 < 0.0f ? 0.0f : s2;                                                               \
    s3 = s3 < 0.0f ? 0.0f : s3
#define STORE4(r, s0, s1, s2, s3)                                                             \
    r[0] = s0;                                                                                \
    r[1] = s1;                                                                                \
    r[2] = s2;                                                                                \
    r[3] = s3

#define MAX4(m0, m1, m2, m3, s0, s1, s2, s3) /* same order and ties as the pool below */      \
    m0 = s0 > m0 ? s0 : m0;                                                                   \
    m1 = s1 > m1 ? s1 : m1;                                                                   \
    m2 = s2 > m2 ? s2 : m2;                                                                   \
    m3 = s3 > m3 ? s3 : m3

/* Four conv positions x output channels oc0 .. oc0 + 3 (weights and bias start
 * there). `pooled`: the four are one pool window in row-major order, and their
 * max goes to dst[0]; else position i goes to dst[i]. nb <= 4 channels are
 * stored (the rest are the zero padding of the weights). */
static void conv_group4x4(const bnn_conv2d_params *p, const conv_window *win, const float *w,
                          const float *bias, int32_t nb, int32_t pooled, float *const dst[GROUP])
{
#if CONV_VFP_ASM
    float acc[16];
    conv_taps4x4(p, win, w, bias, acc);
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    float b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
    float c0 = acc[8], c1 = acc[9], c2 = acc[10], c3 = acc[11];
    float d0 = acc[12], d1 = acc[13], d2 = acc[14], d3 = acc[15];
#else
    const int32_t row_taps = p->k_w * p->in_c;
    float a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    float b0 = a0, b1 = a1, b2 = a2, b3 = a3, c0 = a0, c1 = a1, c2 = a2, c3 = a3;
    float d0 = a0, d1 = a1, d2 = a2, d3 = a3;
    int32_t ky, t;
    for (ky = 0; ky < p->k_h; ky++) {
        ROW_POINTERS4(ky, 4);
        for (t = 0; t < row_taps; t++, wr += 4) {
            const float w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
            const float v0 = x0[t], v1 = x1[t], v2 = x2[t], v3 = x3[t];
            FMA4(a0, a1, a2, a3, v0);
            FMA4(b0, b1, b2, b3, v1);
            FMA4(c0, c1, c2, c3, v2);
            FMA4(d0, d1, d2, d3, v3);
        }
    }
#endif
    if (p->relu) {
        RELU4(a0, a1, a2, a3);
        RELU4(b0, b1, b2, b3);
        RELU4(c0, c1, c2, c3);
        RELU4(d0, d1, d2, d3);
    }
    if (pooled) {
        MAX4(a0, a1, a2, a3, b0, b1, b2, b3);
        MAX4(a0, a1, a2, a3, c0, c1, c2, c3);
        MAX4(a0, a1, a2, a3, d0, d1, d2, d3);
    }
    if (nb == 4) {
        STORE4(dst[0], a0, a1, a2, a3);
        if (!pooled) {
            STORE4(dst[1], b0, b1, b2, b3);
            STORE4(dst[2], c0, c1, c2, c3);
            STORE4(dst[3], d0, d1, d2, d3);
        }
    } else {
        const float r[GROUP][4] = {{a0, a1, a2, a3}, {b0, b1, b2, b3}, {c0, c1, c2, c3},
                                   {d0, d1, d2, d3}};
        int32_t i, o;
        for (i = 0; i < (pooled ? 1 : GROUP); i++)
            for (o = 0; o < nb; o++)
                dst[i][o] = r[i][o];
    }
}

/* Four positions x six output channels (24 accumulators): a first layer's six
 * channels in one pass instead of 4 + 4 with two of them padding. Same sums. */
#define TAP6(k)                                                                               \
    {                                                                                         \
        const float wk = wr[k];                                                               \
        a##k = fmaf(v0, wk, a##k);                                                            \
        b##k = fmaf(v1, wk, b##k);                                                            \
        c##k = fmaf(v2, wk, c##k);                                                            \
        d##k = fmaf(v3, wk, d##k);                                                            \
    }
#define RELU1(s) s = s < 0.0f ? 0.0f : s
#define POOL6(k)                                                                              \
    a##k = b##k > a##k ? b##k : a##k;                                                         \
    a##k = c##k > a##k ? c##k : a##k;                                                         \
    a##k = d##k > a##k ? d##k : a##k
#define STORE6(r, s)                                                                          \
    r[0] = s##0;                                                                              \
    r[1] = s##1;                                                                              \
    r[2] = s##2;                                                                              \
    r[3] = s##3;                                                                              \
    r[4] = s##4;                                                                              \
    r[5] = s##5

static void conv_group4x6(const bnn_conv2d_params *p, const conv_window *win, const float *w,
                          const float *bias, int32_t pooled, float *const dst[GROUP])
{
#if CONV_VFP_ASM
    float acc[24];
    conv_taps4x6(p, win, w, bias, acc);
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5];
    float b0 = acc[6], b1 = acc[7], b2 = acc[8], b3 = acc[9], b4 = acc[10], b5 = acc[11];
    float c0 = acc[12], c1 = acc[13], c2 = acc[14], c3 = acc[15], c4 = acc[16], c5 = acc[17];
    float d0 = acc[18], d1 = acc[19], d2 = acc[20], d3 = acc[21], d4 = acc[22], d5 = acc[23];
#else
    const int32_t row_taps = p->k_w * p->in_c;
    float a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3], a4 = bias[4], a5 = bias[5];
    float b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5;
    float c0 = a0, c1 = a1, c2 = a2, c3 = a3, c4 = a4, c5 = a5;
    float d0 = a0, d1 = a1, d2 = a2, d3 = a3, d4 = a4, d5 = a5;
    int32_t ky, t;
    for (ky = 0; ky < p->k_h; ky++) {
        ROW_POINTERS4(ky, 6);
        for (t = 0; t < row_taps; t++, wr += 6) {
            const float v0 = x0[t], v1 = x1[t], v2 = x2[t], v3 = x3[t];
            TAP6(0) TAP6(1) TAP6(2) TAP6(3) TAP6(4) TAP6(5)
        }
    }
#endif
    if (p->relu) {
        RELU4(a0, a1, a2, a3);
        RELU4(b0, b1, b2, b3);
        RELU4(c0, c1, c2, c3);
        RELU4(d0, d1, d2, d3);
        RELU4(a4, a5, b4, b5);
        RELU4(c4, c5, d4, d5);
    }
    if (pooled) {
        POOL6(0);
        POOL6(1);
        POOL6(2);
        POOL6(3);
        POOL6(4);
        POOL6(5);
        STORE6(dst[0], a);
    } else {
        STORE6(dst[0], a);
        STORE6(dst[1], b);
        STORE6(dst[2], c);
        STORE6(dst[3], d);
    }
}

/* The 4x4 group straight into `out`, when a group is one pool window (or four
 * positions along a row without pooling): no result buffer, no second pass. */
static void conv_direct(const bnn_conv2d_params *p, const float *in, const float *weights,
                        const float *bias, float *scratch, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h, out_w = p->conv_w / p->pool_w;
    const int32_t pooled = p->pool_h * p->pool_w == GROUP;
    const int32_t by6 = p->out_c % 6 == 0 && p->out_c % 4 != 0; /* e.g. LeNet's 6 */
    const int32_t taps = p->k_h * p->k_w * p->in_c;
    int32_t cy[GROUP], cx[GROUP], oy, ox, oc0, i;
    float *dst[GROUP];
    conv_window win;
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox += pooled ? 1 : GROUP) {
            for (i = 0; i < GROUP; i++) {
                /* a row's last group repeats its last position: same value, same place */
                const int32_t col = pooled || ox + i < out_w ? ox + i : out_w - 1;
                cy[i] = pooled ? oy * p->pool_h + i / p->pool_w : oy;
                cx[i] = pooled ? ox * p->pool_w + i % p->pool_w : col;
                dst[i] = out + (oy * out_w + (pooled ? ox : col)) * p->out_c;
            }
            conv_prepare(p, in, cy, cx, scratch, &win);
            for (oc0 = 0; oc0 < p->out_c; oc0 += by6 ? 6 : 4) {
                const int32_t nb = p->out_c - oc0 < 4 ? p->out_c - oc0 : 4;
                if (by6)
                    conv_group4x6(p, &win, weights + oc0 * taps, bias + oc0, pooled, dst);
                else
                    conv_group4x4(p, &win, weights + oc0 * taps, bias + oc0, nb, pooled, dst);
                for (i = 0; i < GROUP; i++)
                    dst[i] += by6 ? 6 : 4;
            }
        }
    }
}
#define CONV_BLOCK(padded_oc) ((void)(padded_oc), 4)
#else
DEFINE_CONV_GROUP(16)
DEFINE_CONV_GROUP(8)
#define CONV_BLOCK(padded_oc)                                                                 \
    ((padded_oc) % BNN_CONV_MAX_BLOCK == 0 ? BNN_CONV_MAX_BLOCK : BNN_CONV_OC_BLOCK)
#endif

/* The input rows y_lo .. y_hi - 1, columns x_lo .. x_hi - 1 (all channels),
 * which cross the border, copied into `scratch` with zeros outside.
 * Returns scratch; *row_stride: floats per row. */
static const float *conv_input_rect(const bnn_conv2d_params *p, const float *in, int32_t y_lo,
                                    int32_t y_hi, int32_t x_lo, int32_t x_hi, float *scratch,
                                    int32_t *row_stride)
{
    const int32_t run = (x_hi - x_lo) * p->in_c;
    const int32_t left = (x_lo < 0 ? -x_lo : 0) * p->in_c; /* padding columns */
    const int32_t right = (x_hi > p->in_w ? x_hi - p->in_w : 0) * p->in_c;
    float *dst = scratch;
    int32_t y, c;
    for (y = y_lo; y < y_hi; y++, dst += run) {
        const int32_t copy_end = y >= 0 && y < p->in_h ? run - right : left;
        const int32_t at = (y * p->in_w + x_lo) * p->in_c; /* of dst[0] in `in` */
        for (c = 0; c < left; c++)
            dst[c] = 0.0f;
        for (; c < copy_end; c++)
            dst[c] = in[at + c];
        for (; c < run; c++)
            dst[c] = 0.0f;
    }
    *row_stride = run;
    return scratch;
}

/* Where the input rows y_lo .. y_hi - 1, columns x_lo .. x_hi - 1 start: in
 * place when inside the input (inline, the usual case), else in `scratch`. */
static inline const float *input_rect(const bnn_conv2d_params *p, const float *in,
                                      int32_t y_lo, int32_t y_hi, int32_t x_lo, int32_t x_hi,
                                      float *scratch, int32_t *row_stride)
{
    if (y_lo >= 0 && x_lo >= 0 && y_hi <= p->in_h && x_hi <= p->in_w) {
        *row_stride = p->in_w * p->in_c;
        return in + (y_lo * p->in_w + x_lo) * p->in_c;
    }
    return conv_input_rect(p, in, y_lo, y_hi, x_lo, x_hi, scratch, row_stride);
}

/* Point `win` at the input taps of conv positions (cy[i], cx[i]), i < GROUP. */
static void conv_prepare(const bnn_conv2d_params *p, const float *in, const int32_t *cy,
                         const int32_t *cx, float *scratch, conv_window *win)
{
    int32_t y_lo = cy[0] * p->stride_h - p->pad_top, x_lo = cx[0] * p->stride_w - p->pad_left;
    int32_t y_hi = y_lo, x_hi = x_lo, i;
    const float *base;
    for (i = 1; i < GROUP; i++) {
        const int32_t y0 = cy[i] * p->stride_h - p->pad_top, x0 = cx[i] * p->stride_w - p->pad_left;
        y_lo = y0 < y_lo ? y0 : y_lo;
        y_hi = y0 > y_hi ? y0 : y_hi;
        x_lo = x0 < x_lo ? x0 : x_lo;
        x_hi = x0 > x_hi ? x0 : x_hi;
    }
    y_hi += p->k_h; /* exclusive bounds of the union of the taps */
    x_hi += p->k_w;
    base = input_rect(p, in, y_lo, y_hi, x_lo, x_hi, scratch, &win->row_stride);
    for (i = 0; i < GROUP; i++) {
        const int32_t dy = cy[i] * p->stride_h - p->pad_top - y_lo;
        const int32_t dx = cx[i] * p->stride_w - p->pad_left - x_lo;
        win->pos[i] = base + dy * win->row_stride + dx * p->in_c;
    }
}

/* result[i][0..block) = conv outputs (bias, ReLU applied) of the group's
 * positions, for output channels oc0 .. oc0 + block. */
static void conv_outputs(const bnn_conv2d_params *p, const conv_window *win,
                         const float *weights, const float *bias, int32_t oc0, int32_t block,
                         float result[GROUP][BNN_CONV_MAX_BLOCK])
{
#if CONV_SMALL_CORE
    float *dst[GROUP];
    int32_t i;
    for (i = 0; i < GROUP; i++)
        dst[i] = result[i];
    (void)block;
    conv_group4x4(p, win, weights + oc0 * p->k_h * p->k_w * p->in_c, bias + oc0, 4, 0, dst);
#else
    if (block == 16)
        conv_group16(p, win, weights + oc0, bias + oc0, result);
    else
        conv_group8(p, win, weights + oc0, bias + oc0, result);
#endif
}

/* NEON (aarch64): the conv straight into `out`, the pool and ReLU in vector
 * registers, no result buffer and no second pass. Each output is still its
 * bias then one fused multiply-add (FMLA by element, the fmaf of the C loops)
 * per tap in (ky, kx, ic) order, then ReLU as x < 0 ? 0 : x and the max pool
 * as m = s > m ? s : m over the window's positions in row-major order
 * (compare and select, not FMAX, whose zeros and NaNs differ): the same bits. */
#if !CONV_SMALL_CORE && defined(__aarch64__) && defined(__ARM_NEON) && !defined(BNN_NO_NEON)
#include <arm_neon.h>
#define CONV_NEON 1

/* clang folds a compare and select into FMAX, which is not the same on zeros
 * and NaNs: there the mask goes through an empty asm (no instruction). */
#if defined(__clang__)
#define NEON_OPAQUE(mask) __asm__("" : "+w"(mask))
#else
#define NEON_OPAQUE(mask) ((void)0)
#endif
static inline float32x4_t neon_relu(float32x4_t v)
{
    uint32x4_t negative = vcltzq_f32(v);
    NEON_OPAQUE(negative);
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), negative));
}
static inline float32x4_t neon_max(float32x4_t m, float32x4_t s)
{
    uint32x4_t greater = vcgtq_f32(s, m);
    NEON_OPAQUE(greater);
    return vbslq_f32(greater, s, m);
}
#define NEON_RELU(v) v = neon_relu(v)
#define NEON_MAX(m, s) m = neon_max(m, s)

/* dst[0 .. n) = the first n (<= 4 stored) lanes of v; nothing when n <= 0 */
static inline void neon_store(float *dst, float32x4_t v, int32_t n)
{
    if (n >= 4) {
        vst1q_f32(dst, v);
    } else if (n >= 2) {
        vst1_f32(dst, vget_low_f32(v));
        if (n == 3)
            vst1q_lane_f32(dst + 2, v, 2);
    } else if (n == 1) {
        vst1q_lane_f32(dst, v, 0);
    }
}

/* Four conv positions (inputs x[i]) x 16 output channels, 16 accumulators
 * a<position><quad>: four taps of a row at a time, each position's four
 * inputs in one register, one FMLA by element per (position, quad, tap). */
#define NEON_FMA16(i, v, l)                                                                   \
    a##i##0 = vfmaq_laneq_f32(a##i##0, wv.val[0], v, l);                                      \
    a##i##1 = vfmaq_laneq_f32(a##i##1, wv.val[1], v, l);                                      \
    a##i##2 = vfmaq_laneq_f32(a##i##2, wv.val[2], v, l);                                      \
    a##i##3 = vfmaq_laneq_f32(a##i##3, wv.val[3], v, l)
#define NEON_TAP16(l)                                                                         \
    {                                                                                         \
        const float32x4x4_t wv = vld1q_f32_x4(wr);                                            \
        wr += oc_stride;                                                                      \
        NEON_FMA16(0, v0, l);                                                                 \
        NEON_FMA16(1, v1, l);                                                                 \
        NEON_FMA16(2, v2, l);                                                                 \
        NEON_FMA16(3, v3, l);                                                                 \
    }
#define NEON_FMA8(i, v, l)                                                                    \
    a##i##0 = vfmaq_laneq_f32(a##i##0, wv.val[0], v, l);                                      \
    a##i##1 = vfmaq_laneq_f32(a##i##1, wv.val[1], v, l)
#define NEON_TAP8(l)                                                                          \
    {                                                                                         \
        const float32x4x2_t wv = vld1q_f32_x2(wr);                                            \
        wr += oc_stride;                                                                      \
        NEON_FMA8(0, v0, l);                                                                  \
        NEON_FMA8(1, v1, l);                                                                  \
        NEON_FMA8(2, v2, l);                                                                  \
        NEON_FMA8(3, v3, l);                                                                  \
    }
/* the taps of kernel rows: TAP(l) for lane l of v0 .. v3 */
#define NEON_ROWS(TAP)                                                                        \
    for (ky = 0; ky < p->k_h; ky++) {                                                         \
        const int32_t row = ky * row_stride;                                                  \
        const float *x0 = x[0] + row, *x1 = x[1] + row, *x2 = x[2] + row, *x3 = x[3] + row;   \
        const float *wr = w + ky * row_taps * oc_stride;                                      \
        for (t = 0; t + 4 <= row_taps; t += 4) {                                              \
            const float32x4_t v0 = vld1q_f32(x0 + t), v1 = vld1q_f32(x1 + t);                 \
            const float32x4_t v2 = vld1q_f32(x2 + t), v3 = vld1q_f32(x3 + t);                 \
            TAP(0) TAP(1) TAP(2) TAP(3)                                                       \
        }                                                                                     \
        for (; t < row_taps; t++) {                                                           \
            const float32x4_t v0 = vld1q_dup_f32(x0 + t), v1 = vld1q_dup_f32(x1 + t);         \
            const float32x4_t v2 = vld1q_dup_f32(x2 + t), v3 = vld1q_dup_f32(x3 + t);         \
            TAP(0)                                                                            \
        }                                                                                     \
    }

/* `pooled`: the four positions are one 2x2 window in row-major order and its
 * max goes to dst[0]; else position i goes to dst[i]. nb channels are stored. */
static void neon_group16(const bnn_conv2d_params *p, const float *const x[4],
                         int32_t row_stride, const float *w, const float *bias, int32_t nb,
                         int32_t pooled, float *const dst[4])
{
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t row_taps = p->k_w * p->in_c;
    const float32x4x4_t b = vld1q_f32_x4(bias);
    float32x4_t a00 = b.val[0], a01 = b.val[1], a02 = b.val[2], a03 = b.val[3];
    float32x4_t a10 = a00, a11 = a01, a12 = a02, a13 = a03;
    float32x4_t a20 = a00, a21 = a01, a22 = a02, a23 = a03;
    float32x4_t a30 = a00, a31 = a01, a32 = a02, a33 = a03;
    int32_t ky, t, i;
    NEON_ROWS(NEON_TAP16)
    if (p->relu) {
        NEON_RELU(a00), NEON_RELU(a01), NEON_RELU(a02), NEON_RELU(a03);
        NEON_RELU(a10), NEON_RELU(a11), NEON_RELU(a12), NEON_RELU(a13);
        NEON_RELU(a20), NEON_RELU(a21), NEON_RELU(a22), NEON_RELU(a23);
        NEON_RELU(a30), NEON_RELU(a31), NEON_RELU(a32), NEON_RELU(a33);
    }
    if (pooled) {
        NEON_MAX(a00, a10), NEON_MAX(a01, a11), NEON_MAX(a02, a12), NEON_MAX(a03, a13);
        NEON_MAX(a00, a20), NEON_MAX(a01, a21), NEON_MAX(a02, a22), NEON_MAX(a03, a23);
        NEON_MAX(a00, a30), NEON_MAX(a01, a31), NEON_MAX(a02, a32), NEON_MAX(a03, a33);
    }
    if (nb >= 16) {
        float32x4x4_t r;
        r.val[0] = a00, r.val[1] = a01, r.val[2] = a02, r.val[3] = a03;
        vst1q_f32_x4(dst[0], r);
        if (!pooled) {
            r.val[0] = a10, r.val[1] = a11, r.val[2] = a12, r.val[3] = a13;
            vst1q_f32_x4(dst[1], r);
            r.val[0] = a20, r.val[1] = a21, r.val[2] = a22, r.val[3] = a23;
            vst1q_f32_x4(dst[2], r);
            r.val[0] = a30, r.val[1] = a31, r.val[2] = a32, r.val[3] = a33;
            vst1q_f32_x4(dst[3], r);
        }
    } else {
        const float32x4_t r[4][4] = {
            {a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
        for (i = 0; i < (pooled ? 1 : 4); i++) {
            neon_store(dst[i], r[i][0], nb);
            neon_store(dst[i] + 4, r[i][1], nb - 4);
            neon_store(dst[i] + 8, r[i][2], nb - 8);
            neon_store(dst[i] + 12, r[i][3], nb - 12);
        }
    }
}

/* The same, 8 output channels. */
static void neon_group8(const bnn_conv2d_params *p, const float *const x[4], int32_t row_stride,
                        const float *w, const float *bias, int32_t nb, int32_t pooled,
                        float *const dst[4])
{
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t row_taps = p->k_w * p->in_c;
    const float32x4x2_t b = vld1q_f32_x2(bias);
    float32x4_t a00 = b.val[0], a01 = b.val[1], a10 = a00, a11 = a01;
    float32x4_t a20 = a00, a21 = a01, a30 = a00, a31 = a01;
    int32_t ky, t, i;
    NEON_ROWS(NEON_TAP8)
    if (p->relu) {
        NEON_RELU(a00), NEON_RELU(a01), NEON_RELU(a10), NEON_RELU(a11);
        NEON_RELU(a20), NEON_RELU(a21), NEON_RELU(a30), NEON_RELU(a31);
    }
    if (pooled) {
        NEON_MAX(a00, a10), NEON_MAX(a01, a11);
        NEON_MAX(a00, a20), NEON_MAX(a01, a21);
        NEON_MAX(a00, a30), NEON_MAX(a01, a31);
    }
    {
        const float32x4_t r[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
        for (i = 0; i < (pooled ? 1 : 4); i++) {
            neon_store(dst[i], r[i][0], nb);
            neon_store(dst[i] + 4, r[i][1], nb - 4);
        }
    }
}

/* One input channel, stride 1, 2x2 pool: two windows side by side, i.e. conv
 * rows y, y + 1 and columns x .. x + 3, for 8 output channels. A kernel tap's
 * inputs of four neighbouring positions are four neighbouring floats: one
 * load per row of positions, one weight load per tap for 16 FMLAs. t<j><q>:
 * top row position j, channel quad q; u<j><q>: bottom row. */
#define NEON_ROW4(a, v)                                                                       \
    a##00 = vfmaq_laneq_f32(a##00, wv.val[0], v, 0);                                          \
    a##01 = vfmaq_laneq_f32(a##01, wv.val[1], v, 0);                                          \
    a##10 = vfmaq_laneq_f32(a##10, wv.val[0], v, 1);                                          \
    a##11 = vfmaq_laneq_f32(a##11, wv.val[1], v, 1);                                          \
    a##20 = vfmaq_laneq_f32(a##20, wv.val[0], v, 2);                                          \
    a##21 = vfmaq_laneq_f32(a##21, wv.val[1], v, 2);                                          \
    a##30 = vfmaq_laneq_f32(a##30, wv.val[0], v, 3);                                          \
    a##31 = vfmaq_laneq_f32(a##31, wv.val[1], v, 3)
#define NEON_RELU8(a)                                                                         \
    NEON_RELU(a##00), NEON_RELU(a##01), NEON_RELU(a##10), NEON_RELU(a##11);                   \
    NEON_RELU(a##20), NEON_RELU(a##21), NEON_RELU(a##30), NEON_RELU(a##31)

static inline __attribute__((always_inline)) void
neon_pair_c1_k(const bnn_conv2d_params *p, const float *x, int32_t row_stride, const float *w,
               const float *bias, int32_t nb, float *dst0, float *dst1, const int32_t k_w)
{
    const int32_t oc_stride = BNN_CONV_PADDED_OC(p->out_c);
    const float32x4x2_t b = vld1q_f32_x2(bias);
    float32x4_t t00 = b.val[0], t01 = b.val[1], t10 = t00, t11 = t01;
    float32x4_t t20 = t00, t21 = t01, t30 = t00, t31 = t01;
    float32x4_t u00 = t00, u01 = t01, u10 = t00, u11 = t01;
    float32x4_t u20 = t00, u21 = t01, u30 = t00, u31 = t01;
    const float *wr = w;
    int32_t ky, kx;
    for (ky = 0; ky < p->k_h; ky++) {
        const float *xt = x + ky * row_stride, *xb = xt + row_stride;
        for (kx = 0; kx < k_w; kx++) {
            const float32x4x2_t wv = vld1q_f32_x2(wr);
            const float32x4_t vt = vld1q_f32(xt + kx), vb = vld1q_f32(xb + kx);
            wr += oc_stride;
            NEON_ROW4(t, vt);
            NEON_ROW4(u, vb);
        }
    }
    if (p->relu) {
        NEON_RELU8(t);
        NEON_RELU8(u);
    }
    /* window 0: t0, t1, u0, u1; window 1: t2, t3, u2, u3 */
    NEON_MAX(t00, t10), NEON_MAX(t01, t11), NEON_MAX(t00, u00), NEON_MAX(t01, u01);
    NEON_MAX(t00, u10), NEON_MAX(t01, u11);
    NEON_MAX(t20, t30), NEON_MAX(t21, t31), NEON_MAX(t20, u20), NEON_MAX(t21, u21);
    NEON_MAX(t20, u30), NEON_MAX(t21, u31);
    neon_store(dst0, t00, nb);
    neon_store(dst0 + 4, t01, nb - 4);
    neon_store(dst1, t20, nb);
    neon_store(dst1 + 4, t21, nb - 4);
}

/* the common kernel widths as constants: their rows of taps unrolled */
static void neon_pair_c1(const bnn_conv2d_params *p, const float *x, int32_t row_stride,
                         const float *w, const float *bias, int32_t nb, float *dst0,
                         float *dst1)
{
    if (p->k_w == 5)
        neon_pair_c1_k(p, x, row_stride, w, bias, nb, dst0, dst1, 5);
    else if (p->k_w == 3)
        neon_pair_c1_k(p, x, row_stride, w, bias, nb, dst0, dst1, 3);
    else
        neon_pair_c1_k(p, x, row_stride, w, bias, nb, dst0, dst1, p->k_w);
}

/* Conv with no pool or a 2x2 pool on NEON; returns 0 (nothing done) for other pools. */
static int32_t conv_neon(const bnn_conv2d_params *p, const float *in, const float *weights,
                         const float *bias, float *scratch, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h, out_w = p->conv_w / p->pool_w;
    const int32_t pooled = p->pool_h == 2 && p->pool_w == 2;
    const int32_t padded_oc = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t block = CONV_BLOCK(padded_oc);
    const int32_t sh = p->stride_h, sw = p->stride_w, ic = p->in_c;
    const int32_t pair = pooled && ic == 1 && sh == 1 && sw == 1;
    int32_t oy, ox, oc0, i, rs;
    if (!pooled && p->pool_h * p->pool_w != 1)
        return 0;
    for (oy = 0; oy < out_h; oy++) {
        const int32_t cy = pooled ? 2 * oy : oy, y_lo = cy * sh - p->pad_top;
        for (ox = 0; ox < out_w;) {
            float *at = out + (oy * out_w + ox) * p->out_c;
            const float *x[4];
            float *dst[4];
            int32_t n; /* output positions done */
            if (pair && ox + 1 < out_w) {
                const int32_t x_lo = 2 * ox - p->pad_left;
                const float *base = input_rect(p, in, y_lo, y_lo + p->k_h + 1, x_lo,
                                               x_lo + p->k_w + 3, scratch, &rs);
                for (oc0 = 0; oc0 < p->out_c; oc0 += BNN_CONV_OC_BLOCK)
                    neon_pair_c1(p, base, rs, weights + oc0, bias + oc0, p->out_c - oc0,
                                 at + oc0, at + p->out_c + oc0);
                ox += 2;
                continue;
            }
            if (pooled) {
                const int32_t x_lo = 2 * ox * sw - p->pad_left;
                const float *base = input_rect(p, in, y_lo, y_lo + sh + p->k_h, x_lo,
                                               x_lo + sw + p->k_w, scratch, &rs);
                x[0] = base;
                x[1] = base + sw * ic;
                x[2] = base + sh * rs;
                x[3] = x[2] + sw * ic;
                dst[0] = dst[1] = dst[2] = dst[3] = at;
                n = 1;
            } else {
                /* up to four positions along the row; a short group repeats its last */
                const int32_t x_lo = ox * sw - p->pad_left;
                const float *base;
                n = out_w - ox < 4 ? out_w - ox : 4;
                base = input_rect(p, in, y_lo, y_lo + p->k_h, x_lo, x_lo + (n - 1) * sw + p->k_w,
                                  scratch, &rs);
                for (i = 0; i < 4; i++) {
                    const int32_t j = i < n ? i : n - 1;
                    x[i] = base + j * sw * ic;
                    dst[i] = at + j * p->out_c;
                }
            }
            for (oc0 = 0; oc0 < p->out_c; oc0 += block) {
                const float *const xs[4] = {x[0], x[1], x[2], x[3]};
                float *const ds[4] = {dst[0] + oc0, dst[1] + oc0, dst[2] + oc0, dst[3] + oc0};
                if (block == 16)
                    neon_group16(p, xs, rs, weights + oc0, bias + oc0, p->out_c - oc0, pooled,
                                 ds);
                else
                    neon_group8(p, xs, rs, weights + oc0, bias + oc0, p->out_c - oc0, pooled,
                                ds);
            }
            ox += n;
        }
    }
    return 1;
}
#else
#define CONV_NEON 0
#endif

/* Pool windows per group: as many whole windows as fit, else one window in chunks. */
static int32_t windows_per_group(const bnn_conv2d_params *p)
{
    const int32_t window = p->pool_h * p->pool_w;
    return window < GROUP ? GROUP / window : 1;
}

int32_t bnn_conv2d_f32_scratch_floats(const bnn_conv2d_params *p)
{
    const int32_t span_w = windows_per_group(p) * p->pool_w; /* conv columns of a group */
    return (p->k_h + (p->pool_h - 1) * p->stride_h) * (p->k_w + (span_w - 1) * p->stride_w) *
           p->in_c;
}

void bnn_conv2d_f32(const bnn_conv2d_params *p, const float *in, const float *weights,
                    const float *bias, float *scratch, float *out)
{
    const int32_t out_h = p->conv_h / p->pool_h;
    const int32_t out_w = p->conv_w / p->pool_w;
    const int32_t window = p->pool_h * p->pool_w;
    const int32_t per_group = windows_per_group(p);
    const int32_t padded_oc = BNN_CONV_PADDED_OC(p->out_c);
    const int32_t block = CONV_BLOCK(padded_oc);
    float result[GROUP][BNN_CONV_MAX_BLOCK];
    int32_t cy[GROUP], cx[GROUP], dst_at[GROUP], first[GROUP];
    conv_window win;
    int32_t oy, ox, oc0, o, i, n, nw, start, slot, k;
#if CONV_SMALL_CORE
    if (window == 1 || window == GROUP) {
        conv_direct(p, in, weights, bias, scratch, out);
        return;
    }
#endif
#if CONV_NEON
    if (conv_neon(p, in, weights, bias, scratch, out))
        return;
#endif
    for (oy = 0; oy < out_h; oy++) {
        for (ox = 0; ox < out_w; ox += nw) {
            nw = out_w - ox < per_group ? out_w - ox : per_group;
            /* the nw windows' conv positions, window by window in row-major order,
             * GROUP at a time; a short chunk repeats its last position */
            slot = 0; /* window of the chunk's next position, and its index k in it */
            k = 0;
            for (start = 0; start < nw * window; start += GROUP) {
                n = nw * window - start < GROUP ? nw * window - start : GROUP;
                for (i = 0; i < GROUP; i++) {
                    if (i < n) {
                        cy[i] = oy * p->pool_h + k / p->pool_w;
                        cx[i] = (ox + slot) * p->pool_w + k % p->pool_w;
                        dst_at[i] = (oy * out_w + ox + slot) * p->out_c;
                        first[i] = k == 0;
                        if (++k == window) {
                            k = 0;
                            slot++;
                        }
                    } else {
                        cy[i] = cy[n - 1];
                        cx[i] = cx[n - 1];
                    }
                }
                conv_prepare(p, in, cy, cx, scratch, &win);
                for (oc0 = 0; oc0 < p->out_c; oc0 += block) {
                    const int32_t nb = p->out_c - oc0 < block ? p->out_c - oc0 : block;
                    conv_outputs(p, &win, weights, bias, oc0, block, result);
                    for (i = 0; i < n; i++) {
                        float *dst = out + dst_at[i] + oc0;
                        const float *r = result[i];
                        if (first[i]) {
                            for (o = 0; o < nb; o++)
                                dst[o] = r[o];
                        } else {
                            for (o = 0; o < nb; o++)
                                dst[o] = r[o] > dst[o] ? r[o] : dst[o];
                        }
                    }
                }
            }
        }
    }
}

/* A convolution with a single output position is a matrix-vector product, and
 * TFLite computes it as one (see bnn_fc_f32.c): this gathers that position's
 * window into `row` in (ky, kx, ic) order, taps outside the input as 0, for
 * bnn_fc_f32 to finish with TFLite's order of sums. */
void bnn_conv2d_f32_window(const bnn_conv2d_params *p, const float *in, float *row)
{
    int32_t ky, kx, c;
    for (ky = 0; ky < p->k_h; ky++) {
        const int32_t y = ky - p->pad_top;
        for (kx = 0; kx < p->k_w; kx++) {
            const int32_t x = kx - p->pad_left;
            float *dst = row + (ky * p->k_w + kx) * p->in_c;
            const int inside = y >= 0 && y < p->in_h && x >= 0 && x < p->in_w;
            for (c = 0; c < p->in_c; c++)
                dst[c] = inside ? in[(y * p->in_w + x) * p->in_c + c] : 0.0f;
        }
    }
}
