"""Global variable names from a Go binary's ELF symbol table (for naming data/bss roots).

A heap dump names no globals, only addresses in the data and bss segments. Given the
binary that wrote the dump (not stripped: ``go build`` keeps ``.symtab`` unless
``-ldflags=-s``), each root address is named by the object symbol that contains it,
as ``nm`` would show it (``main.cache``, ``runtime.allgs``). Little-endian ELF64 only.
"""
import numpy as np

_SYM = np.dtype([("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"),
                 ("value", "<u8"), ("size", "<u8")])
_SHDR = np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"),
                  ("offset", "<u8"), ("size", "<u8"), ("link", "<u4"), ("info", "<u4"),
                  ("addralign", "<u8"), ("entsize", "<u8")])
STT_OBJECT = 1
SHT_SYMTAB = 2


class Symbols:
    """Object symbols sorted by address: ``lookup(addrs)`` -> names with offsets."""

    def __init__(self, path):
        try:
            self._read(path)
        except (IndexError, TypeError, UnicodeDecodeError) as e:   # malformed offsets
            raise ValueError(f"{path}: malformed ELF binary ({e})") from None

    def _read(self, path):
        data, sh = section_headers(path)
        syms, raw = symbol_table(path, data, sh)
        syms = syms[((syms["info"] & 0xF) == STT_OBJECT) & (syms["value"] != 0)]
        syms = syms[np.argsort(syms["value"], kind="stable")]
        self._start = np.ascontiguousarray(syms["value"])
        self._size = np.ascontiguousarray(syms["size"])
        if len(syms) and int(syms["name"].max()) >= len(raw):
            raise ValueError(f"{path}: malformed ELF string table")
        self._names = [raw[int(o):raw.find(b"\0", int(o)) % (len(raw) + 1)].decode("utf-8", "replace")
                       for o in syms["name"]]

    def lookup(self, addr):
        """``name`` or ``name+0xoff`` of the object symbol holding *addr*, or None."""
        i = int(np.searchsorted(self._start, np.uint64(addr), side="right")) - 1
        if i < 0 or addr - int(self._start[i]) >= max(int(self._size[i]), 1):
            return None
        off = addr - int(self._start[i])
        return self._names[i] + (f"+{off:#x}" if off else "")


def section_headers(path):
    """The bytes of a little-endian ELF64 file and its section headers (checked: a bad
    file is a ValueError naming it)."""
    data = np.fromfile(path, dtype=np.uint8)
    if len(data) < 64 or bytes(data[:4]) != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF binary")
    if data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian 64-bit ELF binary")
    shoff = int(data[0x28:0x30].view("<u8")[0])
    shentsize = int(data[0x3A:0x3C].view("<u2")[0])
    shnum = int(data[0x3C:0x3E].view("<u2")[0])
    if shentsize != _SHDR.itemsize or shoff + shnum * shentsize > len(data):
        raise ValueError(f"{path}: malformed ELF section headers")
    return data, data[shoff:shoff + shnum * shentsize].view(_SHDR)


def symbol_table(path, data, sh):
    """The first symbol table's entries and its string table's bytes (checked)."""
    tabs = np.nonzero(sh["type"] == SHT_SYMTAB)[0]
    if len(tabs) == 0:
        raise ValueError(f"{path}: no symbol table (built with -ldflags=-s?)")
    st = sh[tabs[0]]
    if int(st["link"]) >= len(sh):
        raise ValueError(f"{path}: malformed ELF symbol table")
    strtab = sh[int(st["link"])]
    if (int(st["offset"]) + int(st["size"]) > len(data)     # Python ints: uint64 sums wrap
            or int(strtab["offset"]) + int(strtab["size"]) > len(data)):
        raise ValueError(f"{path}: malformed ELF symbol table")
    n = int(st["size"]) // _SYM.itemsize
    syms = data[int(st["offset"]):int(st["offset"]) + n * _SYM.itemsize].view(_SYM)
    s0 = int(strtab["offset"])
    return syms, bytes(data[s0:s0 + int(strtab["size"])])
