"""Size classes: our generated table and request mapping against Go's own data (spec 1.3-1.7).

The expected data is not ours: ``data/go_sizeclasses.go`` is Go 1.27.3's generated
internal/runtime/gc/sizeclasses.go (its SizeToSizeClass8/128 lookup tables are what
mallocgc uses), and ``data/spec_sizeclasses.txt`` is the spec's table with the Green Tea
objects-per-span columns that were measured with real Go (Appendix X4).
"""
import os
import re

import numpy as np
import pytest

import goruntime as rt
from goruntime import _heap

DATA = os.path.join(os.path.dirname(__file__), "data")


def _go_array(name):
    src = open(os.path.join(DATA, "go_sizeclasses.go")).read()
    m = re.search(r"var %s = \[[^\]]*\]\w+\{([^}]*)\}" % name, src)
    return [int(x) for x in m.group(1).replace(" ", "").split(",") if x]


GO_SIZE = _go_array("SizeClassToSize")
GO_NPAGES = _go_array("SizeClassToNPages")
GO_S8 = _go_array("SizeToSizeClass8")
GO_S128 = _go_array("SizeToSizeClass128")
SPEC = [tuple(map(int, l.split())) for l in open(os.path.join(DATA, "spec_sizeclasses.txt"))
        if not l.startswith("#")]


def go_class(n):
    """Go's lookup (malloc.go): SizeToSizeClass8 up to 1016 bytes, else SizeToSizeClass128."""
    if n <= 1024 - 8:
        return GO_S8[(n + 7) // 8]
    return GO_S128[(n - 1024 + 127) // 128]


def test_generated_table_matches_go():
    assert list(_heap.SIZE_CLASS_TO_SIZE) == GO_SIZE
    assert list(_heap.SIZE_CLASS_TO_NPAGES) == GO_NPAGES
    assert len(GO_SIZE) == 68


@pytest.mark.parametrize("row", SPEC, ids=lambda r: f"class{r[0]}")
def test_objects_per_span_green_tea(row):
    cls, size, span_bytes, pages, _gen, _align, noscan, scan = row
    assert _heap.SIZE_CLASS_TO_SIZE[cls] == size
    assert _heap.SIZE_CLASS_TO_NPAGES[cls] * 8192 == span_bytes
    assert _heap.SIZE_CLASS_TO_NELEMS_NOSCAN[cls] == noscan
    assert _heap.SIZE_CLASS_TO_NELEMS_SCAN[cls] == scan


def test_every_request_size_maps_like_go():
    """For n = 1..32768, pointerful and pointer-free: kind, class, slot bytes, header."""
    for n in range(1, 32769):
        for noscan in (True, False):
            kind, cls, slot, header = _heap.size_class(n, noscan)
            if n > 32760:
                assert (kind, cls, slot, header) == ("large", 0, 32768, False), n
            elif noscan and n < 16:
                assert (kind, cls, slot) == ("tiny", 2, 16), n
            else:
                want_header = (not noscan) and n > 512
                want = go_class(n + 8 if want_header else n)
                assert (kind, cls, header) == ("small", want, want_header), (n, noscan)
                assert slot == GO_SIZE[want]


@pytest.mark.parametrize("n,noscan,kind,cls,slot,header", [
    # spec 1.4's examples table
    (0, True, "zero", 0, 0, False),
    (8, False, "small", 1, 8, False),
    (16, True, "small", 2, 16, False),
    (512, False, "small", 26, 512, False),
    (513, False, "small", 27, 576, True),
    (1016, False, "small", 32, 1024, True),
    (1024, True, "small", 32, 1024, False),
    (1024, False, "small", 33, 1152, True),
    (18432, True, "small", 60, 18432, False),
    (18432, False, "small", 61, 19072, True),
    (32752, False, "small", 67, 32768, True),
    (32760, True, "small", 67, 32768, False),
    (32761, True, "large", 0, 32768, False),
    (32768, False, "large", 0, 32768, False),
    (40000, True, "large", 0, 40960, False),
])
def test_spec_examples(n, noscan, kind, cls, slot, header):
    assert _heap.size_class(n, noscan) == (kind, cls, slot, header)


# Noscan class 1 is never used: noscan requests under 16 bytes are tiny (spec 1.2).
GEOMETRY_CASES = [(c, ns) for c in range(1, 68) for ns in (True, False) if (c, ns) != (1, True)]


@pytest.mark.parametrize("cls,noscan", GEOMETRY_CASES)
def test_span_geometry_by_allocation(cls, noscan):
    """Allocate two spans' worth of one class: the first span holds exactly nelems slots,
    handed out in ascending address order from the span base (Appendix X4)."""
    size = _heap.SIZE_CLASS_TO_SIZE[cls]
    req = size - 8 if (not noscan and size > 512) else min(size, 32760)  # header: size-8; >32760 is large
    nelems = (_heap.SIZE_CLASS_TO_NELEMS_NOSCAN if noscan else _heap.SIZE_CLASS_TO_NELEMS_SCAN)[cls]
    h = _heap.Heap(arena_cap=256 << 20)
    mask = None if noscan else np.array([1] + [0] * (req // 8 - 1), np.uint8)
    addrs = h.alloc_many(req, noscan, nelems + 1, mask=mask)
    assert len(addrs) == nelems + 1
    hdr = 8 if (not noscan and size > 512) else 0
    base = int(addrs[0]) - hdr
    assert base % 8192 == 0
    assert [int(a) for a in addrs[:nelems]] == [base + hdr + i * size for i in range(nelems)]
    # the next object starts a new span on fresh pages right after
    assert int(addrs[nelems]) - hdr == base + _heap.SIZE_CLASS_TO_NPAGES[cls] * 8192
    k = min(3, nelems)
    assert h.find_object(int(addrs[k]) + 3) == (int(addrs[k]), int(addrs[k]) - hdr, size, cls << 1 | noscan)


# -- the public face: rt.sizeclass (issue 21: notebooks use it instead of rt._heap) --------

def test_public_sizeclass_agrees_with_the_allocator_and_the_cli():
    from goruntime import cli
    for n in [0, 1, 8, 15, 16, 17, 24, 500, 512, 513, 1024, 8000, 32752, 32760, 32761, 40000,
              1 << 20]:
        for pointers in (False, True):
            info = rt.sizeclass(n, pointers=pointers)
            kind, cls, slot, header = _heap.size_class(n, not pointers)
            assert (info.kind, info.sizeclass, info.slot, info.header) == (kind, cls, slot, header)
            _lines, facts = cli.sizeclass_report(n, pointers)
            assert (info.span_pages, info.per_span) == (facts.get("span_pages", 0),
                                                        facts.get("per_span", 0)), (n, pointers)
    with rt.Runtime():
        for T in (rt.Struct("SC1", next=rt.Ptr("SC1"), id=rt.Int), rt.Array(rt.Byte, 5),
                  rt.Array(rt.Int64, 100), rt.Struct("SC2", p=rt.Ptr(rt.Int), pad=rt.Array(rt.Int64, 80))):
            info = rt.sizeclass(T)
            assert (info.bytes, info.pointers) == (T.size, T.has_pointers)
            p = rt.new(T)
            base, slot, elemsize, spanclass = rt.current().heap.find_object(p.addr)
            if info.kind != "tiny":
                assert (elemsize, spanclass >> 1) == (info.slot, info.sizeclass), T
                assert (p.addr - slot == 8) == info.header


@pytest.mark.parametrize("arg, exc, needle", [
    (-1, ValueError, "negative size -1"),
    ((1 << 48) + 1, ValueError, "maxAlloc = 1<<48"),
    (2**64, ValueError, "more than Go can allocate"),
    (1.5, TypeError, "not float"),
    (True, TypeError, "not bool"),
    ("8", TypeError, "not str"),
])
def test_public_sizeclass_bad_input(arg, exc, needle):
    with pytest.raises(exc, match=re.escape(needle)):
        rt.sizeclass(arg)
