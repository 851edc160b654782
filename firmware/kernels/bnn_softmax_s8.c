/* int8 softmax: see bnn_softmax_s8.h. */
#include "bnn_softmax_s8.h"

void bnn_softmax_s8(const int8_t *in, int32_t n, const float *table, float out_scale,
                    int32_t zero_point, int8_t *out)
{
    int32_t j, max = -128;
    const float *row;
    float sum = 0.0f, inv;
    for (j = 0; j < n; j++)
        max = in[j] > max ? in[j] : max;
    row = table + 255 - max; /* row[x] = table[255 - (max - x)] */
    for (j = 0; j < n; j++)
        sum += row[in[j]];
    inv = 1.0f / (sum * out_scale);
    for (j = 0; j < n; j++) {
        const float p = row[in[j]] * inv; /* >= 0 */
        int32_t q = (int32_t)p;           /* round half away from zero, without libm */
        if (p - (float)q >= 0.5f)
            q++;
        q += zero_point;
        out[j] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
}
