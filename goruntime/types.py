"""Go types, laid out exactly as Go 1.27 lays them out on linux/amd64.

The allocator needs three facts about every object it hands out: how many bytes it
takes (``size``, which picks the size class), how it must be aligned (``align``), and
which of its 8-byte words hold pointers (``ptr_words`` / ``gc_mask()``: the GC pointer
mask that Go's compiler stores in ``abi.Type.GCData``, and ``ptrdata``, Go's
``abi.Type.PtrBytes``: the length of the prefix that can hold pointers; zero means
"noscan"). The handle layer and ``SetFinalizer`` need two more: Go's type strings
(``str(T)`` is reflect's spelling, ``*main.Node``) and Go's type identity and
assignability rules. This module is that model; the rules for identity, implementation
and assignability, and the compiler's error text, are in `goruntime.typecheck`.
Everything in both is checked against the real Go 1.27.3 toolchain by
``tests/test_types.py`` (``tests/go/layouts``).

Layout rules (Go: cmd/compile/internal/types/size.go)
----------------------------------------------------
- Pointers, maps, chans, funcs and ``unsafe.Pointer`` are one word (a map is a pointer
  to the runtime's map header). A string is ``{ptr, len}``, a slice ``{ptr, len, cap}``,
  an interface ``{type or itab, data}``.
- An interface's first word is *not* in the GC mask (it points to a type or an itab,
  never into the heap; Go: typebits.Set), so its pointer words are ``(1,)`` while its
  ``ptrdata`` is 16. A string's and a slice's are ``(0,)``.
- A struct field starts at its offset rounded up to the field type's alignment; the
  struct's alignment is the largest field alignment (at least 1); its size is rounded
  up to that. A non-zero-size struct whose last field has size zero gets one extra
  byte before that rounding, so ``&x.last`` never points past the object (Go issue
  9401): ``struct{ a int64; z struct{} }`` is 16 bytes.
- ``ptrdata`` of a struct ends at the last pointer-holding field's ``offset + ptrdata``;
  of an array, ``(n-1)*elem.size + elem.ptrdata``; ``[0]*int`` has none.

Names and identity
------------------
``Struct("Node", ...)``, ``Named("Tint", Int)`` and ``Interface("Tinter", ...)`` are
*named* (defined) types, as are the predeclared types (``int``, ``string``, ``error``,
``unsafe.Pointer``). Named types live in a registry keyed by ``(package, name)``; the
package defaults to ``"main"``. A type may be referred to by name, ``Ptr("Node")`` or
``Ptr("pkg.Node")``, which is how recursive types are written; the name is looked up
lazily, on first use of ``.elem`` (or of anything that needs the referent's layout),
and an unknown name raises ``TypeError("undefined: main.Node")``.

Types compare equal (and hash equal) as Go types are identical: unnamed types by
structure, named types by package and name -- and, because a notebook user may re-run
a cell with a changed declaration, also by their underlying structure. Re-declaring a
named type with an identical definition returns the *same* object (declared methods
included); a different definition replaces the registry entry, and later lookups by
name (``Ptr("Node")`` resolved afterwards) see the new type while existing objects keep
the old one. Inside a structure, a named type is referred to by ``(package, name)``
only, so ``Ptr(Node) == Ptr("Node")``.

Methods
-------
Go's method sets decide interface satisfaction (assignability, finalizer arguments).
Declare them on a named type with ``T.declare_methods(...)``::

    T = Struct("T", x=Int)
    T.declare_methods("Close", ("String", Func(results=(String,))), pointer_receiver=True)

Each method is a name (signature ``func()``), a ``(name, Func(...))`` pair, or a
``Method``. ``T``'s method set holds its value-receiver methods; ``Ptr(T)``'s holds all
of them. Embedded fields (promoted methods) are not modelled.

Two spellings
-------------
``str(T)`` is reflect's (and the runtime's) spelling: ``interface {}``, ``[]uint8``,
``struct { a int8 }``, types qualified by package name. ``T.go_string(package)`` is the
compiler's (types2) spelling used in compile errors: ``any``, ``[]byte``,
``struct{a int8}``, types of *package* unqualified. ``Byte`` is the alias ``byte``: equal
to ``Uint8`` and printed ``uint8`` by reflect, ``byte`` by the compiler; likewise every
unnamed empty interface prints as ``any`` in compiler messages.
"""
import threading
from collections import namedtuple

import numpy as np

from . import _signals

__all__ = [
    "Type", "Field", "Method",
    "Bool", "Int", "Int8", "Int16", "Int32", "Int64", "Uint", "Uint8", "Uint16", "Uint32",
    "Uint64", "Byte", "Uintptr", "Float32", "Float64", "Complex64", "Complex128", "String",
    "UnsafePointer", "Error", "Any",
    "Ptr", "Slice", "Array", "Struct", "Map", "Chan", "Func", "Interface", "Named",
    "lookup", "identical", "implements", "assign_error", "finalizer_arg_ok",
    "finalizer_error", "func_string",
    "PTR_SIZE", "WORD_DTYPE",
]

PTR_SIZE = 8                      # goarch.PtrSize on amd64
_WORDS_KEPT = 4096                # `ptr_words` tuples up to this length are kept
MAX_WIDTH = 1 << 50               # cmd/compile's types.MaxWidth on amd64: the largest value
WORD_DTYPE = np.dtype("<u8")      # one pointer-sized word, as the arena stores it

Field = namedtuple("Field", "name type offset")
Field.__doc__ = "A struct field: its name, its Type and its byte offset (reflect.StructField)."

Method = namedtuple("Method", "name type pointer_receiver package")
Method.__doc__ = """A method: name, signature (a Func, receiver excluded), whether the
receiver is a pointer, and the package that declares it (it qualifies unexported names)."""

_registry = {}                    # (package, name) -> the current named Type
_registry_lock = threading.RLock()
_layout_lock = threading.RLock()


def _is_exported(name):
    """Go: token.IsExported (for the ASCII names Go programs use here)."""
    return bool(name) and name[0].isupper()


def _pkg_name(pkg):
    """The package name that qualifies a type: the last element of its path."""
    return pkg.rsplit("/", 1)[-1]


def _reflect_qualifier(pkg):
    return _pkg_name(pkg) + "." if pkg else ""


def _compiler_qualifier(current):
    """Go: (*Checker).qualifier. ``current=None`` qualifies everything by path."""
    if current is None:
        return lambda pkg: pkg + "." if pkg else ""
    return lambda pkg: "" if pkg in ("", current) else _pkg_name(pkg) + "."


class _Lazy:
    """A type referred to by name, looked up in the registry on first use."""

    __slots__ = ("package", "name", "_resolved")

    def __init__(self, package, name):
        self.package, self.name, self._resolved = package, name, None

    def get(self):
        if self._resolved is None:
            self._resolved = lookup(self.name, package=self.package)
        return self._resolved

    def _ref(self):
        return ("N", self.package, self.name)

    def _str(self, compiler, qual):
        if self._resolved is not None:
            return self._resolved._str(compiler, qual)
        return qual(self.package) + self.name


def _child(x):
    """Accept a Type or a type name ("Node", "pkg.Node", "int") as an element type."""
    if isinstance(x, Type):
        return x
    if isinstance(x, str):
        if x in _PREDECLARED:
            return _PREDECLARED[x]
        package, _, name = x.rpartition(".")
        if not name.isidentifier():
            raise TypeError(f"goruntime: {x!r} is not a type name")
        return _Lazy(package or "main", name)
    raise TypeError(f"goruntime: expected a goruntime Type or a type name, not {x!r}")


def _get(c):
    return c.get() if isinstance(c, _Lazy) else c


def _ref(c):
    return c._ref()


def _cstr(c, compiler, qual):
    return c._str(compiler, qual)


def _clone(t):
    """A shallow copy of type *t*, to build a related type from (`copy.copy` of a Type is
    the type itself)."""
    c = object.__new__(type(t))
    c.__dict__.update(t.__dict__)
    return c


class Type:
    """A Go type. Use the singletons and constructors of this module, not this class.

    Attributes common to all types: ``size``, ``align``, ``ptrdata``, ``ptr_words``,
    ``has_pointers``, ``kind``, ``name`` and ``package`` (``""`` when unnamed, like
    reflect's Name and PkgPath), ``named``, ``underlying``, ``dtype`` (numpy dtype of a
    scalar value, else None) and ``gc_mask()``.
    """

    kind = None
    dtype = None
    _name = ""            # "" = unnamed; else the defined (or predeclared) name
    _pkg = ""             # package path of a named type ("" for predeclared)
    _alias = None         # compiler spelling of an alias: "byte", "any"
    _underlying = None    # None = this type is its own underlying type
    _methods = None       # declared methods {name: Method} of a named type
    _key_cache = None
    _size = None
    _align = None
    _ptrdata = None
    _words = None
    _mask = None
    _laying_out = False

    # -- identity --------------------------------------------------------------

    @property
    def name(self):
        """reflect.Type.Name: the defined name, or ``""`` for an unnamed type."""
        return self._name

    @property
    def package(self):
        """The package path of a named type (``""`` for predeclared and unnamed ones)."""
        return self._pkg

    @property
    def named(self):
        """Whether the type has a name (defined or predeclared); Go: types2 hasName."""
        return bool(self._name)

    @property
    def underlying(self):
        """Go's underlying type: the type itself unless it is a defined type."""
        return self if self._underlying is None else self._underlying

    def _structure(self):
        raise NotImplementedError

    def _ref(self):
        """How a structure containing this type refers to it: by name if named."""
        if self._name:
            return ("N", self._pkg, self._name)
        return self._key()

    def _key(self):
        if self._key_cache is None:
            if self._name:
                self._key_cache = ("N", self._pkg, self._name, self.underlying._structure())
            else:
                self._key_cache = self._structure()
        return self._key_cache

    def __eq__(self, other):
        if not isinstance(other, Type):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    # -- strings -------------------------------------------------------------

    def __str__(self):
        return self._str(False, _reflect_qualifier)

    def go_string(self, package="main"):
        """The compiler's (types2) spelling, as in ``go build`` errors compiling *package*."""
        return self._str(True, _compiler_qualifier(package))

    def __repr__(self):
        try:
            return f"<goruntime type {self} (size {self.size}, align {self.align})>"
        except TypeError as e:              # an unresolved name: say so, don't fail
            return f"<goruntime type {self} ({e})>"

    def _str(self, compiler, qual):
        if compiler and self._alias:
            return self._alias
        if self._name:
            return qual(self._pkg) + self._name
        return self._literal(compiler, qual)

    def _literal(self, compiler, qual):
        raise NotImplementedError

    # -- copies ----------------------------------------------------------------
    # A Type is an immutable descriptor with Go's identity: a copy is the type itself
    # (a shallow copy of a struct type failed in Struct.__new__; one of `int` was a
    # second `int` object), so structures holding types can be (deep-)copied.

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    # -- layout ----------------------------------------------------------------

    def _layout(self):
        """Compute (size, align, ptrdata, ptr_words) once; detect invalid recursion.

        One lock for all layouts: a type laid out by two threads at once must not look
        recursive to the second (``_laying_out`` is only ever seen by its own thread).
        """
        if self._size is None:
            with _layout_lock, _signals.held():
                if self._size is not None:
                    return self._size
                if self._laying_out:
                    raise TypeError(f"invalid recursive type {self}")
                self._laying_out = True
                try:
                    size, align, ptrdata, words = self._compute_layout()
                finally:
                    self._laying_out = False
                self._size, self._align, self._ptrdata, self._words = size, align, ptrdata, words
        return self._size

    def _compute_layout(self):
        raise NotImplementedError

    @property
    def size(self):
        """unsafe.Sizeof: bytes of one value, trailing padding included."""
        return self._layout()

    @property
    def align(self):
        """unsafe.Alignof (equal to reflect's FieldAlign on amd64)."""
        self._layout()
        return self._align

    @property
    def ptrdata(self):
        """abi.Type.PtrBytes: length of the prefix that can contain pointers (0 = noscan)."""
        self._layout()
        return self._ptrdata

    @property
    def ptr_words(self):
        """Sorted indices of the pointer words of one value (a tuple): Go's GC pointer
        mask. Built from `gc_mask` on demand for arrays and structs; kept only when short
        (a ``[10_000_000]*T`` keeps its 10 MB mask, not ten million Python ints)."""
        self._layout()
        w = self._words
        if w is None:
            w = tuple(np.flatnonzero(self.gc_mask()).tolist())
            if len(w) <= _WORDS_KEPT:
                self._words = w
        return w

    @property
    def has_pointers(self):
        """abi.Type.Pointers: whether the GC must scan values of this type."""
        return self.ptrdata != 0

    def gc_mask(self):
        """Read-only bool array, one entry per 8-byte word of a value; True = pointer.
        Built by numpy (arrays tile their element's, structs place their fields'), never
        by a Python loop over elements."""
        if self._mask is None:
            mask = self._build_mask()
            mask.setflags(write=False)
            self._mask = mask
        return self._mask

    def _build_mask(self):
        mask = np.zeros(-(-self.size // PTR_SIZE), dtype=bool)
        mask[list(self._words)] = True          # a scalar-like type's few words
        return mask

    def gc_mask_unit(self):
        """``(unit, count)``: the GC mask as *count* repetitions of the bool array *unit*
        (an array of arrays of T: T's mask, the product of the lengths), so that the
        allocator can take a huge array's pointer bits without its whole mask."""
        t, count = self, 1
        while t.kind == "array" and t.len and t.ptrdata:
            count *= t.len
            t = t.elem
        return t.gc_mask(), count

    # -- methods -------------------------------------------------------------

    def declare_methods(self, *methods, pointer_receiver=False):
        """Declare methods on this named type, as ``func (T) M(...)`` would; returns self.

        Each method is a name (signature ``func()``), a ``(name, Func(...))`` pair or a
        ``Method``. With ``pointer_receiver=True`` they are ``func (*T) M(...)``: in the
        method set of ``*T`` but not of ``T``. Re-declaring a name replaces it.
        """
        if not self._name or self._underlying is None:
            what = "unnamed" if not self._name else "non-local"
            raise TypeError(f"cannot define new methods on {what} type {self}")
        if self.underlying.kind in ("ptr", "interface"):
            raise TypeError(f"invalid receiver type {self} (pointer or interface type)")
        new = {}
        for m in methods:
            if isinstance(m, Method):
                m = Method(m.name, m.type, m.pointer_receiver, m.package or self._pkg)
            else:
                m = _method(m, self._pkg, pointer_receiver)
            if isinstance(self, Struct) and m.name in self._field_names():
                raise TypeError(f"field and method with the same name {m.name}")
            new[m.name] = m
        self._methods.update(new)
        return self

    @property
    def methods(self):
        """Declared methods (of an interface: its methods), sorted as Go sorts them."""
        return tuple(sorted((self._methods or {}).values(), key=_method_order))

    def method_set(self):
        """Go's method set of this type, ``{method id: Method}``; see the module doc."""
        if self._methods:
            return {_method_id(m): m for m in self._methods.values() if not m.pointer_receiver}
        return {}


def _method_order(m):
    """Go: (*object).cmp: exported names first, then by name, then by package."""
    return (not _is_exported(m.name), m.name, "" if _is_exported(m.name) else m.package)


def _method_id(m):
    """Go: Id(pkg, name): unexported method names are qualified by their package."""
    return m.name if _is_exported(m.name) else f"{m.package}.{m.name}"


def _method(spec, package, pointer_receiver=False):
    if isinstance(spec, Method):
        return spec
    if isinstance(spec, str):
        name, sig = spec, Func()
    else:
        name, sig = spec
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"goruntime: bad method name {name!r}")
    if not isinstance(sig, Func) or sig.named:
        raise TypeError(f"goruntime: method {name} needs an unnamed Func signature, not {sig!r}")
    return Method(name, sig, bool(pointer_receiver), package)


def _declare(t):
    """Register named type *t*; return the registered twin if it is identical."""
    with _registry_lock, _signals.held():
        k = (t._pkg, t._name)
        old = _registry.get(k)
        if old is not None and old == t:
            return old
        _registry[k] = t
        return t


def lookup(name, package="main"):
    """The named type declared as *name* ("Node" or "pkg.Node") in *package*.

    Raises TypeError (``undefined: main.Node``) if no such type has been declared.
    """
    if name in _PREDECLARED and package == "main":
        return _PREDECLARED[name]
    if "." in name:
        package, _, name = name.rpartition(".")
    with _registry_lock, _signals.held():
        t = _registry.get((package, name))
    if t is None:
        raise TypeError(f"undefined: {_pkg_name(package)}.{name}" if package else f"undefined: {name}")
    return t


# -- predeclared types ----------------------------------------------------------

class _Basic(Type):
    """A predeclared scalar type (bool, the numbers, string, unsafe.Pointer)."""

    def __init__(self, kind, size, dtype, ptr=False, name=None, package=""):
        self.kind = kind
        self._name = name or kind
        self._pkg = package
        self.dtype = None if dtype is None else np.dtype(dtype)
        self._methods = {}
        self._basic = (size, min(size, PTR_SIZE) if kind != "complex64" else 4, ptr)

    def _structure(self):
        # A predeclared type is its own underlying type; Named(...) copies keep this
        # key as their underlying structure.
        return ("B", self.kind)

    def _compute_layout(self):
        size, align, ptr = self._basic
        if self.kind == "string":
            return size, 8, 8, (0,)
        return size, align, (8 if ptr else 0), ((0,) if ptr else ())

    def _literal(self, compiler, qual):
        return self.kind


Bool = _Basic("bool", 1, "?")
Int = _Basic("int", 8, "<i8")
Int8 = _Basic("int8", 1, "i1")
Int16 = _Basic("int16", 2, "<i2")
Int32 = _Basic("int32", 4, "<i4")
Int64 = _Basic("int64", 8, "<i8")
Uint = _Basic("uint", 8, "<u8")
Uint8 = _Basic("uint8", 1, "u1")
Uint16 = _Basic("uint16", 2, "<u2")
Uint32 = _Basic("uint32", 4, "<u4")
Uint64 = _Basic("uint64", 8, "<u8")
Uintptr = _Basic("uintptr", 8, "<u8")
Float32 = _Basic("float32", 4, "<f4")
Float64 = _Basic("float64", 8, "<f8")
Complex64 = _Basic("complex64", 8, "<c8")
Complex128 = _Basic("complex128", 16, "<c16")
String = _Basic("string", 16, None)
UnsafePointer = _Basic("unsafe.Pointer", 8, None, ptr=True, name="Pointer", package="unsafe")

# byte is an alias of uint8: the same type (equal, same hash, reflect prints uint8);
# only the compiler's spelling differs.
Byte = _clone(Uint8)
Byte._alias = "byte"
Byte._underlying = None


# -- composite types ------------------------------------------------------------

class Ptr(Type):
    """``*T``. ``elem`` may be given by name (``Ptr("Node")``) and is resolved lazily."""

    kind = "ptr"

    def __init__(self, elem):
        self._elem = _child(elem)

    @property
    def elem(self):
        return _get(self._elem)

    def _structure(self):
        return ("ptr", _ref(self._elem))

    def _compute_layout(self):
        return 8, 8, 8, (0,)

    def _literal(self, compiler, qual):
        return "*" + _cstr(self._elem, compiler, qual)

    def method_set(self):
        # *T has the methods of T (value and pointer receivers) when T is a defined
        # non-pointer, non-interface type.
        if self._name:
            return {}
        e = self.elem
        if e._methods and e.underlying.kind not in ("ptr", "interface"):
            return {_method_id(m): m for m in e._methods.values()}
        return {}


class Slice(Type):
    """``[]T``: a three-word header ``{data, len, cap}``; only the data word is a pointer."""

    kind = "slice"

    def __init__(self, elem):
        self._elem = _child(elem)

    @property
    def elem(self):
        return _get(self._elem)

    def _structure(self):
        return ("slice", _ref(self._elem))

    def _compute_layout(self):
        return 24, 8, 8, (0,)

    def _literal(self, compiler, qual):
        return "[]" + _cstr(self._elem, compiler, qual)


class Array(Type):
    """``[n]T``: *n* elements of *T*, laid out back to back."""

    kind = "array"

    def __init__(self, elem, n):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise TypeError(f"goruntime: invalid array length {n!r}")
        self._elem = _child(elem)
        self.len = int(n)

    @property
    def elem(self):
        return _get(self._elem)

    def _structure(self):
        return ("array", self.len, _ref(self._elem))

    def _compute_layout(self):
        e = self.elem
        e._layout()
        if e.size and self.len > (MAX_WIDTH - 1) // e.size:     # types.CalcArraySize
            raise TypeError(f"type {self} larger than address space")
        size, n = e.size * self.len, self.len
        if n == 0 or e.ptrdata == 0:
            return size, e.align, 0, ()
        # the pointer words: `gc_mask` tiles the element's, on demand
        return size, e.align, (n - 1) * e.size + e.ptrdata, None

    def _build_mask(self):
        if self.ptrdata == 0:
            return np.zeros(-(-self.size // PTR_SIZE), dtype=bool)
        return np.tile(self.elem.gc_mask(), self.len)   # pointerful: size % 8 == 0

    def _literal(self, compiler, qual):
        return f"[{self.len}]" + _cstr(self._elem, compiler, qual)


def _comparable(t):
    """Go's spec: whether == is defined (map keys must be comparable)."""
    u = t.underlying
    if u.kind in ("slice", "map", "func"):
        return False
    if u.kind == "array":
        return _comparable(u.elem)
    if u.kind == "struct":
        return all(_comparable(f.type) for f in u.fields)
    return True


class Map(Type):
    """``map[K]V``: one word, a pointer to the runtime's map header."""

    kind = "map"

    def __init__(self, key, elem):
        self._key_t, self._elem = _child(key), _child(elem)
        if isinstance(self._key_t, Type) and not _comparable(self._key_t):
            raise TypeError(f"invalid map key type {self._key_t}")

    @property
    def key(self):
        return _get(self._key_t)

    @property
    def elem(self):
        return _get(self._elem)

    def _structure(self):
        return ("map", _ref(self._key_t), _ref(self._elem))

    def _compute_layout(self):
        return 8, 8, 8, (0,)

    def _literal(self, compiler, qual):
        return f"map[{_cstr(self._key_t, compiler, qual)}]{_cstr(self._elem, compiler, qual)}"


_CHAN_PREFIX = {"both": "chan ", "send": "chan<- ", "recv": "<-chan "}


class Chan(Type):
    """``chan T`` (``dir="both"``), ``chan<- T`` (``"send"``) or ``<-chan T`` (``"recv"``)."""

    kind = "chan"

    def __init__(self, elem, dir="both"):
        if dir not in _CHAN_PREFIX:
            raise ValueError(f"goruntime: chan dir must be 'both', 'send' or 'recv', not {dir!r}")
        self._elem, self.dir = _child(elem), dir

    @property
    def elem(self):
        return _get(self._elem)

    def _structure(self):
        return ("chan", self.dir, _ref(self._elem))

    def _compute_layout(self):
        return 8, 8, 8, (0,)

    def _literal(self, compiler, qual):
        e = _cstr(self._elem, compiler, qual)
        el = self._elem
        if (self.dir == "both" and isinstance(el, Chan) and not el._name
                and el.dir == "recv"):
            e = f"({e})"                   # chan (<-chan T): "<-" binds leftmost
        return _CHAN_PREFIX[self.dir] + e


class Func(Type):
    """``func(params) results``: one word, a pointer to the closure.

    Parameters are written as in Go source: with ``variadic=True`` the last parameter
    is the element type ``T`` of ``...T`` (``Func((Ptr(T),), variadic=True)`` is
    ``func(...*main.T)``).
    """

    kind = "func"

    def __init__(self, params=(), results=(), variadic=False):
        if isinstance(params, (Type, str)) or isinstance(results, (Type, str)):
            raise TypeError("goruntime: Func params and results are sequences of types")
        self._params = tuple(_child(p) for p in params)
        self._results = tuple(_child(r) for r in results)
        self.variadic = bool(variadic)
        if self.variadic and not self._params:
            raise TypeError("goruntime: a variadic func needs at least one parameter")

    @property
    def params(self):
        return tuple(_get(p) for p in self._params)

    @property
    def results(self):
        return tuple(_get(r) for r in self._results)

    def _structure(self):
        return ("func", tuple(map(_ref, self._params)), tuple(map(_ref, self._results)),
                self.variadic)

    def _compute_layout(self):
        return 8, 8, 8, (0,)

    def _signature(self, compiler, qual):
        ps = [_cstr(p, compiler, qual) for p in self._params]
        if self.variadic:
            ps[-1] = "..." + ps[-1]
        s = "(" + ", ".join(ps) + ")"
        rs = [_cstr(r, compiler, qual) for r in self._results]
        if len(rs) == 1:
            s += " " + rs[0]
        elif rs:
            s += " (" + ", ".join(rs) + ")"
        return s

    def _literal(self, compiler, qual):
        return "func" + self._signature(compiler, qual)


def func_string(params, results=(), variadic=False):
    """reflect's spelling of a func type, e.g. ``func(*main.T, int)``, ``func(...*main.T)``."""
    return str(Func(params, results, variadic))


class Interface(Type):
    """An interface type, two words ``{type or itab, data}``; only the data word is scanned.

    ``Interface()`` is the empty interface (``Any``); ``Interface("Tinter", methods=...)``
    declares a named one. Methods are names (``func()``), ``(name, Func)`` pairs or
    ``Method`` values; unexported method names belong to *package*.
    """

    kind = "interface"

    def __new__(cls, name=None, methods=(), package="main"):
        self = object.__new__(cls)
        if isinstance(methods, dict):
            methods = methods.items()
        ms = [_method(m, package) for m in methods]
        self._methods = {}
        for m in ms:
            if m.name in self._methods:
                raise TypeError(f"duplicate method {m.name}")
            self._methods[m.name] = m
        self._order = tuple(m.name for m in ms)      # declaration order (types2 printing)
        self._decl_pkg = package
        if name is None:
            return self
        self._name, self._pkg = _check_name(name), package
        self._underlying = _clone(self)
        self._underlying._name = self._underlying._pkg = ""
        self._underlying._underlying = None
        return _declare(self)

    def _structure(self):
        return ("interface", tuple((_method_id(m), _ref(m.type)) for m in self.methods))

    def _compute_layout(self):
        return 16, 8, 16, (1,)

    def _literal(self, compiler, qual):
        if not self._methods:
            return "any" if compiler else "interface {}"
        if compiler:
            ms = [self._methods[n] for n in self._order]
            return "interface{" + "; ".join(m.name + m.type._signature(True, qual)
                                            for m in ms) + "}"
        return "interface { " + "; ".join(
            (m.name if _is_exported(m.name) else qual(m.package) + m.name)
            + m.type._signature(False, qual) for m in self.methods) + " }"

    def declare_methods(self, *methods, pointer_receiver=False):
        raise TypeError(f"invalid receiver type {self} (pointer or interface type)")

    def method_set(self):
        return {_method_id(m): m for m in self._methods.values()}


def _check_name(name):
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"goruntime: invalid type name {name!r}")
    return name


class Struct(Type):
    """``type name struct { ... }``: fields in keyword order, laid out as Go does.

    ``Struct("Node", next=Ptr("Node"), id=Int)`` declares ``main.Node``;
    ``Struct(None, a=Int8)`` is the unnamed ``struct { a int8 }``. *name* is
    positional-only so that a field may be called ``name``.
    """

    kind = "struct"

    def __new__(cls, name, /, *, package="main", **fields):
        self = object.__new__(cls)
        self._fields_in = tuple((f, _child(t)) for f, t in fields.items())
        self._decl_pkg = package
        self._methods = {}
        if name is None:
            return self
        self._name, self._pkg = _check_name(name), package
        anon = object.__new__(cls)
        anon._fields_in, anon._decl_pkg, anon._methods = self._fields_in, package, {}
        self._underlying = anon
        return _declare(self)

    def _field_names(self):
        return [f for f, _ in self._fields_in]

    def _structure(self):
        return ("struct", tuple(
            (f if _is_exported(f) else (self._decl_pkg, f), _ref(t)) for f, t in self._fields_in))

    def _compute_layout(self):
        off, align, ptrdata, laid = 0, 1, 0, []
        for fname, t in self._fields_in:
            t = _get(t)
            t._layout()
            off = -(-off // t.align) * t.align
            laid.append(Field(fname, t, off))
            if t.ptrdata:
                ptrdata = off + t.ptrdata
            off += t.size
            if off >= MAX_WIDTH:                # types.calcStructOffset
                raise TypeError(f"type {self} too large")
            align = max(align, t.align)
        if off > 0 and laid and laid[-1].type.size == 0:
            off += 1                        # Go issue 9401: &x.last stays inside x
        size = -(-off // align) * align
        self._laid = tuple(laid)
        return size, align, ptrdata, (() if ptrdata == 0 else None)    # None: see _build_mask

    def _build_mask(self):
        mask = np.zeros(-(-self.size // PTR_SIZE), dtype=bool)
        for f in self._laid:
            if f.type.ptrdata:                  # pointerful fields are 8-aligned
                m = f.type.gc_mask()
                b = f.offset // PTR_SIZE
                mask[b:b + len(m)] |= m
        return mask

    @property
    def fields(self):
        """The fields, as ``Field(name, type, offset)`` in declaration order."""
        self._layout()
        return self._laid

    def field(self, name):
        """The field called *name*; AttributeError (Go's wording) if there is none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise AttributeError(f"type {self} has no field or method {name}")

    def _literal(self, compiler, qual):
        if not self._fields_in:
            return "struct{}" if compiler else "struct {}"
        body = "; ".join(f"{f} {_cstr(t, compiler, qual)}" for f, t in self._fields_in)
        return "struct{" + body + "}" if compiler else "struct { " + body + " }"


def Named(name, underlying, *, package="main"):
    """``type name underlying``: a defined type with *underlying*'s layout.

    ``Named("Tint", Int)`` is Go's ``type Tint int``; ``Named("Tintptr", Ptr(Int))``
    prints ``main.Tintptr``. The result has the underlying type's class and attributes
    (``Named("P", Ptr(Int)).elem is Int``) and starts with no methods: like Go's
    ``type X Y``, it does not inherit Y's. *underlying* may be a name, looked up now.
    """
    _check_name(name)
    u = _get(_child(underlying)).underlying
    t = _clone(u)
    t._name, t._pkg, t._alias = name, package, None
    t._underlying = u
    t._methods = {}
    t._key_cache = t._mask = None
    if isinstance(u, Interface):
        t._methods = dict(u._methods)
    return _declare(t)


Any = Interface()
Error = Interface("error", methods=[("Error", Func(results=(String,)))], package="")

_PREDECLARED = {t._alias or t._name: t for t in (
    Bool, Int, Int8, Int16, Int32, Int64, Uint, Uint8, Uint16, Uint32, Uint64, Byte,
    Uintptr, Float32, Float64, Complex64, Complex128, String, Error)}
_PREDECLARED["any"] = Any
_PREDECLARED["unsafe.Pointer"] = UnsafePointer


# Go's type checker (identity, implements, assignability, SetFinalizer's argument rules)
# lives in typecheck.py; its public names are part of this module's API too.
from .typecheck import (  # noqa: E402
    identical, implements, assign_error, finalizer_arg_ok, finalizer_error,
)
