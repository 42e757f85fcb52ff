# cython: embedsignature=True
"""Handles: Go pointers and slices held by Python code.

A handle (``Pointer``, ``SliceValue``) is what a Go local variable holds. While the
Python object lives, the address it holds is a *stack root*: it owns one slot of the
heap's root table (O(1) to add and remove, in Cython), and the slot is freed in
``__dealloc__``, i.e. the moment CPython drops the last reference. So ``a = None`` makes
the object unreachable exactly as losing the last Go reference does.

Field access reads and writes the emulated heap directly:

- scalars are read and written with the field's C type (range-checked on write);
- a pointer field reads as a new handle, or ``None`` for nil; storing one writes the
  address (Go's assignability rules are checked, with the compiler's error wording);
- a slice field reads as a ``SliceValue``, a string field as a Python ``str`` (the bytes
  are in the heap, or in "rodata" for strings that came from Python literals, as Go's
  string constants are): a ``gostring.LoadedString``, which is also the Go string
  variable (its header; storing it shares the bytes, ``rt.concat`` of it allocates);
- an array or struct field reads as an interior pointer to it (as ``&p.f`` would), so
  ``p.pad[2] = 1`` and ``p.inner.x = 3`` write in place; assigning to such a field
  copies a value of the same type (a handle, or a sequence for arrays);
- interface fields hold a handle or ``None``; map, chan and func fields hold addresses.

Handles compare equal when they hold the same address (``p == q`` is Go's ``p == q``).
"""
import numpy as np

from libc.string cimport memcpy, memset
from cpython.object cimport PyObject_GenericGetAttr
from cpython.ref cimport PyObject, Py_XINCREF, Py_XDECREF
from cpython.mem cimport PyObject_Malloc, PyMem_Malloc, PyMem_Realloc, PyMem_Free
from cpython.weakref cimport PyWeakref_NewRef, PyWeakref_GET_OBJECT
from cpython.dict cimport PyDict_GetItemWithError
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.long cimport PyLong_CheckExact, PyLong_AsLongLongAndOverflow
from cpython.pythread cimport PyThread_get_thread_ident
from goruntime._types cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, intp_t
from goruntime._heap cimport (
    Heap, root_add_handle, root_remove, addr_ptr, span_of, object_bounds, ZEROBASE,
    PAGE_SHIFT, mallocgc, mallocgc_typed, set_heap_bits, write_barrier, bulk_barrier,
)
cimport cython

from goruntime import types as _types
from goruntime.errors import BoundsError, Panic

cdef extern from "<complex.h>":
    pass

# Handles tracked lazily by CPython's cycle collector (`pending_alloc`, `track_pending`).
# GR_LAZY_GC: the interpreter's GC header is the two words before the object, untracked
# means ``next == 0``, and the low two bits of ``prev`` are the collector's own flags
# (CPython 3.11-3.13 with the GIL: Include/internal/pycore_gc.h); anywhere else handles
# are allocated and tracked as any object.
cdef extern from *:
    """
    #if !defined(PYPY_VERSION) && !defined(Py_LIMITED_API) && !defined(Py_GIL_DISABLED) \
        && PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
    #define GR_LAZY_GC 1
    #else
    #define GR_LAZY_GC 0
    #endif
    typedef struct { uintptr_t next; uintptr_t prev; } gr_gchead;
    #define GR_GCHEAD(o) (((gr_gchead *)(o)) - 1)
    /* PyThread_get_thread_ident() without the call into libpython: on Linux it is
       pthread_self() (Python/thread_pthread.h), so both name a thread alike */
    #if defined(__linux__) && !defined(Py_GIL_DISABLED)
    #include <pthread.h>
    #define GR_THREAD_IDENT() ((unsigned long)pthread_self())
    #else
    #define GR_THREAD_IDENT() PyThread_get_thread_ident()
    #endif
    """
    const bint GR_LAZY_GC
    unsigned long GR_THREAD_IDENT() nogil
    ctypedef struct gr_gchead:
        size_t next
        size_t prev
    gr_gchead* GR_GCHEAD(PyObject* o) nogil

# The ``heap`` field of a handle as a C slot (`handle_dealloc` clears it without the
# reference counting of a typed assignment, on an object whose count is already zero).
# The struct name is Cython's for `Handle`: a rename fails to compile, it cannot misread.
cdef extern from *:
    """
    #define GR_HANDLE_HEAP_SLOT(o) \
        ((PyObject **)&((struct __pyx_obj_9goruntime_7_object_Handle *)(o))->heap)
    """
    PyObject** GR_HANDLE_HEAP_SLOT(PyObject* o) nogil

cdef enum Kind:
    K_BOOL = 1
    K_I8
    K_I16
    K_I32
    K_I64
    K_U8
    K_U16
    K_U32
    K_U64
    K_F32
    K_F64
    K_C64
    K_C128
    K_PTR
    K_UNSAFE
    K_STRING
    K_SLICE
    K_ARRAY
    K_STRUCT
    K_IFACE
    K_WORD          # map, chan, func: a pointer-shaped word, read as an int address

_KIND = {
    "bool": K_BOOL, "int8": K_I8, "int16": K_I16, "int32": K_I32, "int64": K_I64, "int": K_I64,
    "uint8": K_U8, "uint16": K_U16, "uint32": K_U32, "uint64": K_U64, "uint": K_U64,
    "uintptr": K_U64, "float32": K_F32, "float64": K_F64, "complex64": K_C64,
    "complex128": K_C128, "ptr": K_PTR, "unsafe.Pointer": K_UNSAFE, "string": K_STRING,
    "slice": K_SLICE, "array": K_ARRAY, "struct": K_STRUCT, "interface": K_IFACE,
    "map": K_WORD, "chan": K_WORD, "func": K_WORD,
}
_INT_RANGE = {
    K_I8: (-(1 << 7), (1 << 7) - 1), K_I16: (-(1 << 15), (1 << 15) - 1),
    K_I32: (-(1 << 31), (1 << 31) - 1), K_I64: (-(1 << 63), (1 << 63) - 1),
    K_U8: (0, (1 << 8) - 1), K_U16: (0, (1 << 16) - 1), K_U32: (0, (1 << 32) - 1),
    K_U64: (0, (1 << 64) - 1),
}

# Per-type caches keyed by the type object's identity: hashing a Type hashes its whole
# structure (Go type identity), far too slow for every field access. Each entry keeps
# its type alive, so an id is never reused while cached.
cdef dict _kind_cache = {}
cdef dict _field_cache = {}
cdef dict _assignable_cache = {}


cdef inline int kind_of(object t) except -1:
    cdef object e = _kind_cache.get(id(t))
    if e is None:
        e = (t, _KIND[t.underlying.kind])
        _kind_cache[id(t)] = e
    return (<tuple>e)[1]


cdef dict _elem_cache = {}


cdef inline object elem_of(object t):
    """``t.underlying.elem`` for pointer and slice types, cached."""
    cdef object e = _elem_cache.get(id(t))
    if e is None:
        e = (t, t.underlying.elem)
        _elem_cache[id(t)] = e
    return (<tuple>e)[1]


cdef object assign_check(object src, object dst):
    """Go's assignability error for *src* -> *dst*, or None (cached per pair of types)."""
    cdef tuple key = (id(src), id(dst))
    cdef object e = _assignable_cache.get(key)
    if e is None:
        e = (src, dst, _types.assign_error(src, dst, "x", "variable"))
        _assignable_cache[key] = e
    return (<tuple>e)[2]


cdef tuple field_info(object t, str name):
    """(offset, type, kind) of field *name* of struct type *t*, cached."""
    cdef object e = _field_cache.get(id(t))
    cdef dict fields
    if e is None:
        if t.underlying.kind != "struct":
            raise AttributeError(f"{t} is not a struct type (no field {name})")
        fields = {f.name: (f.offset, f.type, kind_of(f.type)) for f in t.underlying.fields}
        _field_cache[id(t)] = (t, fields)
    else:
        fields = (<tuple>e)[1]
    info = fields.get(name)
    if info is None:
        raise AttributeError(f"{t.go_string()}.{name} undefined (type {t.go_string()} has no field or method {name})")
    return info


# ---------------------------------------------------------------------------------------
# Per-type compiled accessors
#
# A handle's hot operations (``p.x``, ``p.x = v``, ``p.a``, ``s[i]``, ``rt.new(T)``) look
# their type up once: a `TypeInfo` per Go type (kind, size, allocation facts) and, for a
# struct, one `Field` accessor per field (offset, kind, the pointee's `TypeInfo`). A field
# access is then one dict lookup by the (interned) attribute name and a C switch; the
# common kinds (int64 and pointer fields, int64 slice elements) are read and written
# inline, every other kind and every error goes through `load` / `store`, so messages and
# checks are those of the general path.

cdef dict _info_cache = {}          # id(type) -> TypeInfo (which keeps the type alive);
                                    # never emptied: Handle.info borrows its entries
cdef object _last_t = None          # one-entry cache in front of it (loops touch one type)
cdef TypeInfo _last_info = None


@cython.final
cdef class TypeInfo:
    """What handles need of one Go type, computed once and on first use."""
    cdef readonly object t
    cdef int kind                   # -1 until first needed
    cdef int64_t size               # -1 until first needed
    cdef dict fields                # struct: name -> Field (None until built)
    cdef tuple names                # the same names and Fields in two tuples: a field
    cdef tuple accessors            # name in code is interned, found by identity first
    cdef PyObject** cnames          # their items as C arrays (borrowed from the tuples,
    cdef PyObject** cfields         # which this TypeInfo keeps): `find`'s scan
    cdef Py_ssize_t nnames
    # new(T): size, noscan, GC mask (one byte per word; `mask_count` repetitions of it:
    # an array's is its element's, never the whole table), once `alloc_ready`
    cdef bint alloc_ready
    cdef uint64_t asize
    cdef bint noscan
    cdef bytes mask
    cdef intp_t mask_count
    # the Go types *T and []T, made once (handles' ``gotype``)
    cdef object ptr_type
    cdef object slice_type

    def __cinit__(self, t):
        self.t = t
        self.kind = -1
        self.size = -1

    cdef inline int get_kind(self) except -1:
        if self.kind < 0:
            self.kind = kind_of(self.t)
        return self.kind

    cdef inline int64_t get_size(self) except -1:
        if self.size < 0:
            self.size = self.t.size
        return self.size

    cdef dict get_fields(self):
        cdef dict d
        cdef Py_ssize_t i, n
        if self.fields is None:
            d = {}
            u = self.t.underlying
            if u.kind == "struct":
                for f in u.fields:
                    # the handle's own attributes win over fields of the same name
                    if f.name in _POINTER_ATTRS or f.name[:2] == "__":
                        continue
                    d[f.name] = Field(f.name, f.offset, f.type, kind_of(f.type))
            self.names = tuple(d)
            self.accessors = tuple(d.values())
            n = len(d)
            self.cnames = <PyObject**>PyMem_Malloc((2 * n + 1) * sizeof(PyObject*))
            if self.cnames == NULL:
                raise MemoryError()
            self.cfields = self.cnames + n
            for i in range(n):
                self.cnames[i] = PyTuple_GET_ITEM(self.names, i)
                self.cfields[i] = PyTuple_GET_ITEM(self.accessors, i)
            self.nnames = n
            self.fields = d
        return self.fields

    def __dealloc__(self):
        PyMem_Free(self.cnames)

    cdef inline PyObject* find(self, str name) except? NULL:
        """The `Field` called *name* (borrowed), or NULL."""
        cdef Py_ssize_t i
        cdef PyObject** names = self.cnames
        if self.fields is None:
            self.get_fields()
            names = self.cnames
        for i in range(self.nnames):
            if names[i] == <PyObject*>name:
                return self.cfields[i]
        return PyDict_GetItemWithError(self.fields, name)

    cdef object get_ptr_type(self):
        if self.ptr_type is None:
            self.ptr_type = _types.Ptr(self.t)
        return self.ptr_type

    cdef object get_slice_type(self):
        if self.slice_type is None:
            self.slice_type = _types.Slice(self.t)
        return self.slice_type

    cdef int prepare_alloc(self) except -1:
        t = self.t
        self.noscan = not t.has_pointers
        self.mask_count = 1
        if self.noscan:
            self.mask = None
        else:
            unit, count = t.gc_mask_unit()
            self.mask = np.ascontiguousarray(unit, dtype=np.uint8).tobytes()
            self.mask_count = count
        self.asize = t.size
        self.alloc_ready = True
        return 0


cdef TypeInfo info_of(object t):
    """The `TypeInfo` of Go type *t* (None for None, the unknown pointee of unsafe.Pointer)."""
    global _last_t, _last_info
    cdef object e
    if t is _last_t:
        return _last_info
    if t is None:
        return None
    e = _info_cache.get(id(t))
    if e is None:
        e = TypeInfo(t)
        _info_cache[id(t)] = e
    _last_t = t
    _last_info = <TypeInfo>e
    return <TypeInfo>e


@cython.final
cdef class Field:
    """A compiled accessor for one field of one struct type."""
    cdef readonly str name
    cdef readonly uint64_t offset
    cdef readonly object type
    cdef int kind
    cdef TypeInfo target            # pointer/slice fields: the element's TypeInfo, on first use

    def __cinit__(self, str name, uint64_t offset, t, int kind):
        self.name = name
        self.offset = offset
        self.type = t
        self.kind = kind

    cdef inline TypeInfo get_target(self):
        if self.target is None:
            self.target = info_of(elem_of(self.type))
        return self.target


cdef inline bint _in_arena(Heap heap, uint64_t a) noexcept:
    """`_check_live(heap, a, 1)` would pass (and *a* is neither nil nor zerobase)."""
    return a != ZEROBASE and a >= heap.h.arena_start and \
        a + 1 <= heap.h.arena_start + (<uint64_t>heap.h.mapped_pages << PAGE_SHIFT)


cdef object field_get(Pointer p, Field f):
    """``p.<f>``: int64 and pointer fields inline, everything else through `load`."""
    cdef Heap heap = p.heap
    cdef uint64_t a = p.addr + f.offset, w
    cdef int k = f.kind
    if heap is not None and heap.dead is not None:
        heap.check_alive()                     # a dead runtime: every call raises (as load)
    if (k == K_I64 or (k == K_PTR and not heap.threaded)) and _in_arena(heap, a):
        heap.h.mut_loads += 1                  # the virtual clock's meter
        if k == K_I64:
            return (<int64_t*>addr_ptr(&heap.h, a))[0]
        w = (<uint64_t*>addr_ptr(&heap.h, a))[0]
        if w == 0:
            return None
        return new_pointer_i(handle_runtime(p), heap, w, f.get_target())
    return load(p, a, f.type, k)


cdef int field_set(Pointer p, Field f, object v) except -1:
    """``p.<f> = v``: exact ints into int64 fields and same-type pointers inline, every
    other value (and every error) through `store`."""
    cdef Heap heap = p.heap
    cdef uint64_t a = p.addr + f.offset
    cdef int k = f.kind, overflow = 0
    cdef int64_t x
    cdef TypeInfo ti
    check_heap(heap)
    if not heap.threaded and _in_arena(heap, a):
        if k == K_I64 and PyLong_CheckExact(v):
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if not overflow:
                (<int64_t*>addr_ptr(&heap.h, a))[0] = x
                heap.h.mut_stores += 1         # the virtual clock's meter
                return 0
        elif k == K_PTR:
            if v is None:
                if heap.h.write_barrier:
                    write_barrier(&heap.h, a, 0)
                (<uint64_t*>addr_ptr(&heap.h, a))[0] = 0
                heap.h.mut_ptr_stores += 1
                return 0
            ti = f.get_target()
            if type(v) is Pointer and (<Pointer>v).heap is heap and ti is not None \
                    and (<Handle>v).info == <PyObject*>ti:
                if heap.h.write_barrier:
                    write_barrier(&heap.h, a, (<Pointer>v).addr)
                (<uint64_t*>addr_ptr(&heap.h, a))[0] = (<Pointer>v).addr
                heap.h.mut_ptr_stores += 1
                return 0
        return store(p, a, f.type, k, v)
    if heap.threaded:
        with heap.lock:
            store(p, a, f.type, k, v)
        return 0
    return store(p, a, f.type, k, v)


@cython.no_gc_clear
@cython.auto_pickle(False)
cdef class Handle:
    """Base of the values that hold a Go pointer: a root while the Python object lives.

    ``no_gc_clear``: when Python's cycle collector frees a cycle that holds a handle, the
    handle's ``heap`` must still be there in ``__dealloc__`` to give its root slot back.

    A `Pointer` adds no field: a handle read and dropped at once (``p.a`` in an
    expression) is recycled through a freelist of Pointer-sized objects (`pending_alloc`,
    `handle_dealloc`), skipping the object allocator and CPython's allocation count.
    The pointee type is reached through its `TypeInfo` (borrowed: TypeInfos live in
    _info_cache for good), the runtime through the heap (`bind_handle`), and no handle
    class has C methods (no vtable pointer): a `Pointer` is 64 bytes with its GC header,
    the size of a four-slot Python object. It holds two references that CPython's cycle
    collector traverses (heap, runtime: `handle_traverse`).
    """
    cdef Heap heap                  # holds one reference to the heap's runtime besides
                                    # (`bind_handle`; Heap.handle_runtime, `handle_traverse`)
    cdef readonly uint64_t addr
    cdef intp_t slot
    cdef PyObject* info             # the pointee / element type's TypeInfo; NULL: none
                                    # (unsafe.Pointer)

    @property
    def runtime(self):
        """The Runtime this handle belongs to (None for a handle made with ``__new__``)."""
        return handle_runtime(self)

    @property
    def elem(self):
        """The pointee type ``T`` of a ``*T``, the element type of a ``[]T`` (None for
        unsafe.Pointer)."""
        return handle_elem(self)

    # A handle is a root slot of one process's heap: it cannot be pickled (its state would
    # forge a slot), and a copy is a new handle with a root of its own. Cython's
    # auto-pickle is off, so no handle is ever rebuilt from outside state; one made with
    # ``__new__`` alone has no heap and no address, and every access to it raises.
    def __reduce_ex__(self, protocol):
        raise TypeError("goruntime: cannot pickle %s: a Go pointer is an address in one "
                        "Runtime's heap (copy the values out instead)" % type(self).__name__)

    def __reduce__(self):
        return self.__reduce_ex__(0)

    def __copy__(self):
        return self._rebuild()

    def __deepcopy__(self, memo):
        raise TypeError("goruntime: cannot deepcopy %s: it would share its object with the "
                        "original (copy.copy gives a second handle to the same object; "
                        "rt.new(T) and .value = ... copy the object)" % type(self).__name__)

    def _rebuild(self):
        raise TypeError("goruntime: cannot copy a bare Handle")

    def __dealloc__(self):
        cdef Heap heap = self.heap
        unpend(<PyObject*>self)
        if heap is None:
            return
        if self.slot >= 0:
            # a handle may die in any thread (the cycle collector's): outside the owner
            # thread of a cooperative runtime it waits for a running collection too
            if (heap.threaded or PyThread_get_thread_ident() != heap.owner) \
                    and heap.lock is not None:
                with heap.lock:
                    root_remove(&heap.h, self.slot)
            else:
                root_remove(&heap.h, self.slot)
        Py_XDECREF(<PyObject*>heap.handle_runtime)     # the reference `bind_handle` took


cdef inline object handle_runtime(Handle h):
    """*h*'s Runtime: the heap's (every handle of a heap belongs to its one runtime)."""
    if h.heap is None or h.heap.handle_runtime == NULL:
        return None
    return <object>h.heap.handle_runtime


cdef inline int bind_handle(Handle h, object rt, Heap heap) except -1:
    """Make *h* a handle of *heap* (and of its runtime *rt*): *h* holds a reference to
    each. The runtime's is taken here and given back in ``__dealloc__``, not kept in a
    field: the heap knows its runtime, so a handle is 64 bytes with its GC header, as a
    four-slot Python object (`handle_traverse` shows it to the cycle collector)."""
    bind_runtime(heap, rt)
    h.heap = heap
    return 0


cdef inline int bind_runtime(Heap heap, object rt) except -1:
    """The runtime half of `bind_handle`: *rt* must be *heap*'s runtime; takes the
    reference a handle holds to it."""
    if heap.handle_runtime != <void*>rt:
        if heap.handle_runtime != NULL:
            raise ValueError("goruntime: this heap belongs to a different Runtime")
        heap.handle_runtime = <void*>rt        # borrowed: every handle holds a reference
    Py_XINCREF(<PyObject*>rt)
    return 0


cdef inline int root_handle(Handle h) except -1:
    """Give *h* a root slot if its address is in an in-use span of its heap."""
    cdef uint64_t a = h.addr
    cdef Heap heap = h.heap
    h.slot = -1
    if a != 0 and a != ZEROBASE and span_of(&heap.h, a) >= 0:
        if heap.threaded:                      # the collector may be scanning the table
            with heap.lock:
                h.slot = root_add_handle(&heap.h, a)
        else:
            h.slot = root_add_handle(&heap.h, a)
    return 0


cdef inline TypeInfo handle_info(Handle h):
    """*h*'s pointee / element `TypeInfo`, or None (unsafe.Pointer)."""
    if h.info == NULL:
        return None
    return <TypeInfo>h.info


cdef inline object handle_elem(Handle h):
    """*h*'s pointee / element type, or None."""
    if h.info == NULL:
        return None
    return (<TypeInfo>h.info).t


cdef inline int check_runtime(Handle self, Handle other) except -1:
    if other.heap is not self.heap:
        raise ValueError("goruntime: handle %r belongs to a different Runtime" % (other,))
    return 0


cdef inline int _check_live(Heap heap, uint64_t addr, uint64_t n) except -1:
    if addr < heap.h.arena_start or addr + n > heap.h.arena_start + (<uint64_t>heap.h.mapped_pages << PAGE_SHIFT):
        raise ValueError("goruntime: address %#x is not in this runtime's heap" % addr)
    return 0


cdef object load(Handle owner, uint64_t a, object t, int k):
    """Read a value of type *t* (kind *k*) at heap address *a*.

    With goroutines as threads, loading a pointer and rooting its new handle is one step
    under the world lock: a GC in another thread must not free the object in between.
    """
    if owner.heap is not None:
        owner.heap.h.mut_loads += 1            # the virtual clock's meter
    if owner.heap.threaded and (k == K_PTR or k == K_UNSAFE or k == K_SLICE
                                or k == K_IFACE or k == K_STRING):
        with owner.heap.lock:
            return load_unlocked(owner, a, t, k)
    return load_unlocked(owner, a, t, k)


cdef object load_unlocked(Handle owner, uint64_t a, object t, int k):
    cdef Heap heap = owner.heap
    cdef uint8_t* p
    cdef uint64_t w, n
    if heap is not None and heap.dead is not None:
        heap.check_owner()                     # raises: the runtime is dead
    if a == ZEROBASE or a == 0:
        if a == ZEROBASE and (k == K_ARRAY or k == K_STRUCT):
            return new_pointer(handle_runtime(owner), heap, a, t)     # a zero-size value: nothing to read
        raise ValueError("goruntime: cannot read through a zero-size or nil object")
    _check_live(heap, a, 1)
    p = addr_ptr(&heap.h, a)
    if k == K_I64:
        return (<int64_t*>p)[0]
    if k == K_PTR:
        w = (<uint64_t*>p)[0]
        return None if w == 0 else new_pointer(handle_runtime(owner), heap, w, elem_of(t))
    if k == K_U64:
        return (<uint64_t*>p)[0]
    if k == K_BOOL:
        return p[0] != 0
    if k == K_I32:
        return (<int32_t*>p)[0]
    if k == K_U8:
        return p[0]
    if k == K_F64:
        return (<double*>p)[0]
    if k == K_I8:
        return (<signed char*>p)[0]
    if k == K_I16:
        return (<short*>p)[0]
    if k == K_U16:
        return (<uint16_t*>p)[0]
    if k == K_U32:
        return (<uint32_t*>p)[0]
    if k == K_F32:
        return (<float*>p)[0]
    if k == K_C64:
        return complex((<float*>p)[0], (<float*>p)[1])
    if k == K_C128:
        return complex((<double*>p)[0], (<double*>p)[1])
    if k == K_UNSAFE:
        w = (<uint64_t*>p)[0]
        return None if w == 0 else new_pointer(handle_runtime(owner), heap, w, None)
    if k == K_SLICE:
        w = (<uint64_t*>p)[0]
        return new_slice(handle_runtime(owner), heap, w, (<int64_t*>p)[1], (<int64_t*>p)[2], elem_of(t))
    if k == K_STRING:
        w = (<uint64_t*>p)[0]
        n = (<uint64_t*>p)[1]
        return handle_runtime(owner).read_string(w, n)
    if k == K_ARRAY or k == K_STRUCT:
        return new_pointer(handle_runtime(owner), heap, a, t)
    if k == K_IFACE:
        w = (<uint64_t*>p)[1]
        if w == 0:
            return None
        it = handle_runtime(owner).rodata.type_of_word((<uint64_t*>p)[0])
        if it is not None and it.underlying.kind == "ptr":
            return new_pointer(handle_runtime(owner), heap, w, it.underlying.elem)
        if it is not None:                     # a boxed value (iface.py)
            return _unbox_hook(handle_runtime(owner), it, w)
        return new_pointer(handle_runtime(owner), heap, w, None)
    if k == K_WORD:
        w = (<uint64_t*>p)[0]
        if w != 0 and t.underlying.kind == "map":
            return _map_hook(handle_runtime(owner), w, t)        # maps.py
        if w != 0 and t.underlying.kind == "func" and _func_hook is not None:
            return _func_hook(handle_runtime(owner), w, t)       # closure.py
        if w != 0 and t.underlying.kind == "chan" and _chan_hook is not None:
            return _chan_hook(handle_runtime(owner), w, t)       # chan.py
        return None if w == 0 else w
    raise TypeError("goruntime: cannot read a value of type %s" % t)


cdef str _src_desc(object v):
    """How the Go compiler would describe Python value *v* in an assignment error."""
    if isinstance(v, Handle):
        return "x (variable of type %s)" % v.gotype.go_string()
    if isinstance(v, bool):
        return "%s (untyped bool constant)" % ("true" if v else "false")
    if isinstance(v, int):
        return "%d (untyped int constant)" % v
    if isinstance(v, float):
        return "%r (untyped float constant)" % v
    if isinstance(v, _loaded_string_type):
        return "x (variable of type string)"
    if isinstance(v, str):
        return '"%s" (untyped string constant)' % v
    return "%r (value of Python type %s)" % (v, type(v).__name__)


cdef object assign_type_error(object v, object t):
    return TypeError("cannot use %s as %s value in assignment" % (_src_desc(v), t.go_string()))


cdef inline void wb_word(Heap heap, uint64_t a, uint64_t v) noexcept:
    """The write barrier for a pointer word store at heap address *a* (a no-op outside a
    mark, and for a zero-size value's non-heap address)."""
    if heap.h.write_barrier and a != 0 and a != ZEROBASE:
        write_barrier(&heap.h, a, v)


cdef int store(Handle owner, uint64_t a, object t, int k, object v, bint dry=False) except -1:
    """Write Python value *v* as a value of type *t* at heap address *a*.

    Every check comes before the first byte is written, so a store that raises writes
    nothing; with *dry*, only the checks run (an array checks all its elements first).
    """
    cdef Heap heap = owner.heap
    cdef uint8_t* p = NULL
    cdef Handle hv
    cdef object lo, hi, err
    check_heap(heap)
    if not dry:                                # the virtual clock's meter
        if k == K_PTR or k == K_UNSAFE:
            heap.h.mut_ptr_stores += 1
        else:
            heap.h.mut_stores += 1
    if dry and a == 0:
        pass                                   # checks only (check_store)
    elif a == ZEROBASE or a == 0:
        if a == 0 or (k != K_ARRAY and k != K_STRUCT):
            raise ValueError("goruntime: cannot write through a zero-size or nil object")
        # a zero-size value (Go: *p = struct{}{}): checked below, nothing is written
    else:
        _check_live(heap, a, 1)
        p = addr_ptr(&heap.h, a)
    if k == K_PTR or k == K_UNSAFE:
        if v is None:
            if not dry:
                wb_word(heap, a, 0)
                (<uint64_t*>p)[0] = 0
            return 0
        if not isinstance(v, Pointer):
            raise assign_type_error(v, t)
        hv = <Handle>v
        check_runtime(owner, hv)
        if k == K_PTR and handle_elem(<Handle>v) is not elem_of(t):
            err = assign_check((<Pointer>v).gotype, t)
            if err is not None:
                raise TypeError(err)
        if not dry:
            wb_word(heap, a, hv.addr)
            (<uint64_t*>p)[0] = hv.addr
        return 0
    if k >= K_I8 and k <= K_U64:
        if isinstance(v, bool) or not isinstance(v, int):
            raise assign_type_error(v, t)
        lo, hi = _INT_RANGE[k]
        if v < lo or v > hi:
            raise OverflowError("cannot use %d (untyped int constant) as %s value in assignment (overflows)" % (v, t.go_string()))
        if dry: return 0
        if k == K_I64: (<int64_t*>p)[0] = v
        elif k == K_U64: (<uint64_t*>p)[0] = v
        elif k == K_I32: (<int32_t*>p)[0] = v
        elif k == K_U32: (<uint32_t*>p)[0] = v
        elif k == K_I16: (<short*>p)[0] = v
        elif k == K_U16: (<uint16_t*>p)[0] = v
        elif k == K_I8: (<signed char*>p)[0] = v
        else: p[0] = v
        return 0
    if k == K_BOOL:
        if not isinstance(v, bool):
            raise assign_type_error(v, t)
        if not dry:
            p[0] = 1 if v else 0
        return 0
    if k == K_F64 or k == K_F32:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise assign_type_error(v, t)
        if dry:
            float(v)                           # OverflowError for an int too big
            return 0
        if k == K_F64: (<double*>p)[0] = v
        else: (<float*>p)[0] = v
        return 0
    if k == K_C64 or k == K_C128:
        if isinstance(v, bool) or not isinstance(v, (int, float, complex)):
            raise assign_type_error(v, t)
        v = complex(v)
        if dry: return 0
        if k == K_C128:
            (<double*>p)[0] = v.real
            (<double*>p)[1] = v.imag
        else:
            (<float*>p)[0] = v.real
            (<float*>p)[1] = v.imag
        return 0
    if k == K_SLICE:
        if v is None:
            if not dry:
                wb_word(heap, a, 0)
                memset(p, 0, 24)
            return 0
        if not isinstance(v, SliceValue):
            raise assign_type_error(v, t)
        check_runtime(owner, <Handle>v)
        err = assign_check((<SliceValue>v).gotype, t)
        if err is not None:
            raise TypeError(err)
        if dry: return 0
        wb_word(heap, a, (<Handle>v).addr)
        (<uint64_t*>p)[0] = (<Handle>v).addr
        (<int64_t*>p)[1] = (<SliceValue>v).length
        (<int64_t*>p)[2] = (<SliceValue>v).capacity
        return 0
    if k == K_STRING:
        if isinstance(v, _loaded_string_type) and (<object>v).runtime is handle_runtime(owner):
            v = (<object>v)._go_string             # a string variable: its header (gostring.py)
            check_string(owner, <tuple>v)
            if dry: return 0
        elif isinstance(v, str):
            if dry: return 0
            v = handle_runtime(owner).rodata.string(v)
        elif isinstance(v, tuple):
            check_string(owner, <tuple>v)
            if dry: return 0
        elif isinstance(v, _string_value_type):   # rt.StringValue (gostring.py)
            v = v._go_string
            check_string(owner, <tuple>v)
            if dry: return 0
        else:
            raise assign_type_error(v, t)
        wb_word(heap, a, v[0])
        (<uint64_t*>p)[0] = v[0]
        (<uint64_t*>p)[1] = v[1]
        return 0
    if k == K_ARRAY or k == K_STRUCT:
        if isinstance(v, Pointer) and handle_elem(<Handle>v) == t:
            check_runtime(owner, <Handle>v)
            if dry or p == NULL:
                return 0
            n = t.size
            if n:
                if heap.h.write_barrier and not (a & 7):
                    bulk_barrier(&heap.h, a, addr_ptr(&heap.h, (<Handle>v).addr), n)
                memcpy(p, addr_ptr(&heap.h, (<Handle>v).addr), n)
            return 0
        if k == K_STRUCT and isinstance(v, dict):
            # a struct literal T{name: value, ...}: the fields not named are zero
            fs = t.underlying.fields
            names = {f.name for f in fs if f.name != "_"}
            for name in v:
                if name not in names:
                    raise TypeError("unknown field %s in struct literal of type %s" % (name, t.go_string()))
            for f in fs:                      # check every field before writing any
                if f.name in v:
                    store(owner, a + f.offset if a else 0, f.type, kind_of(f.type), v[f.name], True)
            if not dry and p != NULL:
                for f in fs:
                    if f.name in v:
                        store(owner, a + f.offset, f.type, kind_of(f.type), v[f.name], False)
                    elif f.type.size:
                        memset(p + <uint64_t>f.offset, 0, <size_t>f.type.size)
            return 0
        if k == K_ARRAY and isinstance(v, (list, tuple)):
            et = t.underlying.elem
            ek = kind_of(et)
            es = et.size
            if len(v) != t.underlying.len:
                raise TypeError("cannot use %d values as %s value in assignment" % (len(v), t.go_string()))
            for i, x in enumerate(v):         # check every element before writing any
                store(owner, a + i * es if a else 0, et, ek, x, True)
            if not dry:
                for i, x in enumerate(v):
                    store(owner, a + i * es, et, ek, x, False)
            return 0
        raise assign_type_error(v, t)
    if k == K_IFACE:
        if v is None:
            if not dry:
                wb_word(heap, a, 0)
                wb_word(heap, a + 8, 0)
                memset(p, 0, 16)
            return 0
        if not isinstance(v, Pointer):         # a value boxed as Go boxes it (iface.py)
            if _box_hook is None:
                raise TypeError("goruntime: interface fields hold handles or None, not %s" % type(v).__name__)
            tw, dw = _box_hook(handle_runtime(owner), v, t, dry)
            if not dry:
                wb_word(heap, a, tw)
                wb_word(heap, a + 8, dw)
                (<uint64_t*>p)[0] = tw
                (<uint64_t*>p)[1] = dw
            return 0
        check_runtime(owner, <Handle>v)
        err = assign_check((<Pointer>v).gotype, t)
        if err is not None:
            raise TypeError(err)
        if dry: return 0
        tw = handle_runtime(owner).rodata.type_word((<Pointer>v).gotype)
        wb_word(heap, a, tw)
        wb_word(heap, a + 8, (<Handle>v).addr)
        (<uint64_t*>p)[0] = tw
        (<uint64_t*>p)[1] = (<Handle>v).addr
        return 0
    if k == K_WORD:
        if v is None:
            if not dry:
                wb_word(heap, a, 0)
                (<uint64_t*>p)[0] = 0
            return 0
        if isinstance(v, Handle):
            check_runtime(owner, <Handle>v)
            err = assign_check(v.gotype, t)     # a *T or []T is no map, chan or func
            if err is not None:
                raise TypeError(err)
            if not dry:
                wb_word(heap, a, (<Handle>v).addr)
                (<uint64_t*>p)[0] = (<Handle>v).addr
            return 0
        if isinstance(v, _word_value_type):     # rt.MapValue (maps.py), rt.FuncValue (closure.py), a channel (chan.py)
            w = v._go_word(handle_runtime(owner), t)
            if not dry:
                wb_word(heap, a, w)
                (<uint64_t*>p)[0] = w
            return 0
        if _func_word_hook is not None and t.underlying.kind == "func" and callable(v):
            w = _func_word_hook(handle_runtime(owner), v, t)   # a Python function: a static funcval
            if not dry:
                (<uint64_t*>p)[0] = w
            return 0
        raise assign_type_error(v, t)
    raise TypeError("goruntime: cannot store a value of type %s" % t)


cdef int check_string(Handle owner, tuple v) except -1:
    """A ``(ptr, len)`` pair stored into a string must be a string Go could have made.

    Go's unsafe.String checks come first (with its panics); then the bytes must be
    somewhere the string can live: inside one allocated object of this heap (so the next
    GC marks it, not "found bad pointer"), or in this runtime's rodata (a literal).
    """
    cdef Heap heap = owner.heap
    cdef uint64_t ptr, n, slot = 0, size = 0
    if len(v) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise TypeError("cannot use %r as string value in assignment "
                        "(a str, or the (ptr, len) of a string)" % (v,))
    if v[1] < 0 or v[1] > 1 << 48:
        raise Panic("runtime error: unsafe.String: len out of range")
    if v[0] == 0:
        if v[1] != 0:
            raise Panic("runtime error: unsafe.String: ptr is nil and len is not zero")
        return 0
    if v[0] < 0 or v[0] >= 1 << 64:
        raise ValueError("goruntime: string data pointer %d is not an address" % v[0])
    ptr, n = v[0], v[1]
    if n > 0xFFFFFFFFFFFFFFFF - ptr:
        raise Panic("runtime error: unsafe.String: len out of range")
    if isinstance(v, StringHeader):
        check_runtime(owner, <Handle>(<object>v)._data)
    if ptr >= heap.h.arena_start and ptr - heap.h.arena_start < heap.arena_cap:
        if not (object_bounds(&heap.h, ptr, &slot, &size) and ptr + n <= slot + size):
            raise ValueError("goruntime: string data %#x+%d is not inside an allocated object" % (ptr, n))
        return 0
    if n == 0:
        return 0                               # points nowhere in the heap: the GC ignores it
    if handle_runtime(owner).rodata.contains(ptr, n):
        return 0
    raise ValueError("goruntime: string data %#x+%d is not in this runtime" % (ptr, n))


class StringHeader(tuple):
    """``(ptr, len)`` of a Go string whose bytes are on the heap (what ``Runtime.string``
    returns: Go's ``string(b)``).

    A plain ``(ptr, len)`` tuple to Python (``ptr, n = r.string(b)``, ``p.s = r.string(b)``)
    that also holds a handle to the bytes: while the value lives they are rooted, as a Go
    string variable keeps its bytes alive, so a GC before it is stored does not free them.
    """

    def __new__(cls, ptr, n, data):
        self = tuple.__new__(cls, (ptr, n))
        self._data = data
        return self

    @property
    def ptr(self):
        return self[0]

    @property
    def len(self):
        return self[1]

    def __reduce__(self):
        return (tuple, (tuple(self),))


def index_error(i, n):
    """Go's message for index *i* outside ``[0, n)`` (runtime/error.go, boundsIndex):
    a negative index is reported without the length."""
    if i < 0:
        return f"runtime error: index out of range [{i}]"
    return f"runtime error: index out of range [{i}] with length {n}"


def slice_bounds_error(lo, hi, cap, what="capacity"):
    """Go's message for ``s[lo:hi]`` on a slice of capacity *cap*, or None if in range.

    Go checks *hi* against the capacity first (boundsSliceAcap: ``[:hi] with capacity
    cap``, ``[:hi]`` when negative), then *lo* against *hi* (boundsSliceB: ``[lo:hi]``,
    ``[lo:]`` when negative)."""
    if hi < 0:
        return f"runtime error: slice bounds out of range [:{hi}]"
    if hi > cap:
        return f"runtime error: slice bounds out of range [:{hi}] with {what} {cap}"
    if lo < 0:
        return f"runtime error: slice bounds out of range [{lo}:]"
    if lo > hi:
        return f"runtime error: slice bounds out of range [{lo}:{hi}]"
    return None


def slice3_bounds_error(lo, hi, mx, cap, what="capacity"):
    """Go's message for ``s[lo:hi:mx]`` on a slice of capacity *cap*, or None if in range:
    *mx* against the capacity (boundsSlice3Acap), then *hi* against *mx* (boundsSlice3B),
    then *lo* against *hi* (boundsSlice3C); a negative index without the other bound."""
    if mx < 0:
        return f"runtime error: slice bounds out of range [::{mx}]"
    if mx > cap:
        return f"runtime error: slice bounds out of range [::{mx}] with {what} {cap}"
    if hi < 0:
        return f"runtime error: slice bounds out of range [:{hi}:]"
    if hi > mx:
        return f"runtime error: slice bounds out of range [:{hi}:{mx}]"
    if lo < 0:
        return f"runtime error: slice bounds out of range [{lo}::]"
    if lo > hi:
        return f"runtime error: slice bounds out of range [{lo}:{hi}:]"
    return None


@cython.final
@cython.auto_pickle(False)
cdef class Pointer(Handle):
    """A Go pointer ``*T`` held by Python: a stack root while this object lives.

    ``p.field`` / ``p.field = v`` for struct fields, ``p[i]`` for arrays, ``p.value`` for
    any pointee, ``p.addr``, ``p.type`` (``*T``), ``p.elem`` (``T``), ``p == q`` by address,
    ``p.field_ptr(name)`` for an interior pointer (Go's ``&p.name``). A struct field whose
    name is one of the handle's own attributes (``value``, ``addr``, ``type``, ``elem``,
    ``runtime``) is reached as ``p.field_ptr("value").value``.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("goruntime: create pointers with rt.new(T), not Pointer()")

    @property
    def type(self):
        """The Go type of this pointer, ``*T`` (``unsafe.Pointer`` if the pointee is unknown)."""
        return self.gotype

    @property
    def gotype(self):
        cdef TypeInfo ti = handle_info(self)
        return _types.UnsafePointer if ti is None else ti.get_ptr_type()

    def __getattribute__(self, str name):
        # Struct fields first-class: Python's generic lookup would fail (and build an
        # AttributeError) on every field read before reaching __getattr__. The field's
        # compiled accessor first (the table leaves out the handle's own attributes);
        # the TypeInfo is borrowed (TypeInfos live for good), no reference taken.
        cdef PyObject* info = (<Handle>self).info
        cdef PyObject* f
        if info != NULL:
            f = (<TypeInfo>info).find(name)
            if f != NULL:
                return field_get(self, <Field>f)
        if name in _POINTER_ATTRS or name[:2] == "__":
            return PyObject_GenericGetAttr(self, name)
        if handle_elem(self) is None:
            raise AttributeError(f"unsafe.Pointer has no field {name}")
        if name == "ptr" and handle_elem(self).underlying.kind == "array":
            return self._elem_ptr               # &p.tail[i] (arrays have no fields)
        off, ft, k = field_info(handle_elem(self), name)
        return load(self, self.addr + off, ft, k)

    def __setattr__(self, str name, value):
        cdef TypeInfo ti = handle_info(self)
        cdef PyObject* f
        if ti is not None:
            f = ti.find(name)
            if f != NULL:
                field_set(self, <Field>f, value)
                return
        if name == "value":                    # the pointee itself (Go: *p = v)
            if handle_elem(self) is None:
                raise TypeError("cannot dereference unsafe.Pointer")
            with self.heap.lock:
                store(self, self.addr, handle_elem(self), kind_of(handle_elem(self)), value)
            return
        if handle_elem(self) is None:
            raise AttributeError(f"unsafe.Pointer has no field {name}")
        off, ft, k = field_info(handle_elem(self), name)
        if self.heap.threaded:
            with self.heap.lock:
                store(self, self.addr + off, ft, k, value)
        else:
            store(self, self.addr + off, ft, k, value)

    def _rebuild(self):
        if self.heap is None:
            raise TypeError("goruntime: cannot copy a Pointer that was not made by a Runtime")
        return new_pointer(handle_runtime(self), self.heap, self.addr, handle_elem(self))

    def field_ptr(self, str name):
        """An interior pointer to field *name* (Go: ``&p.name``)."""
        off, ft, _ = field_info(handle_elem(self), name)
        return new_pointer(handle_runtime(self), self.heap, self.addr + off, ft)

    @property
    def value(self):
        """The pointee (Go: ``*p``): a scalar, a str, a handle for pointer/slice pointees."""
        if handle_elem(self) is None:
            raise TypeError("cannot dereference unsafe.Pointer")
        return load(self, self.addr, handle_elem(self), kind_of(handle_elem(self)))

    def _index(self, i):
        t = handle_elem(self)
        if t is None or t.underlying.kind != "array":
            raise TypeError(f"invalid operation: cannot index p (variable of type {self.gotype.go_string()})")
        n = t.underlying.len
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"invalid argument: index {i!r} must be integer")
        if i < 0 or i >= n:
            raise BoundsError(index_error(i, n))
        et = t.underlying.elem
        return self.addr + i * et.size, et

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._slice_array(i)
        a, et = self._index(i)
        return load(self, a, et, kind_of(et))

    def _slice_array(self, sl):
        """Go's ``p[lo:hi]`` / ``p[lo:hi:max]`` on a pointer to an array (and ``a[:]`` on an
        addressable array): a slice of the array's own memory (an interior pointer, so it
        keeps the whole object alive), bounds checked against the array's length."""
        t = handle_elem(self)
        if t is None or t.underlying.kind != "array":
            raise TypeError(f"invalid operation: cannot slice p (variable of type {self.gotype.go_string()})")
        n = t.underlying.len
        lo = 0 if sl.start is None else sl.start
        if sl.step is not None:
            if sl.stop is None:
                raise TypeError("syntax error: middle index required in 3-index slice")
            idx = (lo, sl.stop, sl.step)
        else:
            idx = (lo, n if sl.stop is None else sl.stop)
        for x in idx:
            if not isinstance(x, int) or isinstance(x, bool):
                raise TypeError(f"invalid argument: index {x!r} must be integer")
        if sl.step is not None:
            err = slice3_bounds_error(lo, sl.stop, sl.step, n, "length")
            hi, ncap = sl.stop, sl.step - lo
        else:
            hi = idx[1]
            err = slice_bounds_error(lo, hi, n, "length")
            ncap = n - lo
        if err is not None:
            raise BoundsError(err)
        et = t.underlying.elem
        base = self.addr + lo * et.size if ncap > 0 else self.addr
        return new_slice(handle_runtime(self), self.heap, base, hi - lo, ncap, et)

    def _elem_ptr(self, i):
        """``&p[i]`` for an array pointee: an interior pointer to element *i*."""
        a, et = self._index(i)
        return new_pointer(handle_runtime(self), self.heap, a, et)

    def __setitem__(self, i, v):
        a, et = self._index(i)
        with self.heap.lock:
            store(self, a, et, kind_of(et), v)

    def __len__(self):
        t = handle_elem(self)
        if t is None or t.underlying.kind != "array":
            raise TypeError(f"invalid argument: p (variable of type {self.gotype.go_string()}) for built-in len")
        return t.underlying.len

    def __eq__(self, other):
        if isinstance(other, Pointer):
            return self.addr == (<Pointer>other).addr and self.heap is (<Pointer>other).heap
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self.addr)

    def __repr__(self):
        return "<%s %#x>" % (self.gotype, self.addr)

    def __dir__(self):
        names = ["addr", "type", "elem", "value", "field_ptr", "runtime"]
        if handle_elem(self) is not None and handle_elem(self).underlying.kind == "struct":
            names += [f.name for f in handle_elem(self).underlying.fields]
        return names

    def _repr_html_(self):
        from goruntime._display import handle_html
        return handle_html(self)


_POINTER_ATTRS = frozenset(n for n in dir(Pointer) if not n.startswith("__")) | {"__class__", "__dict__"}


# The cycle collector must see both references a handle holds: Cython's generated
# tp_traverse visits the ``heap`` field, and `handle_traverse` adds the runtime, which a
# handle holds without a field (`bind_handle`). So runtime <-> handle cycles are found
# and freed as before (tests/test_handles.py).
cdef extern from "Python.h":
    ctypedef int (*c_visitproc "visitproc")(PyObject*, void*) noexcept
    ctypedef int (*c_traverseproc "traverseproc")(PyObject*, c_visitproc, void*) noexcept
    ctypedef void (*c_destructor "destructor")(PyObject*) noexcept
    ctypedef struct c_type "PyTypeObject":
        c_traverseproc tp_traverse
        void* tp_alloc
        Py_ssize_t tp_basicsize
        unsigned long tp_flags
        c_destructor tp_dealloc
        void (*tp_free)(void*) noexcept
    PyObject* c_object_init "PyObject_Init"(PyObject* o, c_type* t) noexcept
    PyObject* c_no_memory "PyErr_NoMemory"() noexcept
    void c_gc_track "PyObject_GC_Track"(void* o) noexcept
    void c_gc_untrack "PyObject_GC_UnTrack"(void* o) noexcept
    c_type* c_type_of "Py_TYPE"(PyObject* o) noexcept

cdef c_traverseproc _traverse_handle = NULL
cdef c_traverseproc _traverse_pointer = NULL
cdef c_traverseproc _traverse_slice = NULL


cdef inline int visit_runtime(PyObject* o, c_visitproc visit, void* arg) noexcept:
    cdef PyObject* heap = <PyObject*>(<Handle>o).heap
    if heap == <PyObject*>None:
        return 0
    cdef void* rt = (<Heap>heap).handle_runtime
    if rt == NULL:
        return 0
    return visit(<PyObject*>rt, arg)


cdef int handle_traverse(PyObject* o, c_visitproc visit, void* arg) noexcept:
    cdef int e = _traverse_handle(o, visit, arg)
    return e if e else visit_runtime(o, visit, arg)


cdef int pointer_traverse(PyObject* o, c_visitproc visit, void* arg) noexcept:
    cdef int e = _traverse_pointer(o, visit, arg)
    return e if e else visit_runtime(o, visit, arg)


cdef int slice_traverse(PyObject* o, c_visitproc visit, void* arg) noexcept:
    cdef int e = _traverse_slice(o, visit, arg)
    return e if e else visit_runtime(o, visit, arg)


_traverse_handle = (<c_type*>Handle).tp_traverse
_traverse_pointer = (<c_type*>Pointer).tp_traverse
_traverse_slice = (<c_type*>SliceValue).tp_traverse
(<c_type*>Handle).tp_traverse = handle_traverse
(<c_type*>Pointer).tp_traverse = pointer_traverse
(<c_type*>SliceValue).tp_traverse = slice_traverse


# ---------------------------------------------------------------------------------------
# Lazy tracking by CPython's cycle collector
#
# CPython runs a young collection every 700 allocations of tracked objects, and each one
# walks them: for a program that keeps its objects, most of what ``T()`` costs is those
# walks and the full collections that follow. A handle holds two references (its heap
# and its runtime) and is in a cycle only through some container, which is tracked and
# counted when it is made. So `Pointer` and `SliceValue` objects are allocated untracked
# and not counted (`pending_alloc`, their ``tp_alloc``), their addresses kept in a table,
# and every *full* collection (generation 2: automatic, or ``gc.collect()``) first tracks
# the pending ones (`_track_pending`, in ``gc.callbacks``, called at the start of each
# collection). A full collection therefore sees every handle alive, and runtime <-> handle
# cycles are found and freed as before; a young collection sees the pending handles as
# it sees old objects, as references from outside (an untracked object is never freed by
# the collector, so nothing it references is freed early), so a cycle through a new
# handle waits for the next full collection, as cycles through old objects do. A handle
# that dies before then leaves the table in its ``__dealloc__`` (`unpend`), the table
# index being kept in the unused word of its untracked GC header. (A `Pointer` reused
# from the freelist of dead ones, `_free_mem`, is entered in the table the same way.) Visible
# differences: ``gc.is_tracked`` is False and ``gc.get_objects()`` does not list a handle
# until the next full collection, and handles do not bring CPython's collections nearer
# (a Go program's pointers do not either). Removing `_track_pending` from
# ``gc.callbacks`` would only leak such cycles.

cdef PyObject** _pending = NULL     # handles allocated untracked since the last collection
cdef Py_ssize_t _npending = 0
cdef Py_ssize_t _pending_cap = 0

cdef enum:
    FREE_HANDLES = 64               # dead Pointers kept for reuse (Cython's freelist size)
cdef char* _free_mem[FREE_HANDLES]  # their memory: GC header and object, still allocated
cdef int _nfree = 0
cdef Py_ssize_t _free_size = -1     # the one size kept (Pointer's tp_basicsize, once installed)
cdef c_destructor _dealloc_handle = NULL    # Cython's tp_dealloc of the handle types
cdef bint _direct_new = False       # `pointer_i` allocates with `pending_alloc` itself


cdef PyObject* pending_alloc(c_type* t, Py_ssize_t nitems) noexcept:
    """``tp_alloc`` of the handle types: a zeroed object with a GC header, untracked and
    not counted, entered in the pending table (as ``PyType_GenericAlloc`` minus the
    collector's count and the tracking, which `_track_pending` does later)."""
    global _pending, _npending, _pending_cap, _nfree
    cdef Py_ssize_t n = t.tp_basicsize + sizeof(gr_gchead)
    cdef Py_ssize_t cap
    cdef PyObject** grown
    cdef char* mem
    cdef PyObject* o
    if _npending == _pending_cap:
        cap = 1024 if _pending_cap == 0 else 2 * _pending_cap
        grown = <PyObject**>PyMem_Realloc(_pending, cap * sizeof(PyObject*))
        if grown == NULL:
            return c_no_memory()
        _pending = grown
        _pending_cap = cap
    if _nfree > 0 and t.tp_basicsize == _free_size:
        _nfree -= 1
        mem = _free_mem[_nfree]
    else:
        mem = <char*>PyObject_Malloc(n)
        if mem == NULL:
            return c_no_memory()
    memset(mem, 0, n)
    o = <PyObject*>(mem + sizeof(gr_gchead))
    c_object_init(o, t)
    _pending[_npending] = o
    _npending += 1
    GR_GCHEAD(o).prev = (<size_t>_npending) << 2      # index + 1; untracked: next == 0
    return o


cdef inline void unpend(PyObject* o) noexcept:
    """Take *o* out of the pending table if it is there (it dies untracked)."""
    global _npending
    cdef gr_gchead* g
    cdef Py_ssize_t i
    cdef PyObject* last
    if not GR_LAZY_GC:
        return
    g = GR_GCHEAD(o)
    if g.next != 0 or g.prev < 4:       # tracked, or untracked by the collector / dealloc
        return
    i = <Py_ssize_t>(g.prev >> 2) - 1
    _npending -= 1
    last = _pending[_npending]
    _pending[i] = last
    GR_GCHEAD(last).prev = ((<size_t>(i + 1)) << 2) | (GR_GCHEAD(last).prev & 3)
    g.prev &= 3


cdef void handle_dealloc(PyObject* o) noexcept:
    """``tp_dealloc`` of `Pointer` and `SliceValue` (with `pending_alloc`): a handle dying
    in its runtime's owner thread, outside a threaded runtime, gives back its root slot
    and pending entry, drops its two references and goes to the freelist (Pointers) or
    back to the allocator; any other (a lock to take) goes through Cython's dealloc and
    ``Handle.__dealloc__``, which keeps the raised-exception state around Python calls."""
    global _nfree
    cdef PyObject* hp = <PyObject*>(<Handle>o).heap
    cdef Heap heap
    cdef intp_t slot = (<Handle>o).slot
    cdef void* rt = NULL
    cdef c_type* t
    if hp != NULL and hp != <PyObject*>None:
        heap = <Heap>hp
        if slot >= 0 and (heap.threaded or GR_THREAD_IDENT() != heap.owner):
            _dealloc_handle(o)
            return
    if GR_GCHEAD(o).next != 0:
        c_gc_untrack(o)
    unpend(o)
    if hp != NULL and hp != <PyObject*>None:
        if slot >= 0:
            root_remove(&(<Heap>hp).h, slot)
        rt = (<Heap>hp).handle_runtime
    GR_HANDLE_HEAP_SLOT(o)[0] = NULL
    # the references last: dropping the runtime may run Python code (its finalizers),
    # and this handle is out of every table by then
    Py_XDECREF(<PyObject*>rt)
    Py_XDECREF(hp)
    t = c_type_of(o)
    if t.tp_basicsize == _free_size and _nfree < FREE_HANDLES:
        _free_mem[_nfree] = <char*>o - sizeof(gr_gchead)
        _nfree += 1
    else:
        t.tp_free(o)


def _track_pending(phase, info):
    """``gc.callbacks`` entry: at the start of a full collection, track every handle made
    since the last one, so that collection sees all of them (see `pending_alloc`)."""
    global _pending, _npending, _pending_cap
    cdef Py_ssize_t i
    cdef PyObject* o
    if phase != "start" or info.get("generation") != 2:
        return
    for i in range(_npending):
        o = _pending[i]
        GR_GCHEAD(o).prev &= 3
        c_gc_track(o)
    _npending = 0
    if _pending_cap > 65536:            # a burst of handles: give the table back
        PyMem_Free(_pending)
        _pending = NULL
        _pending_cap = 0


def _lazy_tracking():
    """True when handles are tracked lazily (`pending_alloc`), for tests."""
    return (<c_type*>Pointer).tp_alloc == <void*>pending_alloc


def _pending_handles():
    """The handles now in the pending table (alive, untracked), for tests."""
    return [<object>_pending[i] for i in range(_npending)]


# the GC header must be all of the pre-header (no managed dict or weakref list before it)
if GR_LAZY_GC and not ((<c_type*>Pointer).tp_flags & (3 << 3)) \
        and not ((<c_type*>SliceValue).tp_flags & (3 << 3)):
    import gc as _gc
    _gc.callbacks.append(_track_pending)
    (<c_type*>Pointer).tp_alloc = <void*>pending_alloc
    (<c_type*>SliceValue).tp_alloc = <void*>pending_alloc
    _dealloc_handle = (<c_type*>Pointer).tp_dealloc
    if (<c_type*>SliceValue).tp_dealloc == _dealloc_handle:
        _free_size = (<c_type*>Pointer).tp_basicsize
        (<c_type*>Pointer).tp_dealloc = handle_dealloc
        (<c_type*>SliceValue).tp_dealloc = handle_dealloc
        _direct_new = True


@cython.final
@cython.auto_pickle(False)
cdef class SliceValue(Handle):
    """A Go slice ``[]T`` held by Python: a root for its backing array while it lives.

    ``len(s)``, ``s.cap``, ``s[i]``, ``s[i] = v``, ``s[a:b]`` (Go's reslicing; cap runs to
    the end of the backing array), iteration, ``s.ptr(i)`` for ``&s[i]``.
    """
    cdef readonly int64_t length
    cdef readonly int64_t capacity

    cdef uint64_t _fast_addr(self, object i) except 1:
        """Address of element *i* for an exact in-range int, else 0 (take the general path)."""
        cdef int overflow = 0
        cdef int64_t j
        cdef TypeInfo ti
        if not PyLong_CheckExact(i):
            return 0
        j = PyLong_AsLongLongAndOverflow(i, &overflow)
        if overflow or j < 0 or j >= self.length:
            return 0
        ti = handle_info(self)
        if ti is None:
            return 0
        return self.addr + <uint64_t>j * <uint64_t>ti.get_size()

    def __init__(self, *args, **kwargs):
        raise TypeError("goruntime: create slices with rt.make(rt.Slice(T), n)")

    @property
    def type(self):
        return self.gotype

    @property
    def gotype(self):
        return handle_info(self).get_slice_type()

    @property
    def cap(self):
        return self.capacity

    def __len__(self):
        return self.length

    cdef uint64_t _elem_addr(self, object i) except 0:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError(f"invalid argument: index {i!r} must be integer")
        if i < 0 or i >= self.length:
            raise BoundsError(index_error(i, self.length))
        return self.addr + <uint64_t>i * <uint64_t>handle_elem(self).size

    def __getitem__(self, i):
        cdef uint64_t fa = self._fast_addr(i)
        cdef int k
        if fa != 0:
            k = (<TypeInfo>self.info).get_kind()
            if k == K_I64 and self.heap.dead is None and _in_arena(self.heap, fa):
                self.heap.h.mut_loads += 1     # the virtual clock's meter
                return (<int64_t*>addr_ptr(&self.heap.h, fa))[0]
            return load(self, fa, handle_elem(self), k)
        if isinstance(i, slice):
            return self._reslice(i)
        a = self._elem_addr(i)
        return load(self, a, handle_elem(self), kind_of(handle_elem(self)))

    def __setitem__(self, i, v):
        cdef uint64_t fa
        cdef int overflow = 0
        cdef int64_t x
        if not self.heap.threaded and PyLong_CheckExact(v):
            check_heap(self.heap)
            fa = self._fast_addr(i)
            if fa != 0 and (<TypeInfo>self.info).get_kind() == K_I64 and _in_arena(self.heap, fa):
                x = PyLong_AsLongLongAndOverflow(v, &overflow)
                if not overflow:
                    (<int64_t*>addr_ptr(&self.heap.h, fa))[0] = x
                    self.heap.h.mut_stores += 1   # the virtual clock's meter
                    return
        a = self._elem_addr(i)
        with self.heap.lock:
            store(self, a, handle_elem(self), kind_of(handle_elem(self)), v)

    def _reslice(self, sl):
        """``s[lo:hi]``, or Go's 3-index ``s[lo:hi:max]`` spelled ``s[lo:hi:max]`` (Python's
        step is Go's max: the result's capacity is ``max - lo``)."""
        lo = 0 if sl.start is None else sl.start
        if sl.step is not None:
            if sl.stop is None:
                raise TypeError("syntax error: middle index required in 3-index slice")
            for x in (lo, sl.stop, sl.step):
                if not isinstance(x, int) or isinstance(x, bool):
                    raise TypeError(f"invalid argument: index {x!r} must be integer")
            err = slice3_bounds_error(lo, sl.stop, sl.step, self.capacity)
            if err is not None:
                raise BoundsError(err)
            hi, ncap = sl.stop, sl.step - lo
        else:
            hi = self.length if sl.stop is None else sl.stop
            for x in (lo, hi):
                if not isinstance(x, int) or isinstance(x, bool):
                    raise TypeError(f"invalid argument: index {x!r} must be integer")
            err = slice_bounds_error(lo, hi, self.capacity)
            if err is not None:
                raise BoundsError(err)
            ncap = self.capacity - lo
        # Go never makes a pointer past the end of an object: a zero-capacity result keeps
        # the base pointer (TestEmptySlice).
        base = self.addr + lo * handle_elem(self).size if ncap > 0 else self.addr
        return new_slice(handle_runtime(self), self.heap, base, hi - lo, ncap, handle_elem(self))

    def ptr(self, i):
        """``&s[i]``: an interior pointer to element *i*."""
        return new_pointer(handle_runtime(self), self.heap, self._elem_addr(i), handle_elem(self))

    def __iter__(self):
        k = kind_of(handle_elem(self))
        size = handle_elem(self).size
        for i in range(self.length):
            yield load(self, self.addr + i * size, handle_elem(self), k)

    def _rebuild(self):
        if self.heap is None:
            raise TypeError("goruntime: cannot copy a SliceValue that was not made by a Runtime")
        return new_slice(handle_runtime(self), self.heap, self.addr, self.length, self.capacity, handle_elem(self))

    def numpy(self):
        """A writable numpy view of the backing array (scalar element types only).

        The view keeps the backing array alive: its ``.base`` holds a handle of its own (a
        root) for as long as the view, or any view of it, lives.
        """
        if self.heap is None:
            raise TypeError("goruntime: this SliceValue was not made by a Runtime")
        dt = handle_elem(self).underlying.dtype
        if dt is None:
            raise TypeError(f"[]{handle_elem(self)} has no numpy dtype")
        if self.length == 0:
            return np.zeros(0, dtype=dt)
        raw = self.heap.view(self.addr, self.length * handle_elem(self).size)
        return np.asarray(_RootedView(raw, self._rebuild())).view(dt)

    def __eq__(self, other):
        if other is None:
            return self.addr == 0
        return NotImplemented

    def __hash__(self):
        return hash((self.addr, self.length, self.capacity))

    def __repr__(self):
        return "<%s len=%d cap=%d %#x>" % (self.gotype, self.length, self.capacity, self.addr)

    def _repr_html_(self):
        from goruntime._display import handle_html
        return handle_html(self)


class _RootedView:
    """The ``.base`` of `SliceValue.numpy`'s arrays: numpy keeps the object that exposed
    ``__array_interface__``, so the handle (a root) lives exactly as long as the views."""

    __slots__ = ("__array_interface__", "raw", "handle")

    def __init__(self, raw, handle):
        self.__array_interface__ = raw.__array_interface__
        self.raw = raw                         # keeps the arena buffer alive
        self.handle = handle


cdef inline int check_heap(Heap heap) except -1:
    """The heap exists (a handle made with ``__new__`` alone has none) and the calling
    thread may use it (`Heap.check_owner`, whose passing case is tested inline here)."""
    if heap is None:
        raise TypeError("goruntime: this handle was not made by a Runtime")
    if heap.dead is None and (heap.threaded or GR_THREAD_IDENT() == heap.owner):
        return 0
    return heap.check_owner()


cdef Pointer new_pointer(object rt, Heap heap, uint64_t addr, object elem):
    check_heap(heap)
    cdef Pointer p = Pointer.__new__(Pointer)
    cdef TypeInfo ti
    bind_handle(p, rt, heap)
    p.addr = addr
    if elem is not None:
        ti = info_of(elem)
        p.info = <PyObject*>ti
    root_handle(p)
    return p


cdef Pointer new_pointer_i(object rt, Heap heap, uint64_t addr, TypeInfo ti):
    """`new_pointer` with the pointee's `TypeInfo` already at hand."""
    check_heap(heap)
    return pointer_i(rt, heap, addr, ti)


cdef inline Pointer pointer_i(object rt, Heap heap, uint64_t addr, TypeInfo ti):
    """`new_pointer_i` after the caller's `check_heap` (``rt.new``: one check per call).

    With lazy tracking installed the object comes from `pending_alloc` directly (zeroed,
    untracked, in the pending table), not through ``Pointer.__new__``: Cython's tp_new
    would set ``heap`` to None only for `bind_handle` to replace it at once."""
    cdef Pointer p
    cdef PyObject* o
    if _direct_new:
        bind_runtime(heap, rt)
        o = pending_alloc(<c_type*>Pointer, 0)
        if o == NULL:
            Py_XDECREF(<PyObject*>rt)          # the reference bind_runtime took
            raise MemoryError()
        Py_XINCREF(<PyObject*>heap)
        GR_HANDLE_HEAP_SLOT(o)[0] = <PyObject*>heap
        p = <Pointer>o
        Py_XDECREF(o)                          # pending_alloc's reference: p holds one
    else:
        p = Pointer.__new__(Pointer)
        bind_handle(p, rt, heap)
    p.addr = addr
    if ti is not None:
        p.info = <PyObject*>ti
    root_handle(p)
    return p


cdef SliceValue new_slice(object rt, Heap heap, uint64_t addr, int64_t n, int64_t c, object elem):
    check_heap(heap)
    cdef SliceValue s = SliceValue.__new__(SliceValue)
    cdef TypeInfo ti
    bind_handle(s, rt, heap)
    s.addr = addr
    s.length = n
    s.capacity = c
    if elem is not None:
        ti = info_of(elem)
        s.info = <PyObject*>ti
    root_handle(s)
    return s


def make_pointer(rt, Heap heap, uint64_t addr, elem):
    """A handle for *addr* typed ``*elem`` (the runtime's entry point)."""
    return new_pointer(rt, heap, addr, elem)


def make_slice(rt, Heap heap, uint64_t addr, int64_t n, int64_t c, elem):
    return new_slice(rt, heap, addr, n, c, elem)


def handle_heap(Handle h):
    return h.heap


def new_object(rt, Heap heap, uint64_t size, bint noscan, bytes mask, elem):
    """Go's ``new(T)`` in one call: mallocgc, pointer bits, and the rooted handle.

    *mask* is T's GC mask, one byte per word (b"\\x01" = pointer), or None when noscan.
    The world lock is taken only when goroutines are threads; in the cooperative
    scheduler nothing else can run during the call.
    """
    check_heap(heap)
    if heap.threaded:
        with heap.lock:
            return _new_object(rt, heap, size, noscan, mask, elem)
    return _new_object(rt, heap, size, noscan, mask, elem)


cdef Pointer _new_object(object rt, Heap heap, uint64_t size, bint noscan, bytes mask,
                         object elem):
    cdef uint64_t addr = 0
    cdef intp_t ew = 0 if mask is None else len(mask)
    if ew * 8 > <intp_t>size:
        raise ValueError("GC mask of %d words does not fit %d bytes" % (ew, size))
    mallocgc(&heap.h, 0, size, noscan, &addr)
    if not noscan and addr != ZEROBASE:
        if ew:
            set_heap_bits(&heap.h, addr, <const uint8_t*><const char*>mask, ew, 1)
        else:
            set_heap_bits(&heap.h, addr, NULL, 0, 0)
    return new_pointer(rt, heap, addr, elem)


def new_slice_object(rt, Heap heap, uint64_t size, bint noscan, bytes mask, uint64_t count,
                     int64_t length, int64_t capacity, elem):
    """Go's ``make([]E, len, cap)`` in one call: mallocgc of *count* elements of *size* //
    *count* bytes, their pointer bits, and the rooted slice handle. Allocation and rooting
    are one C call (as in `new_object`): no Python code -- a signal handler that runs a GC
    -- can come between them and free the new array."""
    check_heap(heap)
    if heap.threaded:
        with heap.lock:
            return _new_slice_object(rt, heap, size, noscan, mask, count, length, capacity, elem)
    return _new_slice_object(rt, heap, size, noscan, mask, count, length, capacity, elem)


cdef SliceValue _new_slice_object(object rt, Heap heap, uint64_t size, bint noscan, bytes mask,
                                  uint64_t count, int64_t length, int64_t capacity, object elem):
    cdef uint64_t addr = 0
    cdef intp_t ew = 0 if mask is None else len(mask)
    if ew and (count == 0 or count > size or <uint64_t>ew * 8 > size // count):
        raise ValueError("GC mask of %d words x %d elements does not fit %d bytes" % (ew, count, size))
    mallocgc(&heap.h, 0, size, noscan, &addr)
    if not noscan and addr != ZEROBASE:
        if ew:
            set_heap_bits(&heap.h, addr, <const uint8_t*><const char*>mask, ew, <intp_t>count)
        else:
            set_heap_bits(&heap.h, addr, NULL, 0, 0)
    return new_slice(rt, heap, addr, length, capacity, elem)


# Value types defined in Python modules that store() accepts, and the conversions load()
# and store() call (set by gostring.py, iface.py, maps.py when they are imported).
_string_value_type = ()
_loaded_string_type = ()
_word_value_type = ()
_box_hook = None              # iface.box(rt, v, iface_type, dry) -> (type word, data word)
_unbox_hook = None            # iface.unbox(rt, T, data word) -> the value
_map_hook = None              # maps.map_of_word(rt, w, T) -> a map handle
_func_hook = None             # closure.func_of_word(rt, w, T) -> a func value
_func_word_hook = None        # closure.func_word(rt, fn, T) -> the static funcval of fn
_chan_hook = None             # chan.chan_of_word(rt, w, T) -> a channel


def register_value_types(string_value=None, word_value=None, box=None, unbox=None,
                         map_of_word=None, func_of_word=None, func_word=None, loaded_string=None,
                         chan_of_word=None):
    """The StringValue and LoadedString classes and the word value classes (map, func and
    channel handles), which store() takes as string and word values, and the conversions
    of interface, map, func and chan words."""
    global _string_value_type, _word_value_type, _box_hook, _unbox_hook, _map_hook
    global _func_hook, _func_word_hook, _loaded_string_type, _chan_hook
    if string_value is not None:
        _string_value_type = string_value
    if loaded_string is not None:
        _loaded_string_type = loaded_string
    if word_value is not None:
        if word_value not in _word_value_type:
            _word_value_type = _word_value_type + (word_value,)
    if func_of_word is not None:
        _func_hook, _func_word_hook = func_of_word, func_word
    if box is not None:
        _box_hook, _unbox_hook = box, unbox
    if map_of_word is not None:
        _map_hook = map_of_word
    if chan_of_word is not None:
        _chan_hook = chan_of_word


def check_store(Handle owner, object t, object v):
    """Go's assignability and range checks for storing *v* as a *t*; writes nothing."""
    store(owner, 0, t, kind_of(t), v, True)
    return None


cdef object _last_new_t = None      # new(T)'s one-entry cache: T checked and prepared
cdef TypeInfo _last_new_info = None


cdef TypeInfo new_info(object T):
    """*T*'s `TypeInfo`, ready for allocation; TypeError if *T* is not a goruntime type."""
    global _last_new_t, _last_new_info
    cdef TypeInfo ti
    if T is _last_new_t and T is not None:
        return _last_new_info
    if not isinstance(T, _types.Type):
        raise TypeError(f"new: {T!r} is not a goruntime type")
    ti = info_of(T)
    if not ti.alloc_ready:
        ti.prepare_alloc()
    _last_new_t = T
    _last_new_info = ti
    return ti


cdef object _rt_ref = None          # weakref to the Runtime `runtime_new` saw last
cdef PyObject* _rt_heap = NULL      # its heap (borrowed: alive while that Runtime is)


cdef inline Heap runtime_heap(object rt):
    """``rt.heap``, without an attribute lookup when *rt* is the last runtime seen."""
    global _rt_ref, _rt_heap
    cdef Heap heap
    cdef object ref
    if _rt_ref is not None and PyWeakref_GET_OBJECT(_rt_ref) == <PyObject*>rt:
        return <Heap>_rt_heap
    heap = rt.heap
    ref = PyWeakref_NewRef(rt, None)
    _rt_ref = ref
    _rt_heap = <PyObject*>heap
    return heap


def runtime_new(self, T):
    """Go's ``new(T)``: a zeroed T on the heap, returned as a ``*T`` handle.

    (``Runtime.new``, compiled: the type's size, noscan bit and GC mask come from its
    `TypeInfo`; then mallocgc, the pointer bits and the rooted handle, as `new_object`.)
    """
    cdef TypeInfo ti = new_info(T)
    cdef Heap heap = runtime_heap(self)
    cdef Pointer p
    check_heap(heap)
    if heap.threaded:
        with heap.lock:
            p = _new_object_i(self, heap, ti)
    else:
        p = _new_object_i(self, heap, ti)
    if heap.h.gc_pending:
        self._heap_triggered_gc()
    return p


cdef Pointer _new_object_i(object rt, Heap heap, TypeInfo ti):
    cdef uint64_t addr = 0, size = ti.asize
    cdef intp_t ew = 0 if ti.mask is None else len(ti.mask)
    if <uint64_t>ew * <uint64_t>ti.mask_count * 8 > size:
        raise ValueError("GC mask of %d words x %d does not fit %d bytes" % (ew, ti.mask_count, size))
    if ew and not ti.noscan:                    # mallocgc with the type's pointer bits
        mallocgc_typed(&heap.h, 0, size, <const uint8_t*><const char*>ti.mask, ew,
                       ti.mask_count, &addr)
        return pointer_i(rt, heap, addr, ti)
    mallocgc(&heap.h, 0, size, ti.noscan, &addr)
    if not ti.noscan and addr != ZEROBASE:
        set_heap_bits(&heap.h, addr, NULL, 0, 0)
    return pointer_i(rt, heap, addr, ti)
