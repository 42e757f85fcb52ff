"""Go's package weak: weak pointers into the emulated heap (spec §6.4).

``weak.Make(p)`` returns a ``Pointer`` (Go's ``weak.Pointer[T]``) that does not keep
``*p`` alive. It refers to a heap "handle cell" (a 16-byte pointer-free object holding the
object's address, allocated the first time a weak pointer to that (object, offset) is
made), so ``Make(p) == Make(p)`` while the object lives. The sweep of the first cycle that
finds the object unmarked sets the cell to nil -- also when the object has a finalizer,
so the weak pointer is nil before the finalizer runs and stays nil after a resurrection;
a new ``Make`` then gives a new, unequal pointer. Zero-size objects are immortal.
"""
from . import _object, _signals
from .runtime import Pointer as _Handle

__all__ = ["Make", "Pointer"]


class Pointer:
    """Go's weak.Pointer[T]. ``Value()`` is the original pointer, or None once it died."""

    __slots__ = ("_rt", "_cell", "_addr", "_elem", "_immortal", "__weakref__")

    def __init__(self):
        self._rt = None          # the zero weak.Pointer: Value() is nil
        self._cell = None        # handle keeping the heap cell alive (Go: *T to the cell)
        self._addr = None        # the cell's address: what == compares
        self._elem = None
        self._immortal = None    # the pointer, for an immortal (off-heap) handle

    def Value(self):
        """The pointer Make was given, or None if the object has been collected."""
        rt = self._rt
        if rt is None:
            return None
        rt.heap.check_alive()            # a dead or closed runtime: FatalError, as loads
        if self._immortal is not None:
            return _object.make_pointer(rt, rt.heap, self._immortal, self._elem)
        with rt.world, _signals.held():
            addr = rt.heap.read_word(self._addr)
            if addr == 0:
                return None
            if rt.gc_running:
                rt.collector.shade(addr)          # Go: weak->strong during mark shades the object
            return _object.make_pointer(rt, rt.heap, addr, self._elem)

    value = Value

    def __eq__(self, other):
        # Go compares the cell pointers; cells of two runtimes may share an address (each
        # arena starts at the same emulated address), so the runtime is part of identity.
        if not isinstance(other, Pointer):
            return NotImplemented
        return self._addr == other._addr and self._rt is other._rt

    def __hash__(self):
        return hash((id(self._rt), self._addr))

    def __reduce_ex__(self, protocol):
        raise TypeError("goruntime: cannot pickle a weak.Pointer: it refers to one Runtime's heap")

    def __copy__(self):
        return self                    # immutable, like Go's weak.Pointer value

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        if self._addr is None:
            return "weak.Pointer{nil}"
        return f"weak.Pointer[{self._elem}]{{cell {self._addr:#x}}}"


def Make(p):
    """Go: weak.Make(p). ``Make(None)`` is the zero Pointer."""
    w = Pointer()
    if p is None:
        return w
    if not isinstance(p, _Handle):
        raise TypeError(f"weak.Make needs a pointer handle, not {type(p).__name__}")
    rt = p.runtime
    cell, immortal = rt.specials.weak_make(p)
    w._rt = rt
    w._elem = p.elem
    w._addr = cell
    if immortal:
        w._immortal = p.addr
    else:
        w._cell = _object.make_pointer(rt, rt.heap, cell, None)
    return w
