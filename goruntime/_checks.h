/* GORUNTIME_CHECKS: invariant checks in the hot loops, compiled out unless the build sets
 * -DGORUNTIME_CHECKS=1 (make debug / make sanitize). The uvloop debug.h trick. */
#ifndef GORUNTIME_CHECKS
#define GORUNTIME_CHECKS 0
#endif
#if defined(__GNUC__)
#define GR_PREFETCH(p) __builtin_prefetch((const void*)(p))
#define GR_CTZ64(x) __builtin_ctzll(x)
#define GR_POPCOUNT64(x) __builtin_popcountll(x)
#define GR_CLZ64(x) __builtin_clzll(x)
#else
#define GR_PREFETCH(p) ((void)0)
static inline int GR_CTZ64(unsigned long long x) { int n = 0; while (!(x & 1)) { x >>= 1; n++; } return n; }
static inline int GR_POPCOUNT64(unsigned long long x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }
static inline int GR_CLZ64(unsigned long long x) { int n = 0; while (!(x >> 63)) { x <<= 1; n++; } return n; }
#endif
