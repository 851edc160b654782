/* bnn_xor_popcount: bnn_popcount.h's inline count as a function (the kernel tests call it). */
#include "bnn_popcount.h"

int32_t bnn_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n_words)
{
    return bnn_popcount_xor(a, b, n_words);
}
