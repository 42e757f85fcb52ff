"""Check that each compiled module's ``.pyi`` stub matches the module (``make lint``).

For every ``goruntime/**/X.pyi`` beside a compiled extension ``X``: each name the stub
declares exists in the module (a class's methods and attributes on the class), and each
public name of the module (not ``_``-prefixed, not Cython's own) is declared in the stub.
Signatures are not compared: Cython's ``__cinit__``/``embedsignature`` conventions make a
full ``mypy.stubtest`` run report mostly Cython artifacts. Exit status 1 on a mismatch.
"""
import ast
import importlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "goruntime"
# Attributes Cython adds to every extension module or type.
CYTHON_NAMES = {"__pyx_capi__", "__test__", "__reduce_cython__", "__setstate_cython__"}


def _public(name):
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__")
                                        and name not in CYTHON_NAMES)


def _stub_names(tree):
    """{name: set of member names or None} declared at the top level of a stub."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for m in node.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(m.name)
                elif isinstance(m, ast.AnnAssign) and isinstance(m.target, ast.Name):
                    members.add(m.target.id)
                elif isinstance(m, ast.Assign):
                    members.update(t.id for t in m.targets if isinstance(t, ast.Name))
            out[node.name] = members
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = None
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = None
    return out


def check(stub):
    rel = stub.relative_to(ROOT).with_suffix("")
    modname = ".".join(rel.parts)
    mod = importlib.import_module(modname)
    declared = _stub_names(ast.parse(stub.read_text()))
    errors = []
    for name, members in declared.items():
        if not hasattr(mod, name):
            errors.append(f"{modname}.{name}: in the stub, not in the module")
            continue
        obj = getattr(mod, name)
        for m in sorted(members or ()):
            if m == "__getattr__" and "__getattribute__" in vars(obj):
                continue                  # dynamic field access, typed for checkers
            if not hasattr(obj, m):
                errors.append(f"{modname}.{name}.{m}: in the stub, not in the module")
        if isinstance(obj, type) and members is not None:
            own = {k for k in vars(obj) if _public(k) and not k.startswith("__")}
            for m in sorted(own - members):
                errors.append(f"{modname}.{name}.{m}: in the module, not in the stub")
    for name in sorted(vars(mod)):
        if name.startswith("_") or name in declared:
            continue
        obj = getattr(mod, name)
        if getattr(obj, "__module__", modname) != modname and not callable(obj):
            continue                      # an imported module or constant
        if isinstance(obj, type(sys)):
            continue
        if callable(obj) and getattr(obj, "__module__", modname) != modname:
            continue                      # imported from elsewhere
        errors.append(f"{modname}.{name}: in the module, not in the stub")
    return errors


def main():
    stubs = sorted(p for p in PKG.rglob("*.pyi"))
    errors = []
    for stub in stubs:
        errors += check(stub)
    for e in errors:
        print(e)
    print(f"check_stubs: {len(stubs)} stubs, {len(errors)} mismatches")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
