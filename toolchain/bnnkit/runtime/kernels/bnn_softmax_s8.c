/* int8 softmax: see bnn_softmax_s8.h. */
#include "bnn_expf.h"
#include "bnn_softmax_s8.h"

static float entry(const float *table, float exp_scale, int32_t max, int32_t x)
{
    if (table) {
        return table[255 - (max - x)];
    }
    return bnn_expf_glibc(exp_scale * (float)(max - x), 0);
}

void bnn_softmax_s8(const int8_t *in, int32_t n, const float *table, float exp_scale,
                    float out_scale, int32_t zero_point, int8_t *out)
{
    int32_t j, max = -128;
    float sum = 0.0f, inv;
    for (j = 0; j < n; j++)
        max = in[j] > max ? in[j] : max;
    for (j = 0; j < n; j++)
        sum += entry(table, exp_scale, max, in[j]);
    inv = 1.0f / (sum * out_scale);
    for (j = 0; j < n; j++) {
        const float p = entry(table, exp_scale, max, in[j]) * inv; /* >= 0 */
        int32_t q = (int32_t)p; /* round half away from zero, without libm */
        if (p - (float)q >= 0.5f)
            q++;
        q += zero_point;
        out[j] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
}
