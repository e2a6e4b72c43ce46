/* nk_common.h -- status codes, size arithmetic and small helpers shared by
 * every nnkern C file.  Plain C11, no Python.h.
 *
 * Conventions (see README "C core"):
 *   - drivers are named nk_<op>_<pass>_<dtype>, validate their arguments and
 *     return an nk_status; they never print, exit or abort;
 *   - micro-kernels only assert;
 *   - every size is int64_t and every product is checked before allocation.
 */
#ifndef NK_COMMON_H
#define NK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nk_status {
    NK_OK = 0,
    NK_ERR_ARG = 1,      /* invalid argument (negative size, bad stride, ...) */
    NK_ERR_NOMEM = 2,    /* workspace allocation failed                        */
    NK_ERR_OVERFLOW = 3, /* a size product does not fit in int64 / size_t      */
    NK_ERR_INDEX = 4     /* an index argument (e.g. max-pool indices) is out of range */
} nk_status;

#if defined(__GNUC__) || defined(__clang__)
#define NK_RESTRICT __restrict__
#define NK_INLINE static inline __attribute__((always_inline))
#define NK_LIKELY(x) __builtin_expect(!!(x), 1)
#define NK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NK_RESTRICT
#define NK_INLINE static inline
#define NK_LIKELY(x) (x)
#define NK_UNLIKELY(x) (x)
#endif

/* True when the compiler can build AVX2/FMA functions with
 * __attribute__((target("avx2,fma"))) and detect them at run time. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define NK_X86_DISPATCH 1
#define NK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define NK_X86_DISPATCH 0
#define NK_TARGET_AVX2
#endif

/* Overflow-checked int64 arithmetic.  Return 0 on success, 1 on overflow. */
NK_INLINE int nk_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
NK_INLINE int nk_add_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_add_overflow(a, b, out);
}

/* Product of n non-negative sizes; NK_ERR_ARG if one is negative,
 * NK_ERR_OVERFLOW if the product does not fit. */
NK_INLINE nk_status nk_size_product(const int64_t *dims, int n, int64_t *out) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0) return NK_ERR_ARG;
        if (nk_mul_i64(p, dims[i], &p)) return NK_ERR_OVERFLOW;
    }
    *out = p;
    return NK_OK;
}

/* Bytes for `count` elements of `elem` bytes, checked against SIZE_MAX. */
NK_INLINE nk_status nk_bytes(int64_t count, size_t elem, size_t *out) {
    if (count < 0) return NK_ERR_ARG;
    uint64_t b;
    if (__builtin_mul_overflow((uint64_t)count, (uint64_t)elem, &b) || b > (uint64_t)SIZE_MAX / 2)
        return NK_ERR_OVERFLOW;
    *out = (size_t)b;
    return NK_OK;
}

NK_INLINE int64_t nk_min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
NK_INLINE int64_t nk_max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
NK_INLINE int64_t nk_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#ifdef __cplusplus
}
#endif
#endif /* NK_COMMON_H */
