"""Go maps: Go 1.27's Swiss tables (internal/runtime/maps: map.go, table.go, group.go).

Everything a Go map allocates is allocated here, with Go's types and sizes, and linked
by real pointer words, so the collector sees the map as Go's does:

- ``make(map[K]V)`` (hint <= 8): the ``Map`` header, 48 bytes (``new(Map)``). The first
  insert allocates one *group* (``growToSmall``): a control word and 8 slots of
  ``struct{key K; elem V}`` (``newarray(typ.Group, 1)``). A small map holds 8 entries.
- The 9th entry turns it into a table (``growToTable``): a ``table`` struct (32 bytes),
  its groups array (2 groups: capacity 16) and a one-entry directory ``[]*table``.
- A table holds ``capacity * 7/8`` entries; when a new key finds no room it first prunes
  tombstones (only when they are 10 % of the capacity and pruning frees 10 %), else
  grows: a new table of twice the capacity (new struct and groups; the old ones become
  garbage), up to ``maxTableCapacity`` = 1024 slots; a full 1024-slot table *splits* into
  two new tables by the next hash bit, doubling the directory when its depth is used up.
- ``make(map[K]V, hint)`` with hint > 8 sizes the directory and tables at once
  (``NewMap``: capacity ``hint * 8/7``, tables of at most 1024 slots).
- Keys or values larger than 128 bytes are stored indirectly: the slot holds a pointer
  to a ``new(K)`` / ``new(V)`` made at insertion.
- Deleting never shrinks anything: a slot becomes empty (or a tombstone when its group
  has no empty slot); ``clear(m)`` empties every group and keeps every allocation.

Placement follows Go: H1 (the hash's upper 57 bits) picks the probe sequence
(quadratic over groups), H2 (the low 7 bits) is the control byte. The hash is a keyed
BLAKE2b of the key's bytes with a per-map seed (Go: AES-based memhash with a random
seed); the seed is deterministic per runtime, so a run is reproducible. Which table an
entry lands in after a split therefore follows the same distribution as Go's, not the
same draw: counts that depend on splits (maps beyond ~900 entries) match Go's within
the spread of Go's own runs.

Supported key types: integers, bools, floats (each NaN a new key, as in Go), strings and pointers (what
the Python key can say), interfaces (``map[any]V``: the key is boxed as Go's convT* boxes it
when stored, never for a lookup or delete; its identity is the dynamic type and value, and a
slice, map or func key panics with Go's "hash of unhashable type"), and structs and arrays of
them (a dict of fields, a list or tuple, or a handle to copy from; a struct's slot is Go's
``struct{key K; elem V}`` and its identity the non-blank fields' values, strings by content);
values of any type. Assigning to a key already present stores the new key in the slot when
Go's ``NeedKeyUpdate`` says so (strings, floats, interfaces and composites holding them): a
string key then keeps the new string's bytes alive, an interface key drops its old box.
(`MapValue.update`'s compiled path leaves a float key's sign of zero as first stored.)
Channel keys are not modelled. Iteration (``m.items()``, ``for k in m``)
runs in table order (Go randomises its start) and reads each entry when it reaches it,
so the map may change during the loop as Go allows; the loop roots what Go's Iter holds (a small map's group, the table being read), so a map grown during a range keeps its old group or table until the loop moves past it. ``m.update(keys, values)`` inserts numpy arrays of
integer, float or bool keys and values in compiled code (`_maps.bulk_put`: the same
steps as `MapState.put`, growth and pruning handed back here). A Python mirror keeps each table's control bytes and
key -> slot index beside the heap memory (the hot loops of Go's group scans are dict
lookups here); it holds addresses, never handles, so only the heap graph keeps a map
alive.
"""
import hashlib
import itertools
import struct as _struct
import weakref

import numpy as np

from . import _maps, _object, _signals, types as _types
from .slice import own

GROUP_SLOTS = 8                 # Go: abi.MapGroupSlots
MAX_TABLE_CAPACITY = 1024       # Go: maxTableCapacity
MAX_AVG_GROUP_LOAD = 7          # Go: maxAvgGroupLoad
MAX_KEY_BYTES = 128             # Go: abi.MapMaxKeyBytes
MAX_ELEM_BYTES = 128            # Go: abi.MapMaxElemBytes
CTRL_EMPTY = 0x80
CTRL_DELETED = 0xFE

_PKG = "internal/runtime/maps"
MapHeader = _types.Struct(
    "Map", package=_PKG, used=_types.Uint64, seed=_types.Uintptr, dirPtr=_types.UnsafePointer,
    dirLen=_types.Int, globalDepth=_types.Uint8, globalShift=_types.Uint8, writing=_types.Uint8,
    tombstonePossible=_types.Bool, clearSeq=_types.Uint64)
TableStruct = _types.Struct(
    "table", package=_PKG, used=_types.Uint16, capacity=_types.Uint16,
    growthLeft=_types.Uint16, localDepth=_types.Uint8, index=_types.Int,
    data=_types.UnsafePointer, lengthMask=_types.Uint64)
_DIR_OFF = 16                   # Map.dirPtr
_TABLE_DATA_OFF = 16            # table.groups.data


def _mask_bytes(T):
    return np.ascontiguousarray(T.gc_mask(), dtype=np.uint8).tobytes()


class MapType:
    """Go: abi.MapType for ``map[K]V``: the group type and the slot layout."""

    _cache = {}

    def __new__(cls, T):
        e = cls._cache.get(id(T))
        if e is not None and e.type is T:
            return e
        self = object.__new__(cls)
        self.type = T
        K, V = T.underlying.key, T.underlying.elem
        self.key, self.elem = K, V
        self.indirect_key = K.size > MAX_KEY_BYTES
        self.indirect_elem = V.size > MAX_ELEM_BYTES
        kt = _types.Ptr(K) if self.indirect_key else K
        vt = _types.Ptr(V) if self.indirect_elem else V
        self.slot = _types.Struct(None, key=kt, elem=vt)
        self.group = _types.Struct(None, ctrl=_types.Uint64,
                                   slots=_types.Array(self.slot, GROUP_SLOTS))
        self.slot_size = self.slot.size
        self.group_size = self.group.size
        self.elem_off = [f.offset for f in self.slot.underlying.fields][1]
        self.group_noscan = not self.group.has_pointers
        self.group_mask = None if self.group_noscan else _mask_bytes(self.group)
        self.key_kind = K.underlying.kind
        if self.key_kind in ("struct", "array") and _comparable(K):
            self.key_kind = "composite"
        elif self.key_kind not in _KEY_KINDS:
            raise TypeError(f"goruntime: map keys of type {K.go_string()} are not modelled yet "
                            "(integers, bools, floats, strings, pointers, channels, interfaces, and "
                            "structs and arrays of them are)")
        self.need_key_update = _need_key_update(K)
        cls._cache[id(T)] = self
        return self


_INT_FMT = {"int8": "<b", "int16": "<h", "int32": "<i", "int64": "<q", "int": "<q",
            "uint8": "<B", "uint16": "<H", "uint32": "<I", "uint64": "<Q", "uint": "<Q",
            "uintptr": "<Q"}
_KEY_KINDS = set(_INT_FMT) | {"bool", "float32", "float64", "string", "ptr", "unsafe.Pointer", "interface",
                               "chan"}


def _need_key_update(T):
    """Go: reflectdata.needkeyupdate (the MapType's NeedKeyUpdate flag): an assignment to a
    key already present stores the new key in the slot, because equal keys may differ in
    memory: a float's +0/-0, a string's bytes (a key can keep a different array alive), an
    interface's box; structs and arrays that hold one of them."""
    u = T.underlying
    if u.kind == "struct":
        return any(_need_key_update(f.type) for f in u.fields)
    if u.kind == "array":
        return _need_key_update(u.elem)
    return u.kind in ("float32", "float64", "complex64", "complex128", "string", "interface")


def _comparable(T):
    """Whether *T* is a key type modelled here: a scalar key kind, or structs and arrays
    of them (Go: comparable types, complex numbers aside)."""
    u = T.underlying
    if u.kind == "struct":
        return all(_comparable(f.type) for f in u.fields)
    if u.kind == "array":
        return _comparable(u.elem)
    return u.kind in _KEY_KINDS


_ABSENT = object()          # a field a struct literal does not name: its zero value


def _composite_ident(rt, T, v, out):
    """Append the identity of a struct or array key (Go: the fields' or elements' equality,
    blank fields and padding aside) to *out*: a dict (struct literal) or a list/tuple,
    a handle to copy from, or None (the zero value); strings length-prefixed."""
    u = T.underlying
    if u.kind in ("struct", "array"):
        if isinstance(v, _object.Pointer):
            own(rt, v)
            if v.elem != T:
                raise TypeError(f"cannot use x (variable of type {v.type.go_string()}) as "
                                f"{T.go_string()} value in map index")
            if u.kind == "struct":
                v = {f.name: getattr(v, f.name) for f in u.fields if f.name != "_"}
            else:
                v = [v[i] for i in range(u.len)]
        if u.kind == "struct":
            if v is None or v is _ABSENT:
                v = {}
            if not isinstance(v, dict):
                raise TypeError(f"cannot use {v!r} as {T.go_string()} value in map index")
            names = {f.name for f in u.fields if f.name != "_"}
            for name in v:
                if name not in names:
                    raise TypeError(f"unknown field {name} in struct literal of type {T.go_string()}")
            for f in u.fields:
                if f.name != "_":
                    _composite_ident(rt, f.type, v.get(f.name, _ABSENT), out)
            return
        if v is None or v is _ABSENT:
            v = [_ABSENT] * u.len
        if not isinstance(v, (list, tuple)) or len(v) != u.len:
            raise TypeError(f"cannot use {v!r} as {T.go_string()} value in map index")
        for x in v:
            _composite_ident(rt, u.elem, x, out)
        return
    if v is _ABSENT:
        v = _zero_value(T)
    b = _scalar_key_bytes(rt, T, u.kind, v)
    if u.kind == "string":
        out.append(len(b).to_bytes(8, "little"))
    out.append(b)


def _key_bytes(rt, mt, k):
    """The key's identity: the bytes Go hashes and compares (string: its content)."""
    if mt.key_kind == "composite":
        out = []
        _composite_ident(rt, mt.key, k, out)
        return b"".join(out)
    return _scalar_key_bytes(rt, mt.key, mt.key_kind, k)


def _scalar_key_bytes(rt, K, kind, k):
    if kind in _INT_FMT:
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"cannot use {k!r} as {K.go_string()} value in map index")
        try:
            return _struct.pack(_INT_FMT[kind], k)
        except _struct.error:
            raise OverflowError(f"cannot use {k} (untyped int constant) as "
                                f"{K.go_string()} value in map index (overflows)") from None
    if kind == "string":
        from .gostring import StringValue, is_constant, operand, read_bytes
        if is_constant(rt, k):
            return k.encode()
        if isinstance(k, str):                  # loaded from memory: its bytes
            return read_bytes(rt, *operand(rt, k))
        if isinstance(k, StringValue):
            return read_bytes(rt, *operand(rt, k))
        if isinstance(k, _object.SliceValue) and k.elem.underlying.kind == "uint8":
            own(rt, k)                  # m[string(b)]: the bytes, no string made (below)
            return bytes(rt.heap.view(k.addr, len(k))) if len(k) else b""
        raise TypeError(f"cannot use {k!r} as string value in map index")
    if kind == "interface":
        return _iface_key_bytes(rt, K, k)
    if kind == "bool":
        if not isinstance(k, bool):
            raise TypeError(f"cannot use {k!r} as bool value in map index")
        return b"\x01" if k else b"\x00"
    if kind in ("float32", "float64"):
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            raise TypeError(f"cannot use {k!r} as {kind} value in map index")
        k = float(k)
        if k != k:
            # Go: NaN != NaN, so every insert of a NaN key adds an entry, and no lookup or
            # delete finds one (only range and clear reach them); its hash is random
            return _struct.pack("<d", k) + next(_NAN_IDS).to_bytes(8, "little")
        return _struct.pack("<f" if kind == "float32" else "<d", k + 0.0)
    if k is None:
        return bytes(8)
    if kind == "chan":                          # a channel: its hchan's address (chan.py)
        if not hasattr(k, "_go_word") or isinstance(k, _object.Pointer):
            raise TypeError(f"cannot use {k!r} as {K.go_string()} value in map index")
        return _struct.pack("<Q", k._go_word(rt, K))
    if not isinstance(k, _object.Pointer):
        raise TypeError(f"cannot use {k!r} as {K.go_string()} value in map index")
    own(rt, k)
    if kind == "ptr" and k.elem is not None and k.type != K:
        raise TypeError(f"cannot use x (variable of type {k.type.go_string()}) as "
                        f"{K.go_string()} value in map index")
    return _struct.pack("<Q", k.addr)


_NAN_IDS = itertools.count()     # each NaN key's own identity
_UNHASHABLE = ("slice", "map", "func")


def _iface_key_bytes(rt, K, k):
    """An interface key's identity (Go: efaceeq/ifaceeq, typehash): the dynamic type's word,
    then the value's identity as a key of that type; nil is the zero type word. A value
    whose dynamic type is not comparable panics as Go's hash does."""
    from . import iface
    if k is None:
        return bytes(8)
    if isinstance(k, _object.Pointer):
        own(rt, k)
        T, x = k.type, k
    else:
        T, x = iface.type_and_value(k)
    err = _types.assign_error(T, K, "x", "variable", "map index")
    if err is not None:
        raise TypeError(err)
    u = T.underlying
    if u.kind in _UNHASHABLE or (u.kind in ("struct", "array") and not _comparable(T)):
        from .errors import Panic
        raise Panic(f"runtime error: hash of unhashable type {T.go_string()}")
    out = [rt.rodata.type_word(T).to_bytes(8, "little")]
    if u.kind == "chan":
        out.append(_struct.pack("<Q", x._go_word(rt, T) if x is not None else 0))
    else:
        _composite_ident(rt, T, x, out)
    return b"".join(out)


def _hash(kb, seed):
    return int.from_bytes(hashlib.blake2b(kb, digest_size=8, key=seed).digest(), "little")


class _Table:
    """Go's ``table``: the Python mirror of one table (addresses, control bytes, keys)."""
    __slots__ = ("addr", "groups", "capacity", "growth_left", "used", "local_depth", "index",
                 "hashes", "hashes_addr", "slots", "keys")

    def max_growth_left(self):
        return _max_growth(self.capacity)

    def tombstones(self):
        return self.capacity * MAX_AVG_GROUP_LOAD // GROUP_SLOTS - self.used - self.growth_left


def _max_growth(capacity):
    """A new table's growth_left (Go: table.resetGrowthLeft)."""
    if capacity <= GROUP_SLOTS:
        return capacity - 1
    return capacity * MAX_AVG_GROUP_LOAD // GROUP_SLOTS


class MapState:
    """One map's mirror: header address, directory, tables (or the small group)."""

    # weak: the runtime keeps its map states (``_runtime_state``); a strong reference
    # back would make every runtime that made a map a reference cycle (issue 13)
    rt = property(lambda self: self._rt())

    def __init__(self, rt, mt, addr):
        self._rt, self.mt, self.addr = weakref.ref(rt), mt, addr
        self.used = 0
        self.seed = _next_seed(rt)
        self.small = None            # (group address, slot hashes, {key: slot}) when small
        self.dir_addr = 0
        self.directory = []          # list of _Table (repeated entries as in Go)
        self.global_depth = 0
        self.tombstone_possible = False

    # -- heap helpers ------------------------------------------------------------------
    def _groups(self, n):
        """Go: newGroups. A rooted handle to an array of *n* groups, control words empty."""
        rt, mt = self.rt, self.mt
        s = _object.new_slice_object(rt, rt.heap, n * mt.group_size, mt.group_noscan,
                                     mt.group_mask, n, n, n, mt.group)
        v = rt.heap.view(s.addr, n * mt.group_size).reshape(n, mt.group_size)
        v[:, :8] = CTRL_EMPTY
        return s

    def _new_table(self, capacity, index, local_depth, hold):
        """Go: newTable. The table struct and its groups; *hold* keeps their handles."""
        rt = self.rt
        capacity = max(capacity, GROUP_SLOTS)
        capacity = 1 << (capacity - 1).bit_length()
        t = _Table()
        tp = _object.new_object(rt, rt.heap, TableStruct.size, False,
                                _mask_bytes(TableStruct), TableStruct)
        g = self._groups(capacity // GROUP_SLOTS)
        hold += (tp, g)
        rt.heap.write_word(tp.addr + _TABLE_DATA_OFF, g.addr)
        t.addr, t.groups, t.capacity = tp.addr, g.addr, capacity
        t.used, t.local_depth, t.index = 0, local_depth, index
        t.growth_left = t.max_growth_left()
        t.hashes = np.zeros(capacity, dtype=np.uint64)   # slot -> hash (Go recomputes it)
        t.hashes_addr = t.hashes.ctypes.data             # for _maps.bulk_put (never reallocated)
        t.slots = [None] * capacity      # slot -> key bytes
        t.keys = {}                      # key bytes -> slot
        return t

    def _new_directory(self, tables, hold, d=None):
        """Install *tables* as the directory, in *d* (from `_alloc_directory`) or a new one."""
        rt = self.rt
        if d is None:
            d = self._alloc_directory(len(tables), hold)
        for i, t in enumerate(tables):
            rt.heap.write_word(d.addr + 8 * i, t.addr)
        self.dir_addr = d.addr
        self.directory = list(tables)
        rt.heap.write_word(self.addr + _DIR_OFF, d.addr)

    def _alloc_directory(self, n, hold):
        """The ``[]*table`` of *n* entries; allocated before the map changes (a MemoryError
        then leaves the map as it was)."""
        rt = self.rt
        d = _object.new_slice_object(rt, rt.heap, 8 * n, False, b"\x01", n, n, n,
                                     _types.Ptr(TableStruct))
        hold.append(d)
        return d

    def _slot_addr(self, groups, slot):
        return groups + (slot >> 3) * self.mt.group_size + 8 + (slot & 7) * self.mt.slot_size

    def _write_ctrl(self, groups, slot, c):
        _maps.set_ctrl(self.rt.heap, groups, self.mt.group_size, slot, c)

    def _store_slot(self, groups, slot, key, value, hold):
        """Write a new entry (Go: typedmemmove of key and elem; newobject when indirect)."""
        rt, mt = self.rt, self.mt
        sp = _object.make_pointer(rt, rt.heap, self._slot_addr(groups, slot), mt.slot)
        if mt.indirect_key:
            kp = rt.new(mt.key)
            kp.value = key
            sp.key = kp
            hold.append(kp)
        else:
            sp.key = key
        if mt.indirect_elem:
            ep = rt.new(mt.elem)
            hold.append(ep)
            if value is not _ZERO:
                ep.value = value
            sp.elem = ep
        elif value is not _ZERO:
            sp.elem = value


    def _elem_ptr(self, groups, slot):
        rt, mt = self.rt, self.mt
        a = self._slot_addr(groups, slot) + mt.elem_off
        if mt.indirect_elem:
            a = rt.heap.read_word(a)
        return _object.make_pointer(rt, rt.heap, a, mt.elem)

    def _key_of(self, groups, slot):
        rt, mt = self.rt, self.mt
        a = self._slot_addr(groups, slot)
        if mt.indirect_key:
            a = rt.heap.read_word(a)
        k = _object.make_pointer(rt, rt.heap, a, mt.key).value
        if mt.key_kind == "composite":
            from .chan import snapshot
            k = snapshot(k, mt.key)          # a copy, as Go's range gives it
        return k

    def _clear_slot(self, groups, slot):
        """Go: Delete clears the key (if it has pointers, or its indirect pointer) and the
        elem (typedmemclr)."""
        mt = self.mt
        a = self._slot_addr(groups, slot)
        if mt.slot_size:
            self.rt.heap.bulk_barrier(a, 0, mt.slot_size)      # Go: typedmemclr
            self.rt.heap.view(a, mt.slot_size)[:] = 0

    # -- lookup ------------------------------------------------------------------------
    def _table_of(self, h):
        if len(self.directory) == 1:
            return self.directory[0]
        return self.directory[h >> (64 - self.global_depth)]

    def find(self, kb):
        """``(groups, slot)`` of key bytes *kb*, or None."""
        if self.small is not None:
            g, _, keys = self.small
            s = keys.get(kb)
            return None if s is None else (g, s)
        if not self.directory:
            return None
        t = self._table_of(_hash(kb, self.seed))
        s = t.keys.get(kb)
        return None if s is None else (t.groups, s)

    # -- insert (Go: Map.PutSlot) ------------------------------------------------------
    def _need(self, tables=(), ndir=0, small=False):
        """MemoryError unless what one insert allocates fits: the *tables* (their
        capacities) with their groups, a directory of *ndir* entries, the small map's group
        (*small*), and the new entry's key and elem objects when they are indirect. Checked
        before the first of them is allocated and before the mirror changes (B85)."""
        mt = self.mt
        sizes, noscan = [], []
        for cap in tables:
            sizes += [TableStruct.size, cap // GROUP_SLOTS * mt.group_size]
            noscan += [False, mt.group_noscan]
        if ndir:
            sizes.append(8 * ndir)
            noscan.append(False)
        if small:
            sizes.append(mt.group_size)
            noscan.append(mt.group_noscan)
        if mt.indirect_key:
            sizes.append(mt.key.size)
            noscan.append(not mt.key.has_pointers)
        if mt.indirect_elem:
            sizes.append(mt.elem.size)
            noscan.append(not mt.elem.has_pointers)
        if sizes:
            self.rt.heap.need(sizes, noscan, max(sizes))

    def _need_many(self, new_hashes, entries=0):
        """MemoryError unless what inserting keys of *new_hashes* (absent from the map,
        distinct, in order) may allocate fits: `MapValue.update` checks its whole batch
        before the first insert (B88), as `_need` checks one."""
        sizes, noscan = self._growth(new_hashes, entries)
        if sizes:
            self.rt.heap.need(sizes, noscan, max(sizes))

    def _growth(self, new_hashes, entries=0):
        """``(sizes, noscan)`` of the objects inserting keys of *new_hashes* may allocate
        (see `_need_many`). Each table's growth is
        followed by count: it grows or splits (Go's rehash) when its growth_left runs out,
        a split partitioning its entries by the next hash bit, and every global depth
        reached allocates its directory. An upper bound: a key that reuses a tombstone,
        and a pruning, spare a table's growth_left here counted as spent, so a table may
        be counted as growing once when it will not (never the other way). *entries*: how
        many new entries' indirect key and elem objects to count too."""
        mt = self.mt
        new_hashes = np.asarray(new_hashes, dtype=np.uint64)
        sizes, noscan = [], []
        if not len(new_hashes):
            return sizes, noscan
        if mt.indirect_key:
            sizes += [mt.key.size] * entries
            noscan += [not mt.key.has_pointers] * entries
        if mt.indirect_elem:
            sizes += [mt.elem.size] * entries
            noscan += [not mt.elem.has_pointers] * entries

        def table(cap):
            sizes.extend((TableStruct.size, cap // GROUP_SLOTS * mt.group_size))
            noscan.extend((False, mt.group_noscan))
        depth0 = self.global_depth
        nodes = []           # (capacity, used, growth_left, local depth, entries' hashes or
        #                      a table to read them from, new hashes)
        if not self.directory:
            used = len(self.small[2]) if self.small is not None else 0
            if self.small is None:
                sizes.append(mt.group_size)
                noscan.append(mt.group_noscan)
            room = GROUP_SLOTS - used
            if len(new_hashes) <= room:
                return sizes, noscan
            table(2 * GROUP_SLOTS)                    # growToTable, with a directory of 1
            sizes.append(8)
            noscan.append(False)
            depth0 = 0
            old = self.small[1][list(self.small[2].values())] if self.small is not None \
                else np.zeros(0, dtype=np.uint64)
            cap = 2 * GROUP_SLOTS
            nodes.append((cap, GROUP_SLOTS, _max_growth(cap) - GROUP_SLOTS, 0,
                          np.concatenate((old, new_hashes[:room])), new_hashes[room:]))
        else:
            ids = np.zeros(len(new_hashes), dtype=np.int64) if not depth0 else \
                (new_hashes >> np.uint64(64 - depth0)).astype(np.int64)
            tix = np.fromiter((id(t) for t in self.directory), dtype=np.int64,
                              count=len(self.directory))[ids]
            order = np.argsort(tix, kind="stable")
            cut = np.flatnonzero(np.diff(tix[order])) + 1
            for grp in np.split(order, cut):
                t = self.directory[ids[grp[0]]]
                if len(grp) > t.growth_left:
                    nodes.append((t.capacity, t.used, t.growth_left, t.local_depth, t,
                                  new_hashes[grp]))
        depth = depth0
        while nodes:
            cap, used, gl, ld, old, new = nodes.pop()
            if len(new) <= gl:
                continue
            if isinstance(old, _Table):               # its entries, read only when needed
                ctrl = np.frombuffer(self._ctrl(old), dtype=np.uint8)
                old = old.hashes[ctrl < CTRL_EMPTY]
            old = np.concatenate((old, new[:gl]))
            used += gl
            new = new[gl:]
            if 2 * cap <= MAX_TABLE_CAPACITY:         # grow in place
                table(2 * cap)
                nodes.append((2 * cap, used, _max_growth(2 * cap) - used, ld, old, new))
                continue
            if ld >= 63:
                continue                              # no bit left to split by
            table(MAX_TABLE_CAPACITY)
            table(MAX_TABLE_CAPACITY)
            depth = max(depth, ld + 1)
            bit = np.uint64(1 << (63 - ld))
            for side in (False, True):
                o = old[((old & bit) != 0) == side]
                nodes.append((MAX_TABLE_CAPACITY, len(o), _max_growth(MAX_TABLE_CAPACITY) - len(o),
                              ld + 1, o, new[((new & bit) != 0) == side]))
        for d in range(depth0 + 1, depth + 1):        # installTableSplit's directories
            sizes.append(8 << d)
            noscan.append(False)
        return sizes, noscan

    def put(self, kb, key, value):
        hold = []
        h = _hash(kb, self.seed)
        if not self.directory:
            if self.small is None:                    # Go: growToSmall
                self._need(small=True)
                g = self._groups(1)
                hold.append(g)
                self.small = (g.addr, np.zeros(GROUP_SLOTS, dtype=np.uint64), {})
                self.rt.heap.write_word(self.addr + _DIR_OFF, g.addr)
            gaddr, hashes, keys = self.small
            s = keys.get(kb)
            if s is not None:
                self._update_key(gaddr, s, key)
                self._store_value(gaddr, s, value)
                return
            if len(keys) < GROUP_SLOTS:               # Go: putSlotSmall
                self._need()
                i = _maps.unchecked_put(self.rt.heap, gaddr, self.mt.group_size, 0, h)
                hashes[i] = h
                keys[kb] = i
                self._store_slot(gaddr, i, key, value, hold)
                self.used += 1
                return
            t = self._grow_to_table(hold)
            slot = _maps.unchecked_put(self.rt.heap, t.groups, self.mt.group_size,
                                       t.capacity // GROUP_SLOTS - 1, h)
            self._take(t, slot, h, kb)
            self._store_slot(t.groups, slot, key, value, hold)
            self.used += 1
            return
        while True:
            t = self._table_of(h)
            s = t.keys.get(kb)
            if s is not None:
                self._update_key(t.groups, s, key)
                self._store_value(t.groups, s, value)
                return
            slot = self._table_put_slot(t, h, kb, hold)
            if slot is None:
                continue                              # rehashed: find the table again
            self._store_slot(t.groups, slot, key, value, hold)
            return

    def _update_key(self, groups, slot, key):
        """Go: mapassign's ``if typ.NeedKeyUpdate() { typedmemmove(typ.Key, slotKey, key) }``
        (and the fast string variants): an existing key is overwritten by the new one, so a
        string key takes the new string's bytes and an interface key its new box; an
        indirect key is copied into its existing object."""
        mt = self.mt
        if not mt.need_key_update:
            return
        rt = self.rt
        a = self._slot_addr(groups, slot)
        if mt.indirect_key:
            a = rt.heap.read_word(a)
        _object.make_pointer(rt, rt.heap, a, mt.key).value = key

    def _store_value(self, groups, slot, value):
        if value is not _ZERO:
            self._elem_ptr(groups, slot).value = value

    def _probe(self, t, h):
        mask = t.capacity // GROUP_SLOTS - 1
        off, i = (h >> 7) & mask, 0
        while True:
            yield off
            i += 1
            off = (off + i) & mask

    def _take(self, t, j, h, kb):
        t.hashes[j] = h
        t.slots[j] = kb
        t.keys[kb] = j
        t.growth_left -= 1
        t.used += 1

    def _table_put_slot(self, t, h, kb, hold):
        """Go: table.PutSlot for a key known to be absent; None after a rehash."""
        gsize = self.mt.group_size
        self._need()                  # the entry's indirect objects, before anything changes
        j, first_deleted = _maps.put_probe(self.rt.heap, t.groups, gsize,
                                           t.capacity // GROUP_SLOTS - 1, h)
        if first_deleted >= 0:
            j = first_deleted
            t.growth_left += 1
        if t.growth_left == 0:
            self._prune_tombstones(t)
        if t.growth_left > 0:
            self._write_ctrl(t.groups, j, h & 0x7F)
            self._take(t, j, h, kb)
            self.used += 1
            return j
        self._rehash(t, hold)
        return None

    def _grow_to_table(self, hold):
        gaddr, hashes, keys = self.small
        self._need((2 * GROUP_SLOTS,), 1)
        t = self._new_table(2 * GROUP_SLOTS, 0, 0, hold)
        d = self._alloc_directory(1, hold)
        slots = [None] * GROUP_SLOTS
        for kb, i in keys.items():
            slots[i] = kb
        self._move_all(gaddr, 1, hashes, slots, [t], 0)
        self.small = None
        self._new_directory([t], hold, d)
        self.global_depth = 0
        return t

    def _move_all(self, src_groups, src_ngroups, src_hashes, src_slots, targets, split_mask):
        """Go's grow/split loop: every full slot, in order, into its new table."""
        a = targets[0]
        b = targets[1] if len(targets) > 1 else None
        moved = np.empty(len(src_slots), dtype=np.int64)
        _maps.reinsert(self.rt.heap, src_groups, src_ngroups, src_hashes, a.groups, a.hashes,
                       b.groups if b is not None else 0,
                       b.hashes if b is not None else np.zeros(0, dtype=np.uint64),
                       split_mask, self.mt.group_size, self.mt.slot_size, moved)
        _maps.mirror_moved(src_slots, moved, a, b, a.capacity)

    def _rehash(self, t, hold):
        """Go: table.rehash: grow to twice the capacity, or split at 1024."""
        if 2 * t.capacity <= MAX_TABLE_CAPACITY:
            self._need((2 * t.capacity,))
            nt = self._new_table(2 * t.capacity, t.index, t.local_depth, hold)
            self._reinsert(t, [nt], None)
            self._replace_table(nt)
        else:
            self._split(t, hold)
        t.index = -1

    def _reinsert(self, t, targets, mask):
        self._move_all(t.groups, t.capacity // GROUP_SLOTS, t.hashes, t.slots, targets, mask or 0)

    def _replace_table(self, nt):
        entries = 1 << (self.global_depth - nt.local_depth)
        for i in range(entries):
            self.directory[nt.index + i] = nt
            self.rt.heap.write_word(self.dir_addr + 8 * (nt.index + i), nt.addr)

    def _split(self, t, hold):
        depth = t.local_depth + 1
        self._need((MAX_TABLE_CAPACITY, MAX_TABLE_CAPACITY),
                   2 * len(self.directory) if t.local_depth == self.global_depth else 0)
        left = self._new_table(MAX_TABLE_CAPACITY, -1, depth, hold)
        right = self._new_table(MAX_TABLE_CAPACITY, -1, depth, hold)
        grow = t.local_depth == self.global_depth     # Go: installTableSplit grows the dir
        d = self._alloc_directory(2 * len(self.directory), hold) if grow else None
        self._reinsert(t, [left, right], 1 << (64 - depth))
        if grow:
            old = self.directory
            new = []
            for i, x in enumerate(old):
                new += [x, x]
                if x.index == i:
                    x.index = 2 * i
            self.global_depth += 1
            self._new_directory(new, hold, d)
        left.index = t.index
        self._replace_table(left)
        right.index = left.index + (1 << (self.global_depth - left.local_depth))
        self._replace_table(right)

    def _ctrl(self, t):
        n = t.capacity // GROUP_SLOTS
        v = self.rt.heap.view(t.groups, n * self.mt.group_size).reshape(n, self.mt.group_size)
        return bytes(v[:, :8].tobytes())

    def _prune_tombstones(self, t):
        """Go: table.pruneTombstones."""
        if t.tombstones() * 10 < t.capacity:
            return
        ngroups = t.capacity // GROUP_SLOTS
        ctrl = self._ctrl(t)
        needed = [False] * ngroups
        for g in range(ngroups):
            for j in range(g * GROUP_SLOTS, (g + 1) * GROUP_SLOTS):
                if ctrl[j] & CTRL_EMPTY:
                    continue
                for off in self._probe(t, int(t.hashes[j])):
                    if off == g:
                        break
                    if any(ctrl[x] & CTRL_EMPTY for x in range(off * 8, off * 8 + 8)):
                        needed[off] = True
            if any(ctrl[x] == CTRL_EMPTY for x in range(g * 8, g * 8 + 8)):
                needed[g] = True
        cnt = sum(1 for g in range(ngroups) if not needed[g]
                  for x in range(g * 8, g * 8 + 8) if ctrl[x] & CTRL_EMPTY)
        if cnt * 10 < t.capacity:
            return
        for g in range(ngroups):
            if needed[g]:
                continue
            for x in range(g * 8, g * 8 + 8):
                if ctrl[x] & CTRL_EMPTY:
                    self._write_ctrl(t.groups, x, CTRL_EMPTY)
                    t.growth_left += 1

    # -- delete and clear ----------------------------------------------------------------
    def delete(self, kb):
        if self.used == 0:
            return
        if self.small is not None:
            gaddr, _, keys = self.small
            s = keys.pop(kb, None)
            if s is None:
                return
            self.used -= 1
            self._clear_slot(gaddr, s)
            self._write_ctrl(gaddr, s, CTRL_EMPTY)
        else:
            h = _hash(kb, self.seed)
            t = self._table_of(h)
            s = t.keys.pop(kb, None)
            if s is None:
                return
            t.used -= 1
            self.used -= 1
            self._clear_slot(t.groups, s)
            t.slots[s] = None
            if _maps.group_has_empty(self.rt.heap, t.groups, self.mt.group_size, s):
                c = CTRL_EMPTY
                t.growth_left += 1
            else:
                c = CTRL_DELETED
                self.tombstone_possible = True
            self._write_ctrl(t.groups, s, c)
        if self.used == 0:
            self._reseed()

    def _reseed(self):
        """Go resets the seed when a map becomes empty; the tables' keys are gone, so
        nothing needs rehashing."""
        self.seed = _next_seed(self.rt)

    def clear(self):
        """Go: Map.Clear. Every group emptied and zeroed; nothing freed, nothing shrunk."""
        if self.used == 0 and not self.tombstone_possible:
            return
        mt, h = self.mt, self.rt.heap
        if self.small is not None:
            gaddr = self.small[0]
            v = h.view(gaddr, mt.group_size)
            v[:] = 0
            v[:8] = CTRL_EMPTY
            self.small = (gaddr, np.zeros(GROUP_SLOTS, dtype=np.uint64), {})
        else:
            last = None
            for t in self.directory:
                if t is last:
                    continue
                last = t
                n = t.capacity // GROUP_SLOTS
                v = h.view(t.groups, n * mt.group_size).reshape(n, mt.group_size)
                v[:] = 0
                v[:, :8] = CTRL_EMPTY
                t.hashes[:] = 0
                t.slots = [None] * t.capacity
                t.keys = {}
                t.used = 0
                t.growth_left = t.max_growth_left()
            self.tombstone_possible = False
        self.used = 0
        self._reseed()

    def read_elem(self, groups, slot):
        """The value in a slot as Go's ``v := m[k]`` gives it: a copy (a struct as a dict
        of its fields, an array as a list; map elements are not addressable in Go, so no
        handle into the table is given out)."""
        v = self._elem_ptr(groups, slot).value
        if self.mt.elem.underlying.kind in ("struct", "array"):
            from .chan import snapshot
            v = snapshot(v, self.mt.elem)
        return v

    def key_order(self):
        """Every entry's key bytes, in table order (what an iterator starting now visits)."""
        if self.small is not None:
            keys = self.small[2]
            return sorted(keys, key=keys.__getitem__)
        out = []
        last = None
        for t in self.directory:
            if t is last:
                continue
            last = t
            out.extend(kb for kb in t.slots if kb is not None)
        return out

    def _start_tables(self):
        """``[(table or None, key bytes in slot order)]``: what an iterator starting now
        walks, table by table (None: the small group)."""
        if self.small is not None:
            return [(None, self.key_order())]
        out, last = [], None
        for t in self.directory:
            if t is not last:
                out.append((t, [kb for kb in t.slots if kb is not None]))
            last = t
        return out

    def iterate(self, want_key=True, want_value=True):
        """Go's ``for k, v := range m`` (maps/runtime_swiss.go, Iter.Next): the entries
        present when the loop starts, in table order, each read when reached, so an entry
        deleted (or cleared) before it is reached is not produced and one updated gives
        its new value; entries inserted meanwhile are not produced (Go may skip them).

        The iterator is a root, as Go's Iter on the stack is: Iter.Init keeps a small
        map's group (it.group) for the whole loop, and Next keeps the table it is reading
        (it.tab, with its groups) until it moves to the next directory entry, even when
        the map grows meanwhile (it goes on reading the old table and looks entries up in
        the new one). So a GC during a range that grew the map keeps that group or table;
        the one after the loop frees it. The current entry's indirect key and elem objects
        are held the same way until the next step."""
        rt = self.rt
        held = None
        indirect = self.mt.indirect_key or self.mt.indirect_elem
        if self.small is not None:
            held = _object.make_pointer(rt, rt.heap, self.small[0], self.mt.group)
        for t, kbs in self._start_tables():
            if t is not None:
                # it.tab is the directory's table when the iterator reaches it: one that
                # was replaced before then (Go: index -1) is not read (its successor is)
                held = _object.make_pointer(rt, rt.heap, t.addr, TableStruct) if t.index != -1 else None
            for kb in kbs:
                loc = self.find(kb)
                if loc is None:
                    continue
                k = self._key_of(*loc) if want_key else None
                v = self.read_elem(*loc) if want_value else None
                cur = self._indirect_objects(*loc) if indirect else None   # Go: it.key, it.elem
                yield k, v
                del cur
        del held

    def _indirect_objects(self, groups, slot):
        """Handles to the entry's own key and elem objects when they are stored indirectly
        (Go's it.key and it.elem point at them until the next step, so an entry deleted in
        the loop body keeps its objects through a GC there)."""
        mt, rt = self.mt, self.rt
        a = self._slot_addr(groups, slot)
        out = []
        if mt.indirect_key:
            out.append(_object.make_pointer(rt, rt.heap, rt.heap.read_word(a), mt.key))
        if mt.indirect_elem:
            out.append(self._elem_ptr(groups, slot))
        return out

    def items(self):
        return list(self.iterate())


_ZERO = object()          # "no value given": the slot keeps its zeroed memory


def _runtime_state(rt):
    """The runtime's map state (``rt.map_states``): the seed counter and the mirror of each
    map by header address. It lives on the Runtime, not in a weak-keyed table here: its values
    refer back to the runtime, so such a table would keep every runtime alive for good."""
    return rt.map_states


def _next_seed(rt):
    rs = _runtime_state(rt)
    rs["seeds"] += 1
    n = rs["seeds"]
    x = (n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF       # splitmix64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 31)).to_bytes(8, "little")


def _states(rt):
    return _runtime_state(rt)["maps"]


class MapValue:
    """A Go map held by Python (``m := make(map[K]V)``): a root for its header.

    ``m[k]`` (the zero value when absent, as in Go), ``m[k] = v``, ``del m[k]`` (absent
    keys are a no-op, as Go's delete), ``len(m)``, ``k in m``, ``m.items()``,
    ``rt.clear(m)``; store it in a map-typed field or an interface.
    """
    __slots__ = ("_hdr", "_state", "__weakref__")

    def __init__(self, *a, **k):
        raise TypeError("goruntime: create maps with rt.make(rt.Map(K, V), hint=0)")

    @classmethod
    def _make(cls, hdr, state):
        self = object.__new__(cls)
        self._hdr, self._state = hdr, state
        return self

    @property
    def type(self):
        return self._state.mt.type

    @property
    def addr(self):
        """The map header's address (Go: the map value is a *Map)."""
        return self._hdr.addr

    @property
    def runtime(self):
        return self._state.rt

    def _go_word(self, rt, T):
        if rt is not self._state.rt:
            raise ValueError(f"goruntime: handle {self!r} belongs to a different Runtime")
        if T.underlying.kind != "interface":      # a map field, or a func/chan one (an error)
            err = _types.assign_error(self.type, T, "x", "variable")
            if err is not None:
                raise TypeError(err)
        return self._hdr.addr

    def _go_clear(self):
        st = self._state
        st.rt.heap.check_thread()       # closed, dead or not this thread's: before any change
        with st.rt.world, _signals.held():
            st.clear()

    def __len__(self):
        return self._state.used

    def __contains__(self, k):
        st = self._state
        st.rt.heap.check_alive()        # a closed runtime's mirror must not answer (B84)
        return st.find(_key_bytes(st.rt, st.mt, k)) is not None

    def __getitem__(self, k):
        st = self._state
        st.rt.heap.check_alive()
        loc = st.find(_key_bytes(st.rt, st.mt, k))
        if loc is None:
            from .chan import zero_value
            return zero_value(st.mt.elem, st.rt)
        return st.read_elem(*loc)

    def get(self, k, default=None):
        st = self._state
        st.rt.heap.check_alive()
        loc = st.find(_key_bytes(st.rt, st.mt, k))
        return default if loc is None else st.read_elem(*loc)

    def __setitem__(self, k, v):
        st = self._state
        rt = st.rt
        rt.heap.check_thread()          # closed, dead or not this thread's: before any change
        kb = _key_bytes(rt, st.mt, k)
        # Go's checks first (assignability, range), so a failed store changes nothing
        holder = _object.make_slice(rt, rt.heap, 0, 0, 0, _types.Byte)
        _object.check_store(holder, st.mt.elem, v)
        if isinstance(k, _object.SliceValue) and st.mt.key_kind == "string":
            from .gostring import slicebytetostring
            k = slicebytetostring(rt, k)     # m[string(b)] = v: Go converts the key first
        _object.check_store(holder, st.mt.key, k)
        with rt.world, _signals.held():      # Ctrl-C waits: the mirror and the heap change together
            st.put(kb, k, v)
        if rt.heap.gc_pending:
            rt.collector.heap_triggered()

    def update(self, keys, values):
        """``for i := range keys { m[keys[i]] = values[i] }``: same entries, same heap and
        the same allocations as that loop. With integer, float or bool keys and values
        (numpy arrays or sequences), the inserts run in compiled code
        (`_maps.bulk_put`), so a 100000-entry map is built without a Python step per
        entry; other key or value types take the loop. Every key and value is checked
        before the first insert (a bad one changes nothing). A GC the growth makes due
        runs after the batch."""
        st = self._state
        rt = st.rt
        rt.heap.check_thread()
        arrays = _bulk_arrays(st.mt, keys, values)
        if arrays is None:
            keys = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
            values = values.tolist() if isinstance(values, np.ndarray) else list(values)
            if len(keys) != len(values):
                raise ValueError(f"goruntime: update: {len(keys)} keys but {len(values)} values")
            holder = _object.make_slice(rt, rt.heap, 0, 0, 0, _types.Byte)
            kbs = []
            for k, v in zip(keys, values):              # Go's checks for all first
                kbs.append(_key_bytes(rt, st.mt, k))
                _object.check_store(holder, st.mt.elem, v)
            with rt.world, _signals.held():
                new = [kb for kb in dict.fromkeys(kbs) if st.find(kb) is None]
                st._need_many([_hash(kb, st.seed) for kb in new], len(new))   # B88
                for k, v in zip(keys, values):
                    self[k] = v
            return
        ka, va = arrays
        if not len(ka):
            return
        krows = ka.view(np.uint8).reshape(len(ka), ka.itemsize)
        hashes = np.empty(len(ka), dtype=np.uint64)
        with rt.world, _signals.held():
            # all or nothing (B88): what the batch may allocate is checked first
            st._need_many(hashes[_maps.bulk_plan(st, krows, hashlib.blake2b, hashes)])
            _maps.bulk_put(st, rt.heap, krows, va.view(np.uint8).reshape(len(va), va.itemsize),
                           ka, va, hashes)
        if rt.heap.gc_pending:
            rt.collector.heap_triggered()

    def __delitem__(self, k):
        st = self._state
        st.rt.heap.check_thread()       # the mirror must not change if the heap cannot
        kb = _key_bytes(st.rt, st.mt, k)
        with st.rt.world, _signals.held():
            st.delete(kb)

    def items(self):
        """Go's ``for k, v := range m``: an iterator of ``(key, value)`` pairs in table order
        (Go randomises where iteration starts). The map may be changed meanwhile, as in Go:
        an entry deleted before it is reached is not produced, values are read when
        reached, entries inserted during the loop are not produced."""
        return self._range(True, True)

    def _range(self, want_key, want_value):
        # a generator method: the loop holds this handle, so the map stays rooted while
        # it runs (Go's range keeps its map alive)
        st = self._state
        st.rt.heap.check_alive()                # a closed or dead runtime: FatalError
        yield from st.iterate(want_key, want_value)

    def keys(self):
        """Go's ``for k := range m`` (an iterator, as `items`)."""
        return (k for k, _ in self._range(True, False))

    def values(self):
        """Go's ``for _, v := range m`` (an iterator, as `items`)."""
        return (v for _, v in self._range(False, True))

    def __iter__(self):
        return self.keys()

    def __eq__(self, other):
        if other is None:
            return False
        if isinstance(other, MapValue):
            return self._hdr.addr == other._hdr.addr
        return NotImplemented

    def __hash__(self):
        return hash(self._hdr.addr)

    def __repr__(self):
        return f"<{self.type.go_string()} len={len(self)} {self._hdr.addr:#x}>"

    def __reduce__(self):
        raise TypeError("goruntime: a map belongs to its runtime's heap and cannot be pickled")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        raise TypeError("goruntime: cannot deepcopy a map: the copy would share its tables with the "
                        "original (copy.copy gives a second reference to the same map, as Go's "
                        "assignment does; to clone it, make a map and copy the entries: Go's maps.Clone)")




_BULK_KINDS = set(_INT_FMT) | {"bool", "float32", "float64"}


def _bulk_column(T, x, what, key=False):
    """*x* as a contiguous array of T's memory, every element checked as Go's compiler
    and `store` would (range, type; floats normalised so -0.0 is +0.0; no NaN keys)."""
    kind = T.underlying.kind
    dt = T.underlying.dtype
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"goruntime: update: {what} must be one-dimensional")
    if not len(a):
        return np.zeros(0, dtype=dt)
    if kind == "bool":
        if a.dtype != np.bool_:
            raise TypeError(f"cannot use {what} of dtype {a.dtype} as bool values")
        return np.ascontiguousarray(a)
    if kind in _INT_FMT:
        if a.dtype == np.bool_ or a.dtype.kind not in "iu":
            if a.dtype == object and all(isinstance(v, int) and not isinstance(v, bool) for v in a):
                a = np.array([int(v) for v in a], dtype=object)
            else:
                raise TypeError(f"cannot use {what} of dtype {a.dtype} as {T.go_string()} values")
        info = np.iinfo(dt)
        if len(a) and (a.min() < info.min or a.max() > info.max):
            bad = a[(a < info.min) | (a > info.max)][0]
            raise OverflowError(f"cannot use {int(bad)} (untyped int constant) as "
                                f"{T.go_string()} value in assignment (overflows)")
        return np.ascontiguousarray(a.astype(dt))
    if a.dtype == np.bool_ or a.dtype.kind not in "iuf":
        raise TypeError(f"cannot use {what} of dtype {a.dtype} as {T.go_string()} values")
    out = np.ascontiguousarray(a.astype(dt))
    if len(out) and not np.all(np.isfinite(out) | ~np.isfinite(a.astype(np.float64))):
        raise OverflowError(f"cannot use {what} as {T.go_string()} values (overflows)")
    return out + dt.type(0.0) if key else out   # a key -0.0 is +0.0: Go's key equality


def _bulk_arrays(mt, keys, values):
    """``(keys, values)`` as arrays for `_maps.bulk_put`, or None when the types need the
    Python loop (string, pointer, composite keys; values other than numbers and bools)."""
    if mt.key_kind not in _BULK_KINDS or mt.elem.underlying.kind not in _BULK_KINDS \
            or mt.indirect_key or mt.indirect_elem:
        return None
    ka = _bulk_column(mt.key, keys, "keys", key=True)
    va = _bulk_column(mt.elem, values, "values")
    if len(ka) != len(va):
        raise ValueError(f"goruntime: update: {len(ka)} keys but {len(va)} values")
    if ka.dtype.kind == "f" and np.isnan(ka).any():
        return None                  # NaN keys (each a new entry): the Python loop
    return ka, va


def _zero_value(T):
    k = T.underlying.kind
    if k in _INT_FMT:
        return 0
    if k in ("float32", "float64"):
        return 0.0
    if k in ("complex64", "complex128"):
        return 0j
    if k == "bool":
        return False
    if k == "string":
        return ""
    return None


def _need_tables(heap, mt, capacity, n):
    """MemoryError unless the header, *n* tables of *capacity* slots and their directory all
    fit: make with a hint allocates all of them or none (B81). A request past the arena is
    refused before its n sizes are listed."""
    capacity = 1 << (max(capacity, GROUP_SLOTS) - 1).bit_length()
    gbytes = capacity // GROUP_SLOTS * mt.group_size
    heap.need(itertools.chain((MapHeader.size, 8 * n), itertools.repeat(TableStruct.size, n),
                              itertools.repeat(gbytes, n)),
              itertools.chain((False, False), itertools.repeat(False, n),
                              itertools.repeat(mt.group_noscan, n)),
              gbytes, total=n * (gbytes + TableStruct.size + 8))


def makemap(rt, T, hint):
    """Go: makemap / makemap_small / NewMap."""
    if isinstance(hint, bool) or not isinstance(hint, int):
        raise TypeError(f"make: hint must be an int, not {type(hint).__name__}")
    if hint < 0:
        hint = 0                     # Go: makemap (a negative constant is a compile error)
    if hint >= 1 << 63:
        raise OverflowError(f"cannot use {hint} (untyped int constant) as int value in argument "
                            "to make (overflows)")
    mt = MapType(T)
    dir_size = 0
    if hint > GROUP_SLOTS:
        target = hint * GROUP_SLOTS // MAX_AVG_GROUP_LOAD
        dir_size = (target + MAX_TABLE_CAPACITY - 1) // MAX_TABLE_CAPACITY
        dir_size = 1 << (dir_size - 1).bit_length()
        if dir_size * MAX_TABLE_CAPACITY * mt.group_size > (1 << 48):
            dir_size = 0             # Go: a hint past maxAlloc makes an empty map
    with rt.world, _signals.held():
        if dir_size:
            _need_tables(rt.heap, mt, target // dir_size, dir_size)
        hdr = _object.new_object(rt, rt.heap, MapHeader.size, False, _mask_bytes(MapHeader),
                                 MapHeader)
        st = MapState(rt, mt, hdr.addr)
        if dir_size:
            st.global_depth = dir_size.bit_length() - 1
            hold = []
            tables = [st._new_table(target // dir_size, i, st.global_depth, hold)
                      for i in range(dir_size)]
            st._new_directory(tables, hold)
        _states(rt)[hdr.addr] = st
        m = MapValue._make(hdr, st)
    if rt.heap.gc_pending:
        rt.collector.heap_triggered()
    return m


def map_of_word(rt, w, T):
    """The map handle for header address *w* read from a field of map type *T*."""
    st = _states(rt).get(w)
    if st is None:
        raise ValueError(f"goruntime: {w:#x} is not a map of this runtime")
    return MapValue._make(_object.make_pointer(rt, rt.heap, w, MapHeader), st)


_object.register_value_types(word_value=MapValue, map_of_word=map_of_word)
