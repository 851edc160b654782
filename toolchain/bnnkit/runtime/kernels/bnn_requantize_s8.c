/* QUANTIZE int8 -> int8 (see bnn_requantize_s8.h). In place is allowed. */
#include "bnn_requantize_s8.h"
#include "bnn_requant.h"

void bnn_requantize_tensor_s8(const int8_t *in, int32_t n, int32_t blocked, int32_t mult,
                              int32_t shift, int32_t zp_in, int32_t zp_out, int8_t *out)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        const int32_t x = (int32_t)in[i] - zp_in;
        const int32_t v = (i < blocked ? bnn_requantize(x, mult, shift)
                                       : bnn_requantize_away(x, mult, shift)) + zp_out;
        out[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
}
