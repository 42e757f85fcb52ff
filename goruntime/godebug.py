"""GODEBUG as the runtime reads it (Go: runtime1.go parsedebugvars/parsegodebug, and the
removed settings of internal/godebugs).

The string is a comma-separated list of ``key=value`` fields, processed left to right, a
later field overriding an earlier one. A field without ``=`` is ignored; so is a value
that is not a base-10 int32 (strconv.ParseInt(value, 10, 32)): the setting keeps its
default. Nothing is trimmed (``" gctrace=1"`` names the unknown key ``" gctrace"``). A
removed setting given its old value is fatal, as at Go's start-up. Unknown keys are kept
(Go ignores them; goruntime reads only the ones it models: gctrace, gccheckmark, sbrk).
"""
from .errors import FatalError
from .pacer import _parse_int

__all__ = ["parse_godebug", "REMOVED"]

# internal/godebugs.Removed in Go 1.27: name -> (minor version removed, old values)
REMOVED = {
    "x509sha1": (24, {"1"}), "tlskyber": (24, {"0"}), "gotypesalias": (27, {"0"}),
    "tlsunsafeekm": (27, {"1"}), "tlsrsakex": (27, {"1"}), "tls3des": (27, {"1"}),
    "tls10server": (27, {"1"}), "x509keypairleaf": (27, {"0"}),
    "asynctimerchan": (27, {"1", "2"}),
}


def parse_godebug(s, name="godebug"):
    """``{key: int}`` of a GODEBUG string (see the module docstring).

    *s* must be a ``str`` (or None: empty); anything else is a ``TypeError`` naming
    *name*. A removed setting set to its old value raises `FatalError` with Go's message.
    """
    if s is None:
        return {}
    if not isinstance(s, str):
        raise TypeError(f"{name} must be a GODEBUG string such as 'gctrace=1,gccheckmark=1', "
                        f"not {type(s).__name__}")
    out = {}
    for field in s.split(",") if s else ():
        key, eq, value = field.partition("=")
        if not eq:
            continue
        removed = REMOVED.get(key)
        if removed is not None and value in removed[1]:
            raise FatalError(f'removed GODEBUG "{key}" set to old value "{value}" in environment '
                             f"(https://go.dev/doc/godebug#go-1{removed[0]})")
        n = _parse_int(value, 64 if key == "memprofilerate" else 32)
        if n is not None:
            out[key] = n
    return out
