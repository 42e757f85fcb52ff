# One home for the C scalar names used across goruntime's extensions (sklearn _typedefs.pxd).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
ctypedef Py_ssize_t intp_t
