/* Float MEAN over axes, TFLite's order on x86-64 (see the header). */
#include "bnn_mean_f32.h"

#define BNN_MEAN_LANES 8 /* floats per AVX packet */

/* Eigen's redux (LinearVectorizedTraversal) of x[0..n), whose first element
 * sits `phase` floats past a 32-byte boundary. */
static float eigen_sum(const float *x, int32_t n, int32_t phase)
{
    const int32_t L = BNN_MEAN_LANES;
    int32_t start = (L - phase) % L;
    int32_t size1, size2, i, k;
    float p0[BNN_MEAN_LANES], p1[BNN_MEAN_LANES], res;

    if (start > n)
        start = n;
    size1 = (n - start) / L * L;
    size2 = (n - start) / (2 * L) * (2 * L);
    if (size1 == 0) {
        res = x[0];
        for (i = 1; i < n; i++)
            res = res + x[i];
        return res;
    }
    for (k = 0; k < L; k++)
        p0[k] = x[start + k];
    if (size1 > L) {
        for (k = 0; k < L; k++)
            p1[k] = x[start + L + k];
        for (i = start + 2 * L; i < start + size2; i += 2 * L) {
            for (k = 0; k < L; k++) {
                p0[k] = p0[k] + x[i + k];
                p1[k] = p1[k] + x[i + L + k];
            }
        }
        for (k = 0; k < L; k++)
            p0[k] = p0[k] + p1[k];
        if (size1 > size2)
            for (k = 0; k < L; k++)
                p0[k] = p0[k] + x[start + size2 + k];
    }
    for (k = 0; k < 4; k++)
        p0[k] = p0[k] + p0[k + 4];
    res = (p0[0] + p0[2]) + (p0[1] + p0[3]);
    for (i = 0; i < start; i++)
        res = res + x[i];
    for (i = start + size1; i < n; i++)
        res = res + x[i];
    return res;
}

void bnn_mean_f32(const bnn_mean_params *p, const float *in, float *out)
{
    const float count = (float)p->count;
    int32_t ostride[4], n_out = 1, d, i0, i1, i2, i3, o;

    if (p->rows > 0) {
        for (o = 0; o < p->rows; o++) {
            const int32_t phase = (int32_t)(((int64_t)o * p->count) % BNN_MEAN_LANES);
            out[o] = eigen_sum(in + (size_t)o * (size_t)p->count, p->count, phase) / count;
        }
        return;
    }
    for (d = 3; d >= 0; d--) {
        ostride[d] = p->reduced[d] ? 0 : n_out;
        if (!p->reduced[d])
            n_out *= p->dims[d];
    }
    for (o = 0; o < n_out; o++)
        out[o] = -0.0f;
    for (i0 = 0; i0 < p->dims[0]; i0++)
        for (i1 = 0; i1 < p->dims[1]; i1++)
            for (i2 = 0; i2 < p->dims[2]; i2++) {
                const float *x = in + ((i0 * p->dims[1] + i1) * p->dims[2] + i2) * p->dims[3];
                float *y = out + i0 * ostride[0] + i1 * ostride[1] + i2 * ostride[2];
                for (i3 = 0; i3 < p->dims[3]; i3++)
                    y[i3 * ostride[3]] = y[i3 * ostride[3]] + x[i3];
            }
    for (o = 0; o < n_out; o++)
        out[o] = out[o] / count;
}
