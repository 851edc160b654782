/* TFLite QUANTIZE float32 -> int8 (see bnn_quantize_s8.h). Float32 and
 * double arithmetic, one rounding per operation; no libm. */
#include "bnn_quantize_s8.h"

/* x86's float -> int32 conversion: NaN and values outside int32 give
 * INT32_MIN. v is already integral here. */
static int32_t to_i32(double v)
{
    if (!(v > -2147483649.0 && v < 2147483648.0)) {
        return INT32_MIN;
    }
    return (int32_t)v;
}

/* Ties to even for |v| < 2^22: adding and removing 1.5 * 2^23 leaves the
 * nearest integer (the FPU's default rounding). Larger values are integers. */
static float rint_f32(float v)
{
    const float magic = 12582912.0f;
    if (v > 4194304.0f || v < -4194304.0f || v != v) {
        return v;
    }
    return (v + magic) - magic;
}

/* Ties away from zero, exact: v - trunc(v) is exact in binary floating point. */
static double round_away(double v)
{
    double t;
    if (!(v > -2147483649.0 && v < 2147483648.0)) {
        return v;
    }
    t = (double)(int32_t)v;
    if (v - t >= 0.5) {
        t += 1.0;
    } else if (v - t <= -0.5) {
        t -= 1.0;
    }
    return t;
}

/* + zero point with int32 wrap-around (as the interpreter's int32 add), saturated. */
static int8_t saturate(int32_t r, int32_t zero_point)
{
    const int32_t v = (int32_t)((uint32_t)r + (uint32_t)zero_point);
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

void bnn_quantize_s8(const float *in, int32_t n, int32_t blocked, float inv_scale,
                     double scale, int32_t zero_point, int8_t *out)
{
    int32_t i;
    if (blocked < 0) { /* TFLite's reference kernel: a float32 division */
        const float scale_f = (float)scale;
        for (i = 0; i < n; i++) {
            out[i] = saturate(to_i32(round_away((double)(in[i] / scale_f))), zero_point);
        }
        return;
    }
    for (i = 0; i < blocked; i++) {
        out[i] = saturate(to_i32((double)rint_f32(in[i] * inv_scale)), zero_point);
    }
    for (; i < n; i++) {
        out[i] = saturate(to_i32(round_away((double)in[i] / scale)), zero_point);
    }
}
