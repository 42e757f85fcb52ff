"""The program's read-only data: string literals, type descriptors and functions (Go: the
binary's rodata, ``moduledata.types`` and text, symtab.go).

A Go string literal's bytes live in the binary's read-only segment, not on the heap: a
string field assigned a Python ``str`` holds a pointer here (`Rodata.string`), so the
collector never marks or frees it. An interface's first word points to a type descriptor
(``*_type``, type.go); `Rodata.type_word` gives each goruntime `Type` a stable fake address
in its own segment and `Rodata.type_of_word` maps it back. Addresses are Go-like
(``0x4c0000`` for rodata, ``0x500000`` for types) and never overlap the heap.

A function used as a value (`Rodata.function`: a Python callable stored in a ``Func``
field, or the code of a closure) gets a code address in a text segment (``0x401000``, what a
funcval's first word ``F`` holds) and a static funcval beside it (Go's ``f·f`` symbol: the
value of a func that captures nothing), both outside the heap.

Each Runtime has one table (``Runtime.rodata``); the handle layer (``_object.pyx``) reads
and writes string and interface words through it. Mutated under the world lock.
"""

__all__ = ["Rodata", "RODATA_BASE", "TYPES_BASE"]

RODATA_BASE = 0x4c0000        # Go-like read-only data segment for string constants
TYPES_BASE = 0x500000         # type descriptors (interface type words)
TEXT_BASE = 0x401000          # code: a function's entry (a funcval's F word), 16 bytes apart
FUNCVAL_BASE = 0x470000       # static funcvals (Go: f·f), 8 bytes apart, up to 0x4a0000
MAX_FUNCS = (0x4a0000 - FUNCVAL_BASE) // 8


class Rodata:
    """String literals (interned, 8-byte aligned) and type words of one runtime."""

    __slots__ = ("_strings", "by_addr", "_next", "_type_words", "_types_by_word", "_funcs",
                 "_func_list")

    def __init__(self):
        self._strings = {}            # bytes -> address
        self.by_addr = {}             # address -> bytes (read-only view for checks)
        self._next = RODATA_BASE
        self._type_words = {}         # Type -> word
        self._types_by_word = {}      # word -> Type
        self._funcs = {}              # function key -> index
        self._func_list = []          # index -> (function, what it captures)

    def string(self, s):
        """``(ptr, len)`` of the literal *s* (a ``str``), interned; ``(0, 0)`` if empty."""
        b = s.encode()
        if not b:
            return (0, 0)
        a = self._strings.get(b)
        if a is None:
            # the entry that finds a literal is written last: a Ctrl-C between these
            # statements leaves at most an unused literal, never a name for missing bytes
            a = self._next
            self.by_addr[a] = b
            self._next = a + ((len(b) + 7) & ~7)
            self._strings[b] = a
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
            self._types_by_word[w] = t          # the word's type first (see `string`)
            self._type_words[t] = w
        return w

    def type_of_word(self, w):
        """The `Type` whose descriptor is at *w*, or None."""
        return self._types_by_word.get(w)

    def function(self, key, fn, info=None):
        """The index *k* of function *fn* (found by *key*): its code is at ``TEXT_BASE +
        16k``, its static funcval at ``FUNCVAL_BASE + 8k``. *info* is kept beside it (what
        a closure of this code captures). Functions are never dropped, as a binary's code."""
        k = self._funcs.get(key)
        if k is None:
            k = len(self._func_list)
            if k >= MAX_FUNCS:
                raise MemoryError(f"goruntime: more than {MAX_FUNCS} distinct functions used as "
                                  "values (create each Python function once, not per call)")
            self._func_list.append((fn, info))      # the index's entry first (see `string`)
            self._funcs[key] = k
        return k

    def function_at(self, w):
        """``(index, function, info)`` of a code address or static funcval *w*, or None."""
        if TEXT_BASE <= w < FUNCVAL_BASE and not (w - TEXT_BASE) % 16:
            k = (w - TEXT_BASE) // 16
        elif FUNCVAL_BASE <= w < FUNCVAL_BASE + 8 * MAX_FUNCS and not (w - FUNCVAL_BASE) % 8:
            k = (w - FUNCVAL_BASE) // 8
        else:
            return None
        if k >= len(self._func_list):
            return None
        return (k, *self._func_list[k])
