/* GORUNTIME_CHECKS: invariant checks in the hot loops, compiled out unless the build sets
 * -DGORUNTIME_CHECKS=1 (make debug / make sanitize). The uvloop debug.h trick. */
#ifndef GORUNTIME_CHECKS_H
#define GORUNTIME_CHECKS_H
#ifndef GORUNTIME_CHECKS
#define GORUNTIME_CHECKS 0
#endif
#if defined(__GNUC__)
#define GR_PREFETCH(p) __builtin_prefetch((const void*)(p))
#define GR_CTZ64(x) __builtin_ctzll(x)
#define GR_POPCOUNT64(x) gr_popcount64(x)
#define GR_CLZ64(x) __builtin_clzll(x)
/* Bits set in x, inline on every x86-64 and aarch64 build: without -mpopcnt (the default
 * x86-64 target, which old CPUs need) __builtin_popcountll is a call to libgcc's
 * __popcountdi2 (a table lookup per byte); the SWAR sum below is a dozen ALU instructions,
 * the same on any CPU. aarch64 always has CNT. */
static inline int gr_popcount64(unsigned long long x) {
#if defined(__POPCNT__) || defined(__aarch64__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}
#else
#define GR_PREFETCH(p) ((void)0)
static inline int GR_CTZ64(unsigned long long x) { int n = 0; while (!(x & 1)) { x >>= 1; n++; } return n; }
static inline int GR_POPCOUNT64(unsigned long long x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }
static inline int GR_CLZ64(unsigned long long x) { int n = 0; while (!(x >> 63)) { x <<= 1; n++; } return n; }
#endif
#endif /* GORUNTIME_CHECKS_H */
