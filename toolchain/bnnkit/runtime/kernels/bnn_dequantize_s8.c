/* TFLite DEQUANTIZE int8 -> float32 (see bnn_dequantize_s8.h). Built without
 * contraction: the vector path's multiply and add round separately. */
#include "bnn_dequantize_s8.h"

void bnn_dequantize_s8(const int8_t *in, int32_t n, int32_t blocked, float scale,
                       float neg_zp_scale, int32_t zero_point, float *out)
{
    int32_t i;
    for (i = 0; i < blocked; i++) {
        const float product = (float)in[i] * scale;
        out[i] = product + neg_zp_scale;
    }
    for (; i < n; i++) {
        out[i] = (float)(in[i] - zero_point) * scale;
    }
}
