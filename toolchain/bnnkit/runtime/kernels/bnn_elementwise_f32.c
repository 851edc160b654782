/* Float elementwise binary ops: see bnn_elementwise_f32.h. */
#include <float.h>

#include "bnn_elementwise_f32.h"

static float relu_if(float v, int32_t relu)
{
    return (relu && v < 0.0f) ? 0.0f : v;
}

void bnn_mul_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(in[i] * c[i % channels], relu);
}

void bnn_add_const_f32(const float *in, int32_t n, const float *c, int32_t channels,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(in[i] + c[i % channels], relu);
}

void bnn_binary_op_f32(const float *a, const float *b, int32_t n, int32_t is_mul,
                       int32_t relu, float *out)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = relu_if(is_mul ? a[i] * b[i] : a[i] + b[i], relu);
}

/* ------------------------------------------------------------------ general */

typedef struct {
    float lo, hi;
    int32_t clamp;
} ew_range;

static ew_range act_range(int32_t act)
{
    ew_range r = {-FLT_MAX, FLT_MAX, 1};
    switch (act) {
    case BNN_EW_ACT_IDENTITY:
        r.clamp = 0;
        break;
    case BNN_EW_ACT_RELU:
        r.lo = 0.0f;
        break;
    case BNN_EW_ACT_RELU_N1_TO_1:
        r.lo = -1.0f;
        r.hi = 1.0f;
        break;
    case BNN_EW_ACT_RELU6:
        r.lo = 0.0f;
        r.hi = 6.0f;
        break;
    default:
        break;
    }
    return r;
}

static float ew_apply(int32_t op, float a, float b)
{
    switch (op) {
    case BNN_EW_ADD:
        return a + b;
    case BNN_EW_MUL:
        return a * b;
    case BNN_EW_SUB:
        return a - b;
    case BNN_EW_DIV:
        return a / b;
    case BNN_EW_MAX:
        return a > b ? a : b;
    default:
        return a < b ? a : b;
    }
}

static float ew_clamp(float v, ew_range r)
{
    if (r.clamp) {
        v = r.lo > v ? r.lo : v;
        v = r.hi < v ? r.hi : v;
    }
    return v;
}

/* One loop per op so that the switch stays outside the loop. */
#define BNN_EW_LOOP(EXPR_A, EXPR_B)                                              \
    switch (op) {                                                               \
    case BNN_EW_ADD:                                                            \
        for (i = 0; i < n; i++) out[i] = ew_clamp((EXPR_A) + (EXPR_B), r);      \
        break;                                                                  \
    case BNN_EW_MUL:                                                            \
        for (i = 0; i < n; i++) out[i] = ew_clamp((EXPR_A) * (EXPR_B), r);      \
        break;                                                                  \
    default:                                                                    \
        for (i = 0; i < n; i++) out[i] = ew_clamp(ew_apply(op, EXPR_A, EXPR_B), r); \
        break;                                                                  \
    }

void bnn_elementwise_f32(int32_t op, int32_t act, const float *a, const float *b, int32_t n,
                         float *out)
{
    ew_range r = act_range(act);
    int32_t i;
    BNN_EW_LOOP(a[i], b[i])
}

void bnn_elementwise_channel_f32(int32_t op, int32_t act, const float *x, int32_t n,
                                 const float *c, int32_t channels, int32_t c_first, float *out)
{
    ew_range r = act_range(act);
    int32_t i;
    if (channels == 1) {
        const float k = c[0];
        if (c_first) {
            BNN_EW_LOOP(k, x[i])
        } else {
            BNN_EW_LOOP(x[i], k)
        }
        return;
    }
    for (i = 0; i < n; i += channels) {
        const float *xi = x + i;
        float *oi = out + i;
        int32_t j;
        if (c_first)
            for (j = 0; j < channels; j++)
                oi[j] = ew_clamp(ew_apply(op, c[j], xi[j]), r);
        else
            for (j = 0; j < channels; j++)
                oi[j] = ew_clamp(ew_apply(op, xi[j], c[j]), r);
    }
}

void bnn_elementwise_bcast_f32(const bnn_elementwise_bcast_params *p, const float *a,
                               const float *b, float *out)
{
    ew_range r = act_range(p->act);
    const int32_t *d = p->dims, *sa = p->a_strides, *sb = p->b_strides;
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < d[0]; i0++)
        for (i1 = 0; i1 < d[1]; i1++)
            for (i2 = 0; i2 < d[2]; i2++) {
                const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (i3 = 0; i3 < d[3]; i3++)
                    *out++ = ew_clamp(ew_apply(p->op, pa[i3 * sa[3]], pb[i3 * sb[3]]), r);
            }
}
