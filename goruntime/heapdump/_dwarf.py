"""Go types from a binary's DWARF: the global variables and the types they reach.

``go build`` keeps DWARF (unless ``-ldflags=-w`` or ``-s``); on linux its ``.debug_*``
sections are zlib-compressed ELF sections (``SHF_COMPRESSED``; the older ``.zdebug_*``
form is read too). Only what typing a heap needs is decoded, in the manner of Go's
``debug/dwarf`` and golang.org/x/debug's viewcore (internal/gocore/dwarf.go):

- every unit of ``.debug_info`` (DWARF 2 to 5 headers) with its abbreviations; all DWARF 5
  attribute forms are skipped correctly, a handful are kept;
- global variables (``DW_TAG_variable`` children of a compile unit whose location is one
  ``DW_OP_addr``) with their types;
- types: base, pointer, structure (Go's strings, slices and interfaces are structures
  with a ``DW_AT_go_kind``), array, typedef (Go's maps, interfaces), function types;
  ``DW_AT_go_elem`` and ``DW_AT_go_runtime_type`` (the offset of the runtime ``_type``
  from the ``runtime.types`` symbol, which is how an interface's dynamic type is named).

`Program` flattens each type into the pointer slots a heap walk follows (``slots``):
a plain pointer, a slice's data pointer (its capacity gives the count), an interface
(its dynamic type from the type word or the itab), a Swiss map's directory and groups.
The walk itself is `_graph.propagate` (Cython).
"""
import zlib

import numpy as np

from ._elf import _SHDR, _SYM, STT_OBJECT, SHT_SYMTAB

SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
DEFLATE_MAX_RATIO = 1032      # deflate's best: 258 bytes from one 2-bit code (zlib's tech notes)

# tags
T_ARRAY, T_MEMBER, T_POINTER, T_CU, T_STRUCT, T_SUBROUTINE, T_TYPEDEF = 0x01, 0x0d, 0x0f, 0x11, 0x13, 0x15, 0x16
T_SUBRANGE, T_BASE, T_VARIABLE, T_UNSPECIFIED = 0x21, 0x24, 0x34, 0x3b
TYPE_TAGS = {T_ARRAY, T_POINTER, T_STRUCT, T_SUBROUTINE, T_TYPEDEF, T_BASE, T_UNSPECIFIED}
KEEP_TAGS = TYPE_TAGS | {T_MEMBER, T_SUBRANGE, T_VARIABLE}
# attributes
A_LOCATION, A_NAME, A_BYTE_SIZE, A_UPPER_BOUND, A_COUNT, A_MEMBER_LOC, A_TYPE = 0x02, 0x03, 0x0b, 0x2f, 0x37, 0x38, 0x49
A_GO_KIND, A_GO_ELEM, A_GO_RUNTIME_TYPE = 0x2900, 0x2902, 0x2904
KEEP_ATTRS = {A_LOCATION, A_NAME, A_BYTE_SIZE, A_UPPER_BOUND, A_COUNT, A_MEMBER_LOC, A_TYPE,
              A_GO_KIND, A_GO_ELEM, A_GO_RUNTIME_TYPE}
DW_OP_addr = 0x03
# Go's reflect kinds (DW_AT_go_kind)
K_PTR, K_SLICE, K_STRING, K_INTERFACE, K_MAP, K_FUNC, K_CHAN, K_UNSAFE_PTR = 22, 23, 24, 20, 21, 19, 18, 26

# slot kinds of a flattened type (must match _graph.pyx)
S_PTR, S_SLICE, S_EFACE, S_IFACE, S_MAPDIR, S_GROUPS = 1, 2, 3, 4, 5, 6
_SLOT_WIDTH = {S_PTR: 8, S_SLICE: 24, S_EFACE: 16, S_IFACE: 16, S_MAPDIR: 16, S_GROUPS: 16}
MAX_SLOTS = 1 << 14           # per type; a larger array's slots past this are not followed

# fixed sizes of DWARF forms (None: variable); the offset size is 4 (32-bit DWARF)
_FIXED = {0x03: None, 0x05: 2, 0x06: 4, 0x07: 8, 0x0b: 1, 0x0c: 1, 0x0e: 4, 0x10: 4, 0x11: 1,
          0x12: 2, 0x13: 4, 0x14: 8, 0x17: 4, 0x19: 0, 0x1c: 4, 0x1d: 4, 0x1e: 16, 0x1f: 4,
          0x20: 8, 0x21: 0, 0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2a: 2,
          0x2b: 3, 0x2c: 4, 0x1f01: 4, 0x1f02: 4}
_ULEB_FORMS = {0x0f, 0x15, 0x1a, 0x1b, 0x22, 0x23}
_REF_CU = {0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8}


_MASK64 = (1 << 64) - 1


class DwarfError(ValueError):
    pass


class NoDwarf(ValueError):
    """The binary has no DWARF sections (built with ``-ldflags=-w`` or ``-s``)."""


def _uleb(b, i):
    """An unsigned LEB128 at b[i] and the index after it. Like Go's ``buf.varint`` the value
    is a uint64: bits past 64 are dropped (kept, a crafted run of 0xff bytes grew one
    integer byte by byte: quadratic, 400 KB took 64 s)."""
    x = s = 0
    while True:
        c = b[i]
        i += 1
        if s < 64:
            x |= (c & 0x7f) << s
        if c < 0x80:
            return x & _MASK64, i
        s += 7


def _sleb(b, i):
    """A signed LEB128 (Go's ``buf.int``: an int64; bits past 64 dropped, as `_uleb`)."""
    x = s = 0
    while True:
        c = b[i]
        i += 1
        if s < 64:
            x |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            if s < 64 and c & 0x40:
                x -= 1 << s
            x &= _MASK64
            return (x - (1 << 64) if x >> 63 else x), i


def elf_sections(path):
    """``{name: bytes}`` of an ELF64 little-endian file's sections (compressed ones
    inflated), and its object symbols ``{name: address}``."""
    data = np.fromfile(path, dtype=np.uint8)
    if len(data) < 64 or bytes(data[:4]) != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF binary")
    if data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian 64-bit ELF binary")
    raw = data.tobytes()
    shoff = int.from_bytes(raw[0x28:0x30], "little")
    shnum = int.from_bytes(raw[0x3C:0x3E], "little")
    shstrndx = int.from_bytes(raw[0x3E:0x40], "little")
    if shoff + shnum * _SHDR.itemsize > len(raw) or shstrndx >= max(shnum, 1):
        raise ValueError(f"{path}: malformed ELF section headers")
    if shnum == 0:                  # Go's debug/elf: a file with no sections (B78: the
        return {}, {}               # name table's entry 0 was indexed: IndexError)
    sh = np.frombuffer(raw, dtype=_SHDR, count=shnum, offset=shoff)
    names = sh[shstrndx]
    strs = raw[int(names["offset"]):int(names["offset"]) + int(names["size"])]
    out, syms = {}, {}
    for h in sh:
        o = int(h["name"])
        name = strs[o:strs.index(b"\0", o)].decode("utf-8", "replace") if o < len(strs) else ""
        lo, hi = int(h["offset"]), int(h["offset"]) + int(h["size"])   # (uint64 sums wrap)
        if h["type"] == 8 or hi > len(raw):          # SHT_NOBITS (.bss), or out of the file
            continue
        body = raw[lo:hi]
        if int(h["flags"]) & SHF_COMPRESSED:
            if int.from_bytes(body[:4], "little") != ELFCOMPRESS_ZLIB:
                raise ValueError(f"{path}: section {name} is compressed with an unknown method")
            body = _inflate(path, name, body[24:], int.from_bytes(body[8:16], "little"))
        elif name.startswith(".zdebug_") and body[:4] == b"ZLIB":
            body = _inflate(path, name, body[12:], int.from_bytes(body[4:12], "big"))
            name = "." + name[2:]
        out[name] = body
        if h["type"] == SHT_SYMTAB and int(h["link"]) < shnum:
            st = sh[int(h["link"])]
            sstr = raw[int(st["offset"]):int(st["offset"]) + int(st["size"])]
            s = np.frombuffer(body, dtype=_SYM, count=len(body) // _SYM.itemsize)
            for r in s[(s["info"] & 0xF) == STT_OBJECT]:
                o = int(r["name"])
                if o < len(sstr):
                    syms[sstr[o:sstr.find(b"\0", o)].decode("utf-8", "replace")] = int(r["value"])
    return out, syms


def _inflate(path, name, data, size):
    """A compressed section's *size* bytes (its header's: Go's ``Section.Data`` reads
    exactly that many). Inflating never makes more: a crafted section a few hundred KB
    long can inflate to gigabytes, and a size deflate cannot reach from *data* (at most
    ~1032:1) is refused before anything is inflated."""
    if size > DEFLATE_MAX_RATIO * len(data) + 64:
        raise ValueError(f"{path}: section {name} claims {size} bytes from {len(data)} compressed")
    try:
        out = zlib.decompressobj().decompress(data, size) if size else b""
    except zlib.error as e:
        raise ValueError(f"{path}: section {name} does not inflate ({e})") from None
    if len(out) != size:
        raise ValueError(f"{path}: section {name} inflates to {len(out)} bytes, not its header's {size}")
    return out


def read_dies(info, abbrev, addr_table=b""):
    """Decode the DIEs of *info* that typing needs: ``{offset: (tag, attrs, children)}``
    for the kept tags (children: offsets of kept child DIEs), and the offsets of the
    global variables (kept DIEs that are direct children of a compile unit)."""
    dies, globals_ = {}, []
    abbrevs_at = {}
    pos, n = 0, len(info)
    while pos + 11 <= n:
        cu = pos
        ulen = int.from_bytes(info[pos:pos + 4], "little")
        if ulen >= 0xfffffff0:
            raise DwarfError("64-bit DWARF is not supported")
        end = pos + 4 + ulen
        ver = int.from_bytes(info[pos + 4:pos + 6], "little")
        if ver >= 5:
            utype, asize = info[pos + 6], info[pos + 7]
            aoff = int.from_bytes(info[pos + 8:pos + 12], "little")
            pos += 12
            if utype in (2, 6):               # type / split type units: signature + offset
                pos += 12
        elif ver >= 2:
            aoff = int.from_bytes(info[pos + 6:pos + 10], "little")
            asize = info[pos + 10]
            pos += 11
        else:
            raise DwarfError(f"DWARF version {ver} at .debug_info+{cu:#x}")
        if end > n:
            raise DwarfError(f"truncated unit at .debug_info+{cu:#x}")
        if aoff not in abbrevs_at:
            abbrevs_at[aoff] = _abbrevs(abbrev, aoff)
        table = abbrevs_at[aoff]
        stack = []                        # (kept offset or None) of open parents
        while pos < end:
            off = pos
            code, pos = _uleb(info, pos)
            if code == 0:
                if stack:
                    stack.pop()
                continue
            try:
                tag, children, specs = table[code]
            except KeyError:
                raise DwarfError(f"unknown abbreviation {code} at .debug_info+{off:#x}") from None
            keep = tag in KEEP_TAGS
            attrs = {} if keep else None
            for at, form, ic in specs:
                if form == 0x16:                  # indirect
                    form, pos = _uleb(info, pos)
                if keep and at in KEEP_ATTRS:
                    v, pos = _value(info, pos, form, asize, cu, ic)
                    attrs[at] = (form, v)
                    continue
                size = _FIXED.get(form, -1)
                if size is None or size == -1:
                    if form in _ULEB_FORMS:
                        _, pos = _uleb(info, pos)
                    elif form == 0x01:
                        pos += asize
                    elif form == 0x08:
                        pos = info.index(b"\0", pos) + 1
                    elif form == 0x0d:
                        _, pos = _sleb(info, pos)
                    elif form in (0x09, 0x18):
                        ln, pos = _uleb(info, pos)
                        pos += ln
                    elif form == 0x0a:
                        pos += 1 + info[pos]
                    elif form == 0x03:
                        pos += 2 + int.from_bytes(info[pos:pos + 2], "little")
                    elif form == 0x04:
                        pos += 4 + int.from_bytes(info[pos:pos + 4], "little")
                    else:
                        raise DwarfError(f"unknown attribute form {form:#x} at .debug_info+{off:#x}")
                else:
                    pos += size
            if keep:
                dies[off] = (tag, attrs, [])
                parent = stack[-1] if stack else None
                if parent is not None and parent[1] is not None:
                    parent[1].append(off)
                if tag == T_VARIABLE and len(stack) == 1 and stack[0][0] == T_CU:
                    globals_.append(off)
            if children:
                stack.append((tag, dies[off][2] if keep else None))
        pos = end
    if pos > n:
        raise DwarfError("truncated .debug_info")
    return dies, globals_


def _abbrevs(b, pos):
    out = {}
    while True:
        code, pos = _uleb(b, pos)
        if code == 0:
            return out
        tag, pos = _uleb(b, pos)
        children = b[pos]
        pos += 1
        specs = []
        while True:
            at, pos = _uleb(b, pos)
            form, pos = _uleb(b, pos)
            ic = 0
            if form == 0x21:
                ic, pos = _sleb(b, pos)
            if at == 0 and form == 0:
                break
            specs.append((at, form, ic))
        out[code] = (tag, children, tuple(specs))


def _value(b, pos, form, asize, cu, ic):
    if form == 0x08:
        e = b.index(b"\0", pos)
        return b[pos:e].decode("utf-8", "replace"), e + 1
    if form in (0x0f, 0x15, 0x1a, 0x1b, 0x22, 0x23):
        v, pos = _uleb(b, pos)
        return (v + cu if form == 0x15 else v), pos
    if form == 0x0d:
        return _sleb(b, pos)
    if form in (0x09, 0x18):
        ln, pos = _uleb(b, pos)
        return b[pos:pos + ln], pos + ln
    if form == 0x0a:
        return b[pos + 1:pos + 1 + b[pos]], pos + 1 + b[pos]
    if form == 0x03:
        ln = int.from_bytes(b[pos:pos + 2], "little")
        return b[pos + 2:pos + 2 + ln], pos + 2 + ln
    if form == 0x04:
        ln = int.from_bytes(b[pos:pos + 4], "little")
        return b[pos + 4:pos + 4 + ln], pos + 4 + ln
    if form == 0x21:
        return ic, pos
    if form == 0x01:
        return int.from_bytes(b[pos:pos + asize], "little"), pos + asize
    size = _FIXED.get(form)
    if size is None:
        raise DwarfError(f"unknown attribute form {form:#x}")
    v = int.from_bytes(b[pos:pos + size], "little")
    if form in _REF_CU:
        v += cu
    return v, pos + size


def _pointer_shaped(t, depth=0):
    """How an interface holds a value of type *t* (Go: isdirectiface): -1 boxed (the data
    word points to a copy), a type id (the data word is a pointer to that type), -2 a
    pointer to nothing we type (map, chan, func, unsafe.Pointer)."""
    if t is None or depth > 8:
        return -1
    if t.tag == T_POINTER:
        if t.name == "unsafe.Pointer" or t.elem is None or not t.elem.size:
            return -2
        return t.elem.id
    if t.kind in (K_MAP, K_CHAN, K_FUNC, K_UNSAFE_PTR):
        return -2
    if t.tag == T_STRUCT and len(t.fields) == 1 and t.kind != K_INTERFACE:
        return _pointer_shaped(t.fields[0][2], depth + 1)
    if t.tag == T_ARRAY and t.count == 1:
        return _pointer_shaped(t.elem, depth + 1)
    return -1


class Type:
    """A Go type from DWARF: ``name``, ``size``, ``kind`` (a Go reflect kind or 0),
    ``fields`` [(name, offset, Type)] for structures, ``elem`` and ``count`` for arrays
    and pointers, ``rtype`` (its runtime ``_type`` address, or 0)."""

    __slots__ = ("id", "name", "size", "kind", "tag", "fields", "elem", "count", "rtype", "_slots",
                 "target")

    def __init__(self, id_, name, size, kind, tag):
        self.id, self.name, self.size, self.kind, self.tag = id_, name, size, kind, tag
        self.fields, self.elem, self.count, self.rtype, self._slots = [], None, 0, 0, None
        self.target = None

    def __repr__(self):
        return f"<Type {self.name} size {self.size}>"

    def field_at(self, off):
        """The field path covering byte *off* (``Left``, ``Key.str``, ``[3].Next``), or ''."""
        t, parts = self, []
        for _ in range(64):
            if t is None:
                break
            if t.tag == T_ARRAY and t.elem is not None and t.elem.size:
                i = off // t.elem.size
                parts.append(f"[{i}]")
                off -= i * t.elem.size
                t = t.elem
                continue
            if t.tag == T_STRUCT:
                hit = None
                for name, fo, ft in t.fields:
                    if fo <= off < fo + max(ft.size if ft else 0, 1):
                        hit = (name, fo, ft)
                if hit is None:
                    break
                parts.append(("." if parts else "") + hit[0])
                off -= hit[1]
                t = hit[2]
                continue
            break
        return "".join(parts)


_BUSY = ()          # a type whose slots are being built (`Program.slots`)


def _parts(t):
    """The types *t* may hold by value, whose slots its own are made of (`Program.slots`)."""
    if t.tag == T_STRUCT:
        return [ft for _, _, ft in t.fields]
    if t.tag == T_ARRAY:
        return [t.elem]
    return []


class Program:
    """The globals and types of a Go binary's DWARF (see the module docstring)."""

    def __init__(self, path):
        try:
            secs, syms = elf_sections(path)
        except (IndexError, TypeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: malformed ELF binary ({e})") from None
        if ".debug_info" not in secs or ".debug_abbrev" not in secs:
            raise NoDwarf(f"{path}: no DWARF (built with -ldflags=-w or -s?)")
        try:
            self._read(secs, syms)
        except (IndexError, KeyError, TypeError, RecursionError, OverflowError, DwarfError) as e:
            raise ValueError(f"{path}: malformed DWARF ({type(e).__name__}: {e})") from None

    def _read(self, secs, syms):
        dies, gl = read_dies(secs[".debug_info"], secs[".debug_abbrev"])
        self._dies = dies
        self.types_base = syms.get("runtime.types", 0)
        self.types = []                       # Type by id
        self._by_off = {}
        self._pending = []                    # (Type, DIE offset) of pointer/element types
        self.globals = []                     # (name, address, Type), sorted by address
        for off in gl:
            _, a, _ = dies[off]
            loc = a.get(A_LOCATION)
            if loc is None or A_TYPE not in a or not isinstance(loc[1], bytes):
                continue
            e = loc[1]
            if len(e) != 9 or e[0] != DW_OP_addr:
                continue
            t = self.type_at(a[A_TYPE][1])
            if t is not None:
                self.globals.append((a.get(A_NAME, (0, "?"))[1], int.from_bytes(e[1:9], "little"), t))
        for off, (tag, a, _) in dies.items():      # every runtime type, for interfaces
            if tag in TYPE_TAGS and A_GO_RUNTIME_TYPE in a and a[A_GO_RUNTIME_TYPE][1]:
                self.type_at(off)
        self._finish()
        self.globals = sorted((g for g in self.globals if g[2].size), key=lambda g: g[1])
        self._global_starts = np.array([g[1] for g in self.globals], dtype=np.uint64)
        self._tables = self._make_tables()
        self._by_name = {}
        for t in self.types:
            self._by_name.setdefault(t.name, t)

    def _finish(self):
        """Resolve the deferred pointer and element types (iteratively: a type graph is
        deep and cyclic through pointers), then give each typedef its target's shape."""
        while self._pending:
            t, off = self._pending.pop()
            t.elem = self.type_at(off)
        for t in self.types:
            if t.tag != T_TYPEDEF:
                continue
            u, hops, kind = t.target, 0, t.kind
            while u is not None and u.target is not None and hops < 64:   # typedef chains
                kind = kind or u.kind
                u, hops = u.target, hops + 1
            if u is not None and u.target is None and u.tag != T_TYPEDEF:
                t.size, t.tag, t.fields, t.elem, t.count = u.size, u.tag, u.fields, u.elem, u.count
                t.kind = kind or u.kind

    def type_at(self, off):
        """The Type of the DIE at *off* (built once; typedefs take their target's shape
        in `_finish`, keeping their name)."""
        t = self._by_off.get(off)
        if t is not None or off in self._by_off:
            return t
        d = self._dies.get(off)
        if d is None or d[0] not in TYPE_TAGS:
            self._by_off[off] = None
            return None
        tag, a, kids = d
        name = a.get(A_NAME, (0, ""))[1]
        kind = a.get(A_GO_KIND, (0, 0))[1]
        if tag == T_TYPEDEF:
            t = Type(len(self.types), name, 0, kind, T_TYPEDEF)
            self.types.append(t)
            self._by_off[off] = t
            t.target = self.type_at(a[A_TYPE][1]) if A_TYPE in a else None
            t.rtype = (self.types_base + a[A_GO_RUNTIME_TYPE][1]) if a.get(A_GO_RUNTIME_TYPE, (0, 0))[1] else 0
            return t
        size = a.get(A_BYTE_SIZE, (0, 8 if tag in (T_POINTER, T_SUBROUTINE) else 0))[1]
        t = Type(len(self.types), name, int(size), kind, tag)
        self.types.append(t)
        self._by_off[off] = t
        if a.get(A_GO_RUNTIME_TYPE, (0, 0))[1]:
            t.rtype = self.types_base + a[A_GO_RUNTIME_TYPE][1]
        if tag == T_POINTER:
            t.size = 8
            if A_TYPE in a:
                self._pending.append((t, a[A_TYPE][1]))
        elif tag == T_ARRAY:
            t.elem = self.type_at(a[A_TYPE][1]) if A_TYPE in a else None
            for k in kids:
                ka = self._dies[k][1]
                if A_COUNT in ka:
                    t.count = int(ka[A_COUNT][1])
                elif A_UPPER_BOUND in ka:
                    t.count = int(ka[A_UPPER_BOUND][1]) + 1
            if not size and t.elem is not None:
                t.size = t.count * t.elem.size
        elif tag == T_STRUCT:
            for k in kids:
                ktag, ka, _ = self._dies[k]
                if ktag != T_MEMBER or A_TYPE not in ka:
                    continue
                loc = ka.get(A_MEMBER_LOC, (0, 0))[1]
                t.fields.append((ka.get(A_NAME, (0, "?"))[1], int(loc) if isinstance(loc, int) else 0,
                                 self.type_at(ka[A_TYPE][1])))
            if kind == K_SLICE and A_GO_ELEM in a:
                self._pending.append((t, a[A_GO_ELEM][1]))
        return t

    def named(self, name):
        return self._by_name.get(name)

    def slots(self, t):
        """The pointer slots a heap walk follows in a value of type *t*: a list of
        ``(offset, kind, type1, type2)`` (kinds S_*; types as ids, -1 when unknown).

        Each type's slots are built once, from its parts' (struct fields, array
        elements) already built: the types form a DAG by value, and flattening each
        use anew is exponential in its depth (a crafted ``S{a, b S1}; S1{a, b S2}...``
        ran for hours). Parts come first (an explicit stack: no recursion limit); a type
        that contains itself by value (bad DWARF) sees its own slots as none."""
        if t._slots is None:
            stack = [t]
            while stack:
                u = stack[-1]
                if u._slots is None:
                    u._slots = _BUSY
                    stack.extend(p for p in _parts(u) if p is not None and p._slots is None)
                    continue
                stack.pop()
                if u._slots is _BUSY:
                    u._slots = self._flatten(u)
        return t._slots

    def _flatten(self, t):
        """*t*'s slots, its parts' slots already built (`slots`)."""
        out = []
        if t.tag == T_POINTER:
            e = t.elem
            if t.name == "unsafe.Pointer" or e is None or not e.size:
                return out
            out.append((0, S_PTR, e.id, -1))
        elif t.kind == K_SLICE and t.elem is not None and t.elem.size:
            out.append((0, S_SLICE, t.elem.id, -1))
        elif t.kind == K_STRING:
            return out
        elif t.kind == K_INTERFACE and t.tag == T_STRUCT and len(t.fields) == 2:
            first = t.fields[0][0]
            out.append((0, S_EFACE if first == "_type" else S_IFACE, -1, -1))
        elif t.tag == T_STRUCT and t.name.startswith("map<"):
            # Swiss map: dirPtr is one group when dirLen == 0, else dirLen *table
            fd = {n: (o, ft) for n, o, ft in t.fields}
            if "dirPtr" in fd and "dirLen" in fd and fd["dirLen"][0] == fd["dirPtr"][0] + 8:
                tp = fd["dirPtr"][1]                 # **table<K,V>
                ptab = tp.elem if tp is not None else None
                tab = ptab.elem if ptab is not None else None
                group = None
                if tab is not None:
                    g = {n: ft for n, o, ft in tab.fields}.get("groups")
                    data = {n: ft for n, o, ft in g.fields}.get("data") if g is not None else None
                    group = data.elem if data is not None else None
                out.append((fd["dirPtr"][0], S_MAPDIR, group.id if group else -1,
                            ptab.id if ptab else -1))
        elif t.tag == T_STRUCT and t.name.startswith("groupReference<"):
            fd = {n: (o, ft) for n, o, ft in t.fields}
            if "data" in fd and "lengthMask" in fd and fd["data"][1] is not None and fd["data"][1].elem:
                out.append((fd["data"][0], S_GROUPS, fd["data"][1].elem.id, -1))
        elif t.tag == T_STRUCT:
            for _, fo, ft in t.fields:
                if ft is not None and len(out) < MAX_SLOTS:
                    out.extend((o + fo, k, a, b) for o, k, a, b in ft._slots[:MAX_SLOTS - len(out)])
        elif t.tag == T_ARRAY and t.elem is not None and t.elem.size:
            one = t.elem._slots
            if not one:
                return out
            # a zero-length array still gives its element's slots once: Go's
            # atomic.Pointer[T] is {_ [0]*T; _ noCopy; v unsafe.Pointer}, and its [0]*T
            # is what types v
            for i in range(max(t.count, 1)):
                if len(out) >= MAX_SLOTS:
                    break
                d = i * t.elem.size
                out.extend((o + d, k, a, b) for o, k, a, b in one[:MAX_SLOTS - len(out)])
        return out

    def tables(self):
        """Flat numpy tables of every type for `_graph.propagate`: sizes, slot starts,
        slot offsets, kinds, target types, interface data kinds, runtime type addresses
        (sorted) and their type ids."""
        return self._tables

    def _make_tables(self):
        for t in self.types:
            self.slots(t)
        nt = len(self.types)
        size = np.array([t.size for t in self.types], dtype=np.uint64)
        start = np.zeros(nt + 1, dtype=np.int64)
        for t in self.types:          # a slot must lie inside its type (bad DWARF: dropped)
            t._slots = [x for x in t._slots if 0 <= x[0] and x[0] + _SLOT_WIDTH[x[1]] <= t.size]
        start[1:] = np.cumsum([len(t._slots) for t in self.types])
        s = [x for t in self.types for x in t._slots]
        sl = np.array(s, dtype=np.int64).reshape(-1, 4)
        # direct interface values: a pointer-shaped dynamic type stores the pointer itself
        direct = np.full(nt, -1, dtype=np.int32)
        for t in self.types:
            direct[t.id] = _pointer_shaped(t)
        rt = [(t.rtype, t.id) for t in self.types if t.rtype]
        rt.sort()
        rt_addr = np.array([a for a, _ in rt], dtype=np.uint64)
        rt_type = np.array([i for _, i in rt], dtype=np.int32)
        return (size, start, np.ascontiguousarray(sl[:, 0].astype(np.uint64)),
                np.ascontiguousarray(sl[:, 1].astype(np.uint8)),
                np.ascontiguousarray(sl[:, 2].astype(np.int32)),
                np.ascontiguousarray(sl[:, 3].astype(np.int32)), direct, rt_addr, rt_type)

    def globals_in(self, lo, hi):
        """The global variables that lie wholly in ``[lo, hi)``."""
        i = int(np.searchsorted(self._global_starts, np.uint64(lo), side="left"))
        out = []
        while i < len(self.globals) and self.globals[i][1] < hi:
            g = self.globals[i]
            if g[1] + g[2].size <= hi:
                out.append(g)
            i += 1
        return out

    def global_at(self, addr):
        """``(name, offset, Type)`` of the global variable holding *addr*, or None."""
        i = int(np.searchsorted(self._global_starts, np.uint64(addr), side="right")) - 1
        if i < 0:
            return None
        name, a, t = self.globals[i]
        if addr - a >= t.size:
            return None
        return name, addr - a, t
