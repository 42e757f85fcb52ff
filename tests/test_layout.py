"""The package's layout rules (HACKING.md): no module reaches into the Runtime's private
state from outside the Runtime and its components, and HACKING.md's map of modules matches
the tree."""
import ast
import pathlib
import re

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "goruntime"
HACKING = PKG.parent / "HACKING.md"

# The Runtime shell and its components (runtime.py's docstring lists them): they share
# the Runtime's private state; nothing else may touch it.
COMPONENTS = {"runtime.py", "mgc.py", "mspecial.py", "mfinal.py", "mcleanup.py"}
COMPONENT_CLASSES = {"Runtime", "Collector", "Specials", "Finalizers", "Cleanups"}
# compiled parts of a component (the Collector's mark step and the Runtime's clock meter)
COMPILED_PARTS = {"_mgcstep.pyx"}


def _private_names():
    """Private attributes and methods of the Runtime and its component classes."""
    names = set()
    for f in COMPONENTS:
        tree = ast.parse((PKG / f).read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            if cls.name not in COMPONENT_CLASSES:
                continue
            for node in ast.walk(cls):
                if isinstance(node, ast.FunctionDef) and node.name.startswith("_") \
                        and not node.name.startswith("__"):
                    names.add(node.name)
                elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                      and isinstance(node.value, ast.Name) and node.value.id == "self"
                      and node.attr.startswith("_") and not node.attr.startswith("__")):
                    names.add(node.attr)
    # _rt: each component's weak reference to its runtime; weak.Pointer and the map state
    # have their own attribute of that name
    names.discard("_rt")
    return names


def _sources():
    for p in sorted(PKG.rglob("*")):
        if p.suffix in (".py", ".pyx", ".pxd") and p.name not in COMPONENTS | COMPILED_PARTS:
            yield p


def test_the_private_names_are_found():
    names = _private_names()
    # a sample that must be there, or the rule below checks nothing
    assert {"_heap_triggered_gc", "_own", "_mem_state", "_peak_spans", "_check_alive",
            "_delivering"} <= names


def test_no_module_reaches_into_the_runtime_s_private_state():
    """``rt._x`` where ``_x`` is the Runtime's (or a component's) private attribute is
    allowed only inside runtime.py and the component modules; elsewhere use the public
    seams (``rt.world``, ``rt.collector``, ``rt.rodata``, ``rt.heap_goal()``, ...)."""
    names = _private_names()
    pattern = re.compile(r"(?<![\w.])(?!self\.)([A-Za-z_][\w.()]*)\.(_[a-z]\w*)\b")
    bad = []
    for p in _sources():
        for i, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for m in pattern.finditer(code):
                receiver, attr = m.group(1), m.group(2)
                if attr in names and receiver != "self":
                    bad.append(f"{p.relative_to(PKG.parent)}:{i}: {receiver}.{attr}")
    assert not bad, "private Runtime state used outside its components:\n" + "\n".join(bad)


def test_hacking_md_maps_every_module():
    """Every module of the package is in HACKING.md's layout table, and every file the
    table names exists. In a first cell, ```_heap.pyx` / `.pxd` `` names two files."""
    table = HACKING.read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        stem = None
        for tok in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if tok.startswith(".") and stem:
                named.add(stem + tok)
            else:
                named.add(tok)
                stem = tok.rsplit(".", 1)[0]
    files = {p.relative_to(PKG).as_posix() for p in PKG.rglob("*")
             if p.suffix in (".py", ".pyx", ".pxd", ".h") and "__pycache__" not in p.parts}
    assert not sorted(files - named), f"modules missing from HACKING.md's table: {sorted(files - named)}"
    assert not sorted(named - files), f"HACKING.md's table names no such file: {sorted(named - files)}"


def test_caller_holds_the_world_lock_is_checked_in_checks_builds(monkeypatch):
    """HACKING.md's lock policy: the component internals documented "the caller holds the
    world lock" raise without it in GORUNTIME_CHECKS builds, and a whole cycle (finalizer
    and cleanup queued, observers called) passes the checks."""
    import goruntime as rt
    from goruntime import _heap
    monkeypatch.setattr(_heap, "CHECKS", True)
    with rt.Runtime() as r:
        T = rt.Struct("LockT", p=rt.Ptr(rt.Int))
        a, b = r.new(T), r.new(T)
        rt.SetFinalizer(a, lambda p: None)
        rt.AddCleanup(b, lambda x: None, 0)
        seen = []
        r.add_gc_observer(seen.append)
        del a, b
        rt.GC()
        rt.Gosched()
        assert r.gc_record.finalizers_queued == 1 and r.gc_record.cleanups_queued == 1
        assert len(seen) == 4
        for call in (lambda: r.specials.sweep(), lambda: r.cleanups.queue_blocks([]),
                     lambda: r.collector.start_cycle("cycle")):
            with pytest.raises(RuntimeError, match="without the world lock"):
                call()
        with r.world:
            r.cleanups.queue_blocks([])          # held: fine
    monkeypatch.setattr(_heap, "CHECKS", False)
    with rt.Runtime() as r2:
        r2.cleanups.queue_blocks([])             # release builds do not check
