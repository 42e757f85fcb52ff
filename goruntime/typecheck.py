"""Go's type checker, as far as goruntime needs it: type identity, interface
implementation, assignability, and the compile errors ``go build`` prints for them
(Go: cmd/compile/internal/types2 -- lookup.go's missingMethod, instantiate.go's
implements, operand.go's assignableTo, assignments.go), plus the rules SetFinalizer
applies to its finalizer's type (Go: runtime.SetFinalizer, mfinal.go).

The layouts, type strings and method sets these rules read are in `goruntime.types`;
every message here is checked against the real Go 1.27.3 compiler by
``tests/test_types.py``.
"""
import inspect as _inspect
from types import FunctionType as _FunctionType

from .types import (
    UnsafePointer, _compiler_qualifier, _method_id, _reflect_qualifier,
)

_CO_VARARGS = _inspect.CO_VARARGS

__all__ = ["identical", "implements", "assign_error", "call_arity_error", "finalizer_arg_ok",
           "finalizer_error"]


def identical(a, b):
    """Go's type identity (spec "Type identity"); see the module doc for named types."""
    return a == b


def _is_interface_ptr(t):
    """Go: isInterfacePtr: a pointer to an interface type."""
    u = t.underlying
    return u.kind == "ptr" and u.elem.underlying.kind == "interface"


def _missing_method(V, T, qual):
    """Go: (*Checker).missingMethod, lookup.go. Returns the cause text, or None."""
    wanted = T.underlying.methods
    if not wanted:
        return None
    have = V.method_set()
    Vu = V.underlying
    for m in wanted:
        f = have.get(_method_id(m))
        if f is None:
            if Vu.kind != "interface":
                own = V._methods or {}
                if (V.kind != "ptr" and m.name in own and own[m.name].pointer_receiver
                        and _method_id(own[m.name]) == _method_id(m)):
                    return f"(method {m.name} has pointer receiver)"
                st = Vu.elem.underlying if Vu.kind == "ptr" else Vu
                if st.kind == "struct" and m.name in st._field_names():
                    return f"({_cstr_unaliased(V, qual)}.{m.name} is a field, not a method)"
                folded = [g for g in have.values() if g.name.lower() == m.name.lower()]
                if folded:
                    g = folded[0]
                    if g.name == m.name:
                        return f"(unexported method {m.name})"
                    return (f"(missing method {m.name})\n\t\thave {_func_string(g, qual)}"
                            f"\n\t\twant {_func_string(m, qual)}")
            if _is_interface_ptr(V):
                return f"(type {_cstr_unaliased(V, qual)} is pointer to interface, not interface)"
            return f"(missing method {m.name})"
        if f.type != m.type:
            fs, ms = _func_string(f, qual), _func_string(m, qual)
            if fs == ms:
                full = _compiler_qualifier(None)
                fs, ms = _func_string(f, full), _func_string(m, full)
            if fs == ms:
                return f"(wrong type for method {m.name})"
            return f"(wrong type for method {m.name})\n\t\thave {fs}\n\t\twant {ms}"
    return None


def _cstr_unaliased(t, qual):
    """The compiler's spelling of *t* after Unalias: a top-level any is ``interface{}``.

    types2 resolves the alias before it explains why V does not implement T.
    """
    if t.kind == "interface" and not t._name and not t._methods:
        return "interface{}"
    return t._str(True, qual)


def _func_string(m, qual):
    """Go: (*Checker).funcString: name and signature of a method."""
    return m.name + m.type._signature(True, qual)


def _implements(V, T, qual):
    """Go: (*Checker).implements, instantiate.go. Returns (ok, cause)."""
    Tu = T.underlying
    Vs, Ts = _cstr_unaliased(V, qual), _cstr_unaliased(T, qual)
    if Tu.kind != "interface":
        if _is_interface_ptr(Tu):
            detail = f"type {Ts} is pointer to interface, not interface"
        else:
            detail = f"{Ts} is not an interface"
        return False, f"{Vs} does not implement {Ts} ({detail})"
    cause = _missing_method(V, T, qual)
    if cause is None:
        return True, None
    return False, f"{Vs} does not implement {Ts} {cause}"


def implements(V, T):
    """Whether a value of type *V* implements interface type *T* (Go's method sets)."""
    if T.underlying.kind != "interface":
        raise TypeError(f"goruntime: {T} is not an interface type")
    return _implements(V, T, _reflect_qualifier)[0]


_NILABLE = frozenset(("ptr", "slice", "map", "chan", "func", "interface", "unsafe.Pointer"))

_COMPOSITE_KIND = {"array": "array", "slice": "slice", "struct": "struct", "ptr": "pointer",
                   "func": "func", "interface": "interface", "map": "map", "chan": "chan"}


def _operand_type(V, qual):
    """Go: operandString's "of <desc>type T": defined types and the alias any say
    what they are made of ("int type Tint", "struct type S", "interface type any")."""
    u = V.underlying
    if V._name and V._underlying is not None:          # a defined type, error included
        # types2 names a basic underlying type by its Basic name: "Pointer" for unsafe.
        desc = _COMPOSITE_KIND.get(u.kind) or ("Pointer" if u == UnsafePointer
                                              else u._str(True, qual))
        desc += " "
    elif V.kind == "interface" and not V._name and not V._methods:
        desc = "interface "                 # the alias any
    else:
        desc = ""
    return f"{desc}type {V._str(True, qual)}"


def assign_error(src_type, dst_type, expr="x", what="variable", context="assignment",
                 package="main"):
    """Go's compile error for assigning a *src_type* value to a *dst_type* variable.

    Returns None if the assignment is valid (Go spec "Assignability"), else the text
    ``go build`` prints, e.g. ``cannot use x (variable of type *T) as *U value in
    assignment``. ``src_type=None`` is the untyped ``nil``. *what* is the operand mode
    (``"variable"``, ``"value"``), *context* what follows "in" (``"assignment"``,
    ``"variable declaration"``, ``"argument to f"``), and types of *package* print
    unqualified, as when compiling that package.
    Go: (*Checker).assignment, assignments.go; (*operand).assignableTo, operand.go.
    """
    qual = _compiler_qualifier(package)
    T = dst_type
    Ts = T._str(True, qual)
    if src_type is None:
        if T.underlying.kind in _NILABLE:
            return None
        return f"cannot use nil as {Ts} value in {context}"
    V = src_type
    ok, cause = _assignable(V, T, qual)
    if ok:
        return None
    msg = f"cannot use {expr} ({what} of {_operand_type(V, qual)}) as {Ts} value in {context}"
    return msg + f": {cause}" if cause else msg


def _assignable(V, T, qual):
    """Go: (*operand).assignableTo for typed, non-generic operands."""
    if V == T:
        return True, None
    Vu, Tu = V.underlying, T.underlying
    if Vu == Tu and (not V.named or not T.named):
        return True, None
    if Tu.kind == "interface" or _is_interface_ptr(Tu):
        return _implements(V, T, qual)
    if Vu.kind == "interface" and _implements(T, V, qual)[0]:
        return False, "need type assertion"
    if Vu.kind == "chan" and Vu.dir == "both" and Tu.kind == "chan" and Vu.elem == Tu.elem:
        return (not V.named or not T.named), None
    return False, None


# -- calls -----------------------------------------------------------------------

def _fast_arity(fn, n):
    """True/False for a plain Python function (its code object says), None otherwise."""
    code = getattr(fn, "__code__", None)
    if type(fn) is not _FunctionType or code is None or code.co_kwonlyargcount:
        return None
    hi = code.co_argcount
    lo = hi - len(fn.__defaults__ or ())
    return lo <= n and (n <= hi or bool(code.co_flags & _CO_VARARGS))


def call_arity_error(fn, args, name=None):
    """Go's compile error for calling *fn* with *args* (``go fn(args...)``) when their
    number does not fit its parameters, or None (also when Python cannot tell: a builtin
    without a signature). Go: (*Checker).arguments, call.go: ``not enough arguments in
    call to f`` / ``too many arguments in call to f``, then the ``have`` and ``want``
    lines. A func value (`rt.closure`) takes its captured values first."""
    from .closure import FuncValue
    lead = ()
    target = fn
    if isinstance(fn, FuncValue):
        target, lead = fn._fn, (None,) * len(fn._ctypes)
    if not lead:
        ok = _fast_arity(target, len(args))
        if ok is not None and ok:
            return None
    try:
        sig = _inspect.signature(target)
    except (TypeError, ValueError):
        return None                         # a builtin without a signature: trust it
    try:
        sig.bind(*lead, *args)
        return None
    except TypeError:
        pass
    params = list(sig.parameters.values())[len(lead):]
    need = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    few = len(args) < len([p for p in need if p.default is p.empty]) or any(
        p.kind == p.KEYWORD_ONLY and p.default is p.empty for p in params)
    name = name or getattr(target, "__qualname__", None) or repr(target)
    have = ", ".join(type(a).__name__ for a in args)
    want = ", ".join(("..." if p.kind == p.VAR_POSITIONAL else "") + p.name for p in params
                     if p.kind != p.VAR_KEYWORD and (p.default is p.empty or p.kind == p.VAR_POSITIONAL))
    return (f"{'not enough' if few else 'too many'} arguments in call to {name}\n"
            f"\thave ({have})\n\twant ({want})")


# -- SetFinalizer ----------------------------------------------------------------

def _uncommon(t):
    """Go: abi.Type.Uncommon() != nil: the type is named or has methods."""
    return t.named or bool(t.method_set())


def finalizer_arg_ok(obj_type, param_type):
    """Whether SetFinalizer can pass an *obj_type* pointer to a *param_type* parameter.

    Go: runtime.SetFinalizer, mfinal.go (spec 5.1): *param_type* is exactly
    *obj_type*; or a pointer type with the same element type when at least one of the
    two has no uncommon type (is unnamed and has no methods, so ``*T`` with methods
    does not match ``type P *T``); or an empty interface; or a non-empty interface that
    *obj_type* implements.
    """
    if obj_type.underlying.kind != "ptr":
        raise TypeError(f"goruntime: finalizer_arg_ok needs a pointer obj_type, not {obj_type}")
    if param_type == obj_type:
        return True
    pu = param_type.underlying
    if pu.kind == "ptr":
        return ((not _uncommon(param_type) or not _uncommon(obj_type))
                and pu.elem == obj_type.underlying.elem)
    if pu.kind == "interface":
        return not pu.methods or _implements(obj_type, param_type, _reflect_qualifier)[0]
    return False


def finalizer_error(obj_type, finalizer_type):
    """SetFinalizer's checks of the finalizer's type (spec 5.1 steps 8-11).

    Returns None if a *finalizer_type* value may be the finalizer of an *obj_type*
    pointer, else the fatal error text without ``fatal error: ``, e.g.
    ``runtime.SetFinalizer: cannot pass *main.T to finalizer func(...*main.T) because
    dotdotdot``.
    """
    if finalizer_type.underlying.kind != "func":
        return f"runtime.SetFinalizer: second argument is {finalizer_type}, not a function"
    ft = finalizer_type.underlying
    msg = f"runtime.SetFinalizer: cannot pass {obj_type} to finalizer {finalizer_type}"
    if ft.variadic:
        return msg + " because dotdotdot"
    if len(ft.params) != 1 or not finalizer_arg_ok(obj_type, ft.params[0]):
        return msg
    return None
