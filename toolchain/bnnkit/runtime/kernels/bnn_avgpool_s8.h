/* bnn_avgpool_s8.c: int8 AVERAGE_POOL_2D (the geometry of bnn_maxpool_params;
 * its relu field is unused: the fused activation is [act_min, act_max]). */
#ifndef BNN_AVGPOOL_S8_H
#define BNN_AVGPOOL_S8_H

#include "bnn_kernels.h"

void bnn_avgpool_s8(const bnn_maxpool_params *p, int32_t act_min, int32_t act_max,
                    const int8_t *in, int8_t *out);

#endif
