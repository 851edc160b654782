/* SELECT(GREATER_EQUAL(x, t), a, b): comparisons and copies, exact. */
#include "bnn_select_f32.h"

void bnn_select_ge_f32(const float *in, int32_t n, float threshold, const float *a, int32_t n_a,
                       const float *b, int32_t n_b, float *out)
{
    int32_t i;
    if (n_a == 1 && n_b == 1) {
        const float va = a[0], vb = b[0];
        for (i = 0; i < n; i++)
            out[i] = in[i] >= threshold ? va : vb;
        return;
    }
    for (i = 0; i < n; i++)
        out[i] = in[i] >= threshold ? a[n_a == 1 ? 0 : i] : b[n_b == 1 ? 0 : i];
}
