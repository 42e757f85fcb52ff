"""The program's read-only data: string literals and type descriptors (Go: the binary's
rodata and ``moduledata.types``, symtab.go).

A Go string literal's bytes live in the binary's read-only segment, not on the heap: a
string field assigned a Python ``str`` holds a pointer here (`Rodata.string`), so the
collector never marks or frees it. An interface's first word points to a type descriptor
(``*_type``, type.go); `Rodata.type_word` gives each goruntime `Type` a stable fake address
in its own segment and `Rodata.type_of_word` maps it back. Addresses are Go-like
(``0x4c0000`` for rodata, ``0x500000`` for types) and never overlap the heap.

Each Runtime has one table (``Runtime.rodata``); the handle layer (``_object.pyx``) reads
and writes string and interface words through it. Mutated under the world lock.
"""

__all__ = ["Rodata", "RODATA_BASE", "TYPES_BASE"]

RODATA_BASE = 0x4c0000        # Go-like read-only data segment for string constants
TYPES_BASE = 0x500000         # type descriptors (interface type words)


class Rodata:
    """String literals (interned, 8-byte aligned) and type words of one runtime."""

    __slots__ = ("_strings", "by_addr", "_next", "_type_words", "_types_by_word")

    def __init__(self):
        self._strings = {}            # bytes -> address
        self.by_addr = {}             # address -> bytes (read-only view for checks)
        self._next = RODATA_BASE
        self._type_words = {}         # Type -> word
        self._types_by_word = {}      # word -> Type

    def string(self, s):
        """``(ptr, len)`` of the literal *s* (a ``str``), interned; ``(0, 0)`` if empty."""
        b = s.encode()
        if not b:
            return (0, 0)
        a = self._strings.get(b)
        if a is None:
            a = self._next
            self._next += (len(b) + 7) & ~7
            self._strings[b] = a
            self.by_addr[a] = b
        return (a, len(b))

    def find(self, ptr):
        """``(address, bytes)`` of the literal that holds *ptr*, or None."""
        for a, b in self.by_addr.items():
            if a <= ptr < a + len(b):
                return a, b
        return None

    def contains(self, ptr, n):
        """Whether ``[ptr, ptr+n)`` lies inside one literal."""
        return any(a <= ptr and ptr + n <= a + len(b) for a, b in self.by_addr.items())

    def type_word(self, t):
        """The type descriptor address of *t* (what an interface's first word holds)."""
        w = self._type_words.get(t)
        if w is None:
            w = TYPES_BASE + 64 * len(self._type_words)
            self._type_words[t] = w
            self._types_by_word[w] = t
        return w

    def type_of_word(self, w):
        """The `Type` whose descriptor is at *w*, or None."""
        return self._types_by_word.get(w)
