"""The exceptions goruntime raises where Go would crash or panic.

Go has two ways to fail at run time, and goruntime keeps them apart:

- ``FatalError`` is Go's ``throw`` / ``fatal error: ...``: unrecoverable in Go (exit
  status 2), e.g. ``runtime.SetFinalizer: pointer not at beginning of allocated block``,
  ``all goroutines are asleep - deadlock!`` or ``found bad pointer in Go heap``.
- ``Panic`` is Go's ``panic(v)``: recoverable in Go, e.g.
  ``runtime.AddCleanup: ptr is nil`` or ``send on closed channel``.

The message (``str(exc)``) is Go's text without the ``fatal error: `` / ``panic: `` prefix.
Out-of-memory is Python's own ``MemoryError("runtime: out of memory: ...")``.
"""

__all__ = ["FatalError", "Panic", "BoundsError"]


class NotCopyable:
    """Mixin for what belongs to one runtime (its scheduler, goroutines, channels, clock,
    collector): ``copy``, ``deepcopy`` and ``pickle`` raise TypeError saying so. A copy
    would share the runtime's queues and callbacks, and pickling reached a closure deep
    inside (AttributeError: Can't pickle local object) (B79)."""

    __slots__ = ()

    def __reduce_ex__(self, protocol):
        raise TypeError(f"goruntime: a {type(self).__name__} belongs to its runtime and cannot "
                        "be copied or pickled")

    def __copy__(self):
        self.__reduce_ex__(0)

    def __deepcopy__(self, memo):
        self.__reduce_ex__(0)


class FatalError(RuntimeError):
    """Go's fatal error (``runtime.throw``): the Go program would have died here."""


class Panic(Exception):
    """Go's ``panic(value)``; ``.value`` is the panic value (a string for runtime panics)."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __str__(self):
        return str(self.value)


class BoundsError(Panic, IndexError):
    """Go's ``runtime.boundsError`` (``runtime error: index out of range [5] with length
    3``, ``slice bounds out of range [:9] with capacity 8``): a `Panic`, as in Go, and an
    ``IndexError`` to Python, so a loop over ``s[i]`` ends as Python's do."""
