"""Stack objects from a Go binary's pclntab (the roots a heap dump's frames do not list).

A frame in a heap dump carries its pointer bitmap (live locals and arguments: Go's
``dumpframe``), not its *stack objects*: locals whose address is taken (the value a
blocked ``c <- v`` waits to hand over, ``var st State; work(&st)`` while ``work`` blocks).
Go's ``scanstack`` scans such an object, with its type's pointer mask, once a pointer into
it is found (from a frame's live pointer or another scanned stack object). The records are
the function's ``FUNCDATA_StackObjects`` in the binary: Go 1.27's ``stackObjectRecord``
(offset from the frame's varp if negative, else from its argp; size; pointer bytes; the
mask's offset from ``runtime.rodata``). This module reads them for a function given its
entry PC (the dump's frame records carry it). Little-endian ELF64 Go 1.20+ binaries only.
"""
import numpy as np

from ._elf import section_headers, symbol_table

FUNCDATA_STACK_OBJECTS = 2           # internal/abi.FUNCDATA_StackObjects
PCLNTAB_MAGIC = 0xFFFFFFF1           # internal/abi.Go120PCLnTabMagic (Go 1.20 and later)
SHT_NOBITS = 8
_RECORD = np.dtype([("off", "<i4"), ("size", "<i4"), ("ptr_bytes", "<i4"), ("gcdataoff", "<u4")])


class Pclntab:
    """A Go binary's function table: ``stack_objects(entry)`` -> the function's stack-object
    records as ``(off, size, ptr_bytes, mask)`` with *mask* a bytes bitmap, a bit per word."""

    def __init__(self, path):
        try:
            self._read(path)
        except (IndexError, TypeError, OverflowError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: malformed Go pclntab ({e})") from None
        self._cache = {}

    def _read(self, path):
        data, sh = section_headers(path)
        self._data, self._sh = data, sh[(sh["addr"] != 0) & (sh["type"] != SHT_NOBITS)]
        want = {"runtime.text": None, "go:func.*": None, "runtime.rodata": None,
                "runtime.pclntab": None}
        syms, raw = symbol_table(path, data, sh)
        for name in want:
            at = raw.find(b"\0" + name.encode() + b"\0")
            if at >= 0:
                hit = syms[syms["name"] == at + 1]
                if len(hit):
                    want[name] = int(hit["value"][0])
        missing = [k for k, v in want.items() if v is None]
        if missing:
            raise ValueError(f"{path}: no Go symbol {missing[0]} (stripped, or not a Go binary)")
        self.text, self.gofunc, self.rodata = want["runtime.text"], want["go:func.*"], want["runtime.rodata"]
        pc = want["runtime.pclntab"]
        if self._u32(pc) != PCLNTAB_MAGIC or self._bytes(pc + 7, 1)[0] != 8:
            raise ValueError(f"{path}: not a Go 1.20+ pclntab for 8-byte pointers")
        nfunc = self._u64(pc + 8)
        self._pcln = pc + self._u64(pc + 64)          # pcHeader.pclnOffset
        ftab = np.frombuffer(self._bytes(self._pcln, 8 * (nfunc + 1)), "<u4").reshape(-1, 2)
        self._entryoff = np.ascontiguousarray(ftab[:, 0])
        self._funcoff = np.ascontiguousarray(ftab[:, 1])

    def _bytes(self, va, n):
        """*n* bytes at virtual address *va*, from the section holding them."""
        sh = self._sh
        i = np.nonzero((sh["addr"] <= va) & (va + n <= sh["addr"] + sh["size"]))[0]
        if len(i) == 0:
            raise ValueError("address %#x (+%d) is in no section of the binary" % (va, n))
        off = int(sh["offset"][i[0]]) + va - int(sh["addr"][i[0]])
        if off + n > len(self._data):
            raise ValueError("section data past the end of the file")
        return self._data[off:off + n].tobytes()

    def _u32(self, va):
        return int.from_bytes(self._bytes(va, 4), "little")

    def _u64(self, va):
        return int.from_bytes(self._bytes(va, 8), "little")

    def stack_objects(self, entry):
        """The stack-object records of the function starting at PC *entry* ([] if none or
        if *entry* starts no function of the binary)."""
        entry = int(entry)
        if entry in self._cache:
            return self._cache[entry]
        out = []
        off = entry - self.text
        k = int(np.searchsorted(self._entryoff[:-1], off)) if off >= 0 else -1
        if 0 <= k < len(self._entryoff) - 1 and int(self._entryoff[k]) == off:
            f = self._pcln + int(self._funcoff[k])
            npcdata = self._u32(f + 28)
            nfuncdata = self._bytes(f + 43, 1)[0]
            if nfuncdata > FUNCDATA_STACK_OBJECTS:
                fd = self._u32(f + 44 + 4 * npcdata + 4 * FUNCDATA_STACK_OBJECTS)
                if fd != 0xFFFFFFFF:
                    p = self.gofunc + fd
                    n = self._u64(p)
                    if n > 1 << 16:
                        raise ValueError("function at %#x: %d stack objects" % (entry, n))
                    recs = np.frombuffer(self._bytes(p + 8, 16 * n), _RECORD) if n else []
                    for r in recs:
                        nb = int(r["ptr_bytes"])
                        if nb < 0 or int(r["size"]) < 0 or nb > int(r["size"]):
                            raise ValueError("function at %#x: a malformed stack object" % entry)
                        mask = self._bytes(self.rodata + int(r["gcdataoff"]), (nb // 8 + 7) // 8) if nb else b""
                        out.append((int(r["off"]), int(r["size"]), nb, mask))
        self._cache[entry] = out
        return out
