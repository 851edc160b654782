/* bnn_expf.h: glibc's expf (sysdeps/ieee754/flt-32/e_expf.c): 2^(k/32) from
 * a table times a cubic in double precision, rounded once to float. glibc
 * on an x86-64 host with FMA (what LCE's interpreter calls) fuses the
 * cubic's three multiply-adds: fused = 1 reproduces it with fma(). fused = 0
 * rounds each product and sum (what a build without FMA computes); lowering
 * uses it only for arguments where it was checked, at generation time, to
 * give the FMA build's float (ops/softmax_s8.py). Built without contraction. */
#ifndef BNN_EXPF_H
#define BNN_EXPF_H

#include <math.h>
#include <string.h>

#include "bnn_kernels.h"

static const uint64_t bnn_exp2f_tab[32] = {
    0x3ff0000000000000u, 0x3fefd9b0d3158574u, 0x3fefb5586cf9890fu, 0x3fef9301d0125b51u,
    0x3fef72b83c7d517bu, 0x3fef54873168b9aau, 0x3fef387a6e756238u, 0x3fef1e9df51fdee1u,
    0x3fef06fe0a31b715u, 0x3feef1a7373aa9cbu, 0x3feedea64c123422u, 0x3feece086061892du,
    0x3feebfdad5362a27u, 0x3feeb42b569d4f82u, 0x3feeab07dd485429u, 0x3feea47eb03a5585u,
    0x3feea09e667f3bcdu, 0x3fee9f75e8ec5f74u, 0x3feea11473eb0187u, 0x3feea589994cce13u,
    0x3feeace5422aa0dbu, 0x3feeb737b0cdc5e5u, 0x3feec49182a3f090u, 0x3feed503b23e255du,
    0x3feee89f995ad3adu, 0x3feeff76f2fb5e47u, 0x3fef199bdd85529cu, 0x3fef3720dcef9069u,
    0x3fef5818dcfba487u, 0x3fef7c97337b9b5fu, 0x3fefa4afa2a490dau, 0x3fefd0765b6e4540u,
};

static inline double bnn_expf_madd(double a, double b, double c, int fused)
{
    if (fused) {
        return fma(a, b, c);
    }
    {
        const double product = a * b;
        return product + c;
    }
}

static inline float bnn_expf_glibc(float x, int fused)
{
    double xd = (double)x, z, kd, r, r2, y, s;
    uint64_t ki, t;
    if (x != x)
        return x + x;
    if (x < -0x1.9fe368p6f)
        return 0.0f; /* underflow, -inf */
    if (x > 0x1.62e42ep6f)
        return INFINITY;
    z = 0x1.71547652b82fep+5 * xd;
    kd = z + 0x1.8p+52;
    memcpy(&ki, &kd, sizeof ki);
    kd -= 0x1.8p+52;
    r = z - kd;
    t = bnn_exp2f_tab[ki % 32];
    t += ki << 47;
    memcpy(&s, &t, sizeof s);
    z = bnn_expf_madd(0x1.c6af84b912394p-20, r, 0x1.ebfce50fac4f3p-13, fused);
    r2 = r * r;
    y = bnn_expf_madd(0x1.62e42ff0c52d6p-6, r, 1.0, fused);
    y = bnn_expf_madd(z, r2, y, fused);
    y = y * s;
    return (float)y;
}

#endif
