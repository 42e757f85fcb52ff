/* A NumPy data allocator (NEP 49) for `make sanitize`: numpy buffers of MMAP_THRESHOLD bytes
 * or more are mmap-ed directly, between two PROT_NONE guard pages, instead of going through
 * ASan's heap allocator.
 *
 * Why: goruntime reserves its arena as one np.zeros(arena_cap) (2 GiB in the tests). glibc
 * gives that lazily, in microseconds. ASan's allocator memsets the 256 MiB of shadow for such
 * a block on every allocation and again on every free: about 1 s per Runtime, which made the
 * suite ~7x slower than the release run (tools/sanitize.py measured it). With this allocator
 * the shadow of these blocks stays untouched (0 = addressable, as for any mmap), and
 *  - a linear overflow past either end of the buffer hits a guard page: SEGV, which ASan
 *    reports with a stack trace (handle_segv=1, ASan's default), so the run fails;
 *  - a use after free touches unmapped memory (until the kernel reuses the range): SEGV too.
 * Everything below the threshold (all other numpy arrays, CPython, goruntime's own mallocs)
 * still goes through ASan with full redzones and quarantine.
 *
 * Built by tools/sanitize.py *without* sanitizer flags; installed by sitecustomize in every
 * Python process of the sanitized run. Only the default context gets it (numpy's handler is a
 * contextvar): buffers allocated in a new thread's fresh context use ASan's allocator, which
 * is slower but just as correct.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MMAP_THRESHOLD ((size_t)64 << 20)
#define MAX_BLOCKS 4096

typedef struct { void *user; void *base; size_t total; size_t size; } block_t;
static block_t blocks[MAX_BLOCKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t page;

static void *map_block(size_t size) {
    size_t body = (size + page - 1) / page * page;
    size_t total = body + 2 * page;
    /* The user block ends exactly at the trailing guard page when size is a page multiple
       (goruntime's arena is); otherwise the tail of the last page is slack. */
    char *base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return NULL;
    if (mprotect(base + page, body, PROT_READ | PROT_WRITE) != 0) { munmap(base, total); return NULL; }
    void *user = base + page + (body - size) / 16 * 16;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_BLOCKS; i++) {
        if (blocks[i].user == NULL) {
            blocks[i] = (block_t){user, base, total, size};
            pthread_mutex_unlock(&lock);
            return user;
        }
    }
    pthread_mutex_unlock(&lock);
    munmap(base, total);
    return NULL;  /* table full: the caller falls back to malloc */
}

/* Unmaps *p* if it is one of ours; returns 1 then (and its size in *size), else 0. */
static int unmap_block(void *p, size_t *size) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_BLOCKS; i++) {
        if (blocks[i].user == p && p != NULL) {
            block_t b = blocks[i];
            blocks[i].user = NULL;
            pthread_mutex_unlock(&lock);
            if (size) *size = b.size;
            munmap(b.base, b.total);
            return 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

static size_t block_size(void *p) {
    size_t s = (size_t)-1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i].user == p && p != NULL) { s = blocks[i].size; break; }
    pthread_mutex_unlock(&lock);
    return s;
}

static void *h_malloc(void *ctx, size_t n) {
    if (n >= MMAP_THRESHOLD) { void *p = map_block(n); if (p) return p; }
    return malloc(n);
}

static void *h_calloc(void *ctx, size_t nelem, size_t elsize) {
    size_t n;
    if (__builtin_mul_overflow(nelem, elsize, &n)) return NULL;
    if (n >= MMAP_THRESHOLD) { void *p = map_block(n); if (p) return p; }  /* mmap is zeroed */
    return calloc(nelem, elsize);
}

static void *h_realloc(void *ctx, void *ptr, size_t n) {
    size_t old = block_size(ptr);
    if (old == (size_t)-1) {                       /* a malloc-ed block (or NULL) */
        if (n < MMAP_THRESHOLD || ptr == NULL) return n < MMAP_THRESHOLD ? realloc(ptr, n) : h_malloc(ctx, n);
        void *q = map_block(n);
        if (!q) return realloc(ptr, n);
        size_t have = malloc_usable_size(ptr);
        memcpy(q, ptr, have < n ? have : n);
        free(ptr);
        return q;
    }
    void *q = h_malloc(ctx, n);
    if (!q) return NULL;
    memcpy(q, ptr, old < n ? old : n);
    unmap_block(ptr, NULL);
    return q;
}

static void h_free(void *ctx, void *ptr, size_t size) {
    if (!unmap_block(ptr, NULL)) free(ptr);
}

static PyDataMem_Handler handler = {
    "goruntime_sanitize_mmap", 1,
    {NULL, h_malloc, h_calloc, h_realloc, h_free},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "numpy_mmap_alloc", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_numpy_mmap_alloc(void) {
    import_array();
    page = (size_t)sysconf(_SC_PAGESIZE);
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    PyObject *cap = PyCapsule_New(&handler, "mem_handler", NULL);
    if (!cap) { Py_DECREF(m); return NULL; }
    PyObject *old = PyDataMem_SetHandler(cap);
    Py_DECREF(cap);
    if (!old) { Py_DECREF(m); return NULL; }
    Py_DECREF(old);
    return m;
}
