# _mark.pxd: the collector's kernels, for the workloads and test harness. See _mark.pyx.
from goruntime._types cimport uint64_t, intp_t
from goruntime._heap cimport mheap_t

cdef intp_t sweep_span(mheap_t* h, intp_t si) noexcept nogil
