# cython: embedsignature=True
"""Parser for Go's heap dump format ("go1.7 heap dump", runtime/heapdump.go).

A dump is a 16-byte header followed by records. Every record is a uvarint tag and fields
that are uvarints, strings/memory ranges (a uvarint length, then that many bytes) or
field lists (pairs of uvarint kind and offset, ended by kind 0). The writer is Go's
``mdump`` (heapdump.go): params, itabs (with the types they name), objects span by span,
goroutines each followed by their stack frames, defers and panics, OS threads, the data
and bss segments, finalizers, queued finalizers, the MemStats record, memory-profile
buckets and allocation samples, EOF.

The parser runs twice over the mapped file without the GIL: the first pass validates every
record and counts rows, the second fills preallocated uint64 tables (one per record kind,
one row per record, the columns in ``COLUMNS``) and one flat array of pointer offsets
shared by objects, frames and segments. With threads, both passes run in parts: the
filling pass from checkpoints of the counting pass, and the counting pass (which must read
the variable-length records in order) with speculative parts that are taken only when the
pass in order reaches their first record exactly (``_count``). Strings and contents are
not copied: a table holds their file offset and length. Any malformed byte -- a varint longer than 10 bytes, a length
running past the end, an unknown tag or field kind, a pointer offset outside its object,
a missing or repeated params/MemStats record, no EOF -- stops the pass with the file offset
of the bad byte and of the record it belongs to; ``parse`` raises ``ValueError`` with both.

Go: dumpint (uvarint), dumpmemrange, dumpstr, dumpfields / dumpbv, and the dump* writers.
"""
import numpy as np

from libc.stdlib cimport calloc, malloc, realloc, free
from libc.string cimport memcpy
from goruntime._types cimport uint8_t, uint32_t, uint64_t, intp_t

cdef enum:
    TAG_EOF = 0
    TAG_OBJECT = 1
    TAG_OTHER_ROOT = 2
    TAG_TYPE = 3
    TAG_GOROUTINE = 4
    TAG_STACK_FRAME = 5
    TAG_PARAMS = 6
    TAG_FINALIZER = 7
    TAG_ITAB = 8
    TAG_OS_THREAD = 9
    TAG_MEMSTATS = 10
    TAG_QUEUED_FINALIZER = 11
    TAG_DATA = 12
    TAG_BSS = 13
    TAG_DEFER = 14
    TAG_PANIC = 15
    TAG_MEMPROF = 16
    TAG_ALLOC_SAMPLE = 17
    NTAGS = 18
    NSTACKCOLS = 6                # memprof stack entries: rec_off, name_off, name_len, file_off, file_len, line
    MAXSEG = 64                   # segments of the filling pass (one thread each)
    MAXCOLS = 300
    MEMSTATS_WORDS = 24 + 256 + 1
    SYNC_WINDOW = 1 << 20         # bytes searched for a speculative part's first record
    SYNC_PROBE = 16               # object records in a row that make a start plausible

HEADER = b"go1.7 heap dump\n"

# Columns of each table, in order; every table starts with the record's file offset.
COLUMNS = {
    TAG_OBJECT: ("rec_off", "addr", "size", "content_off", "field_start", "nfields"),
    TAG_OTHER_ROOT: ("rec_off", "desc_off", "desc_len", "to"),
    TAG_TYPE: ("rec_off", "addr", "size", "name_off", "name_len", "indirect"),
    TAG_GOROUTINE: ("rec_off", "addr", "sp", "goid", "gopc", "status", "is_system",
                    "is_background", "waitsince", "reason_off", "reason_len", "ctxt", "m",
                    "defer", "panic"),
    TAG_STACK_FRAME: ("rec_off", "sp", "depth", "child_sp", "content_off", "content_len",
                      "entry", "pc", "continpc", "name_off", "name_len", "field_start",
                      "nfields", "goroutine"),
    TAG_PARAMS: ("rec_off", "big_endian", "ptrsize", "arena_start", "arena_end", "arch_off",
                 "arch_len", "version_off", "version_len", "ncpu"),
    TAG_FINALIZER: ("rec_off", "obj", "fn", "fn_pc", "fint", "ot"),
    TAG_ITAB: ("rec_off", "addr", "type"),
    TAG_OS_THREAD: ("rec_off", "addr", "id", "procid"),
    TAG_MEMSTATS: ("rec_off",) + tuple("w%d" % i for i in range(MEMSTATS_WORDS)),
    TAG_QUEUED_FINALIZER: ("rec_off", "obj", "fn", "fn_pc", "fint", "ot"),
    TAG_DATA: ("rec_off", "addr", "content_off", "content_len", "field_start", "nfields"),
    TAG_BSS: ("rec_off", "addr", "content_off", "content_len", "field_start", "nfields"),
    TAG_DEFER: ("rec_off", "addr", "gp", "sp", "pc", "fn", "fn_pc", "link"),
    TAG_PANIC: ("rec_off", "addr", "gp", "type", "data", "defer", "link"),
    TAG_MEMPROF: ("rec_off", "bucket", "size", "nstk", "stk_start", "allocs", "frees"),
    TAG_ALLOC_SAMPLE: ("rec_off", "addr", "bucket"),
}
TABLE_NAMES = {
    TAG_OBJECT: "objects", TAG_OTHER_ROOT: "other_roots", TAG_TYPE: "types",
    TAG_GOROUTINE: "goroutines", TAG_STACK_FRAME: "frames", TAG_PARAMS: "params",
    TAG_FINALIZER: "finalizers", TAG_ITAB: "itabs", TAG_OS_THREAD: "os_threads",
    TAG_MEMSTATS: "memstats", TAG_QUEUED_FINALIZER: "queued_finalizers", TAG_DATA: "data",
    TAG_BSS: "bss", TAG_DEFER: "defers", TAG_PANIC: "panics", TAG_MEMPROF: "memprof",
    TAG_ALLOC_SAMPLE: "alloc_samples",
}
STACK_COLUMNS = ("rec_off", "name_off", "name_len", "file_off", "file_len", "line")


# The counting pass's state at a record boundary: the filling pass starts a segment there
# (each segment on its own thread).
cdef struct ckpt_t:
    intp_t pos
    intp_t cnt[NTAGS]
    intp_t nfields
    intp_t nstk
    intp_t run                # the run the last object belongs to (-1: none yet)
    uint64_t run_off          # objects of that run before this point
    uint64_t prev_addr
    bint have_params


cdef struct reader:
    const uint8_t* p
    intp_t n
    intp_t pos
    intp_t rec_start          # offset of the record being read
    intp_t err_pos            # offset of the bad byte
    const char* err           # what was wrong (static string), NULL if nothing
    uint64_t err_arg          # a number for the message (tag, kind, offset)
    # outputs; NULL in the counting pass
    uint64_t* tab[NTAGS]
    intp_t cnt[NTAGS]
    uint64_t* fields
    intp_t nfields
    uint64_t* stk
    intp_t nstk
    # object runs (maximal address-ascending sequences of object records, in file order):
    # the counting pass records them when `runs_cap` > 0; the filling pass, given
    # `run_row` (each run's first row in address order), writes objects sorted
    uint64_t* runs            # 3 words per run: first ordinal, first address, last address
    intp_t nruns
    intp_t runs_cap           # 0: do not record runs (or a realloc failed)
    const uint64_t* run_row
    uint64_t prev_addr
    intp_t run                # the run being read (filling pass)
    intp_t next_row
    # the filling pass writes objects as records of a structured array when `obj` is set:
    # `obj_stride` bytes each; addr, size, content_off, field_start (uint64) and nfields
    # (uint32) at the byte offsets `obj_off[0..4]`
    uint8_t* obj
    intp_t obj_stride
    intp_t obj_off[5]
    # segments: the counting pass saves its state every `seg_len` bytes (at most MAXSEG);
    # a filling pass started from a checkpoint stops at `stop` (a record boundary)
    ckpt_t* ck
    intp_t nck
    intp_t seg_len
    intp_t stop
    intp_t run_start_row      # rows of the current run before it (counting pass)
    bint have_params
    # the counting pass in parts: a pass stops at the first record boundary at or after
    # `stop_ge` (-1: none); a speculative part (`spec`) reads object records only and
    # stops, without an error, before anything else (another record, a malformed one)
    intp_t stop_ge
    bint spec
    bint at_eof               # the EOF record was read


cdef int fail(reader* r, const char* msg, intp_t pos, uint64_t arg) noexcept nogil:
    r.err = msg
    r.err_pos = pos
    r.err_arg = arg
    return -1


cdef inline int uvarint(reader* r, uint64_t* out) noexcept nogil:
    """Go's binary.Uvarint: at most 10 bytes, the 10th at most 1 (Go: dumpint)."""
    cdef uint64_t x = 0
    cdef unsigned int s = 0
    cdef intp_t i = 0, start = r.pos
    cdef uint8_t b
    while True:
        if r.pos >= r.n:
            return fail(r, "truncated: varint runs past the end of the file", start, 0)
        b = r.p[r.pos]
        r.pos += 1
        if b < 0x80:
            if i == 9 and b > 1:
                return fail(r, "malformed varint (overflows 64 bits)", start, 0)
            out[0] = x | (<uint64_t>b << s)
            return 0
        if i == 9:
            return fail(r, "malformed varint (longer than 10 bytes)", start, 0)
        x |= <uint64_t>(b & 0x7f) << s
        s += 7
        i += 1


cdef inline int memrange(reader* r, uint64_t* off, uint64_t* length) noexcept nogil:
    """A uvarint length and that many bytes (Go: dumpmemrange, dumpstr): their offset."""
    cdef intp_t start = r.pos
    if uvarint(r, length) < 0:
        return -1
    if length[0] > <uint64_t>(r.n - r.pos):
        return fail(r, "truncated: a length of %llu bytes runs past the end of the file",
                    start, length[0])
    off[0] = <uint64_t>r.pos
    r.pos += <intp_t>length[0]
    return 0


cdef inline int uvarint_at(reader* r, const uint8_t* p, intp_t n, intp_t* pos,
                           uint64_t* out) noexcept nogil:
    """`uvarint` at *pos*, a position kept in the caller's local: a one-byte varint is
    read in place, a longer one (or the end of the data) through the reader."""
    if pos[0] < n and p[pos[0]] < 0x80:
        out[0] = p[pos[0]]
        pos[0] += 1
        return 0
    r.pos = pos[0]
    if uvarint(r, out) < 0:
        return -1
    pos[0] = r.pos
    return 0


cdef int fieldlist(reader* r, bint check, uint64_t limit, uint64_t* start, uint64_t* count) noexcept nogil:
    """Pairs (kind, offset) up to kind 0 (Go: dumpfields). Pointer offsets are kept; an
    interface field's data word (offset + 8) is its pointer. *limit*: the size of the
    memory the offsets index, checked if *check*. One-byte varints (kinds, and offsets
    below 128: most of them) are read inline; the position and count stay in locals (a
    store through *count* or the field list could otherwise alias the reader's). Checked
    lists (an object's, a data or bss segment's) come from a pointer bitmap, so their
    offsets strictly ascend (Go: dumpbv); a frame's joins two bitmaps and is not checked."""
    cdef const uint8_t* p = r.p
    cdef intp_t pos = r.pos, n = r.n, nf = r.nfields, nf0 = r.nfields, at
    cdef uint64_t* out = r.fields
    cdef uint64_t kind, off, nxt = 0     # the least offset the next field may have
    start[0] = <uint64_t>nf0
    while True:
        at = pos
        if uvarint_at(r, p, n, &pos, &kind) < 0:
            return -1
        if kind == 0:
            break
        if kind > 3:
            return fail(r, "unknown field kind %llu", at, kind)
        at = pos
        if uvarint_at(r, p, n, &pos, &off) < 0:
            return -1
        if kind != 1:
            off += 8
        if off & 7:
            return fail(r, "pointer field offset %llu is not 8-byte aligned", at, off)
        if check:
            if off < nxt or off > limit or limit - off < 8:     # one test on the hot path
                if off > limit or limit - off < 8:
                    return fail(r, "pointer field offset %llu is outside its memory", at, off)
                return fail(r, "pointer field offset %llu does not follow the one before it "
                            "(a field list ascends)", at, off)
            nxt = off + 8
        if out != NULL:
            out[nf] = off
        nf += 1
    r.pos = pos
    r.nfields = nf
    count[0] = <uint64_t>(nf - nf0)
    return 0


cdef int read_record(reader* r, uint64_t tag, uint64_t* v, bint* have_params) noexcept nogil:
    """Read the body of one record of kind *tag* into v[1:] (v[0] is its offset)."""
    cdef uint64_t i, nstk, a, b, c, _frame
    cdef uint64_t* s
    cdef intp_t at
    if tag != TAG_PARAMS and not have_params[0]:
        return fail(r, "record of kind %llu before the params record", r.rec_start, tag)
    if tag == TAG_OBJECT:
        if uvarint(r, &v[1]) < 0 or memrange(r, &v[3], &v[2]) < 0:
            return -1
        if v[2] == 0:
            return fail(r, "object of size 0", r.rec_start, 0)
        if fieldlist(r, True, v[2], &v[4], &v[5]) < 0:
            return -1
        if v[5] > 0xffffffffULL:
            return fail(r, "object with more than 2**32-1 pointer fields", r.rec_start, 0)
    elif tag == TAG_OTHER_ROOT:
        if memrange(r, &v[1], &v[2]) < 0 or uvarint(r, &v[3]) < 0:
            return -1
    elif tag == TAG_TYPE:
        if uvarint(r, &v[1]) < 0 or uvarint(r, &v[2]) < 0 or memrange(r, &v[3], &v[4]) < 0 \
                or uvarint(r, &v[5]) < 0:
            return -1
    elif tag == TAG_GOROUTINE:
        for i in range(1, 9):
            if uvarint(r, &v[i]) < 0:
                return -1
        if memrange(r, &v[9], &v[10]) < 0:
            return -1
        for i in range(11, 15):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_STACK_FRAME:
        if r.cnt[TAG_GOROUTINE] == 0:
            return fail(r, "stack frame before any goroutine record", r.rec_start, 0)
        for i in range(1, 4):
            if uvarint(r, &v[i]) < 0:
                return -1
        if memrange(r, &v[4], &v[5]) < 0:
            return -1
        for i in range(6, 9):
            if uvarint(r, &v[i]) < 0:
                return -1
        if memrange(r, &v[9], &v[10]) < 0 or fieldlist(r, False, 0, &v[11], &v[12]) < 0:
            return -1
        v[13] = <uint64_t>(r.cnt[TAG_GOROUTINE] - 1)
    elif tag == TAG_PARAMS:
        if have_params[0]:
            return fail(r, "a second params record", r.rec_start, 0)
        if uvarint(r, &v[1]) < 0 or uvarint(r, &v[2]) < 0 or uvarint(r, &v[3]) < 0 \
                or uvarint(r, &v[4]) < 0 or memrange(r, &v[5], &v[6]) < 0 \
                or memrange(r, &v[7], &v[8]) < 0 or uvarint(r, &v[9]) < 0:
            return -1
        have_params[0] = True
    elif tag == TAG_FINALIZER or tag == TAG_QUEUED_FINALIZER:
        for i in range(1, 6):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_ITAB:
        if uvarint(r, &v[1]) < 0 or uvarint(r, &v[2]) < 0:
            return -1
    elif tag == TAG_OS_THREAD:
        for i in range(1, 4):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_MEMSTATS:
        if r.cnt[TAG_MEMSTATS]:
            return fail(r, "a second MemStats record", r.rec_start, 0)
        for i in range(1, MEMSTATS_WORDS + 1):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_DATA or tag == TAG_BSS:
        if uvarint(r, &v[1]) < 0 or memrange(r, &v[2], &v[3]) < 0 \
                or fieldlist(r, True, v[3], &v[4], &v[5]) < 0:
            return -1
    elif tag == TAG_DEFER:
        for i in range(1, 8):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_PANIC:
        for i in range(1, 7):
            if uvarint(r, &v[i]) < 0:
                return -1
    elif tag == TAG_MEMPROF:
        if uvarint(r, &v[1]) < 0 or uvarint(r, &v[2]) < 0:
            return -1
        at = r.pos
        if uvarint(r, &nstk) < 0:
            return -1
        if nstk > <uint64_t>(r.n - r.pos):      # each entry takes at least 3 bytes
            return fail(r, "truncated: a stack of %llu frames runs past the end of the file", at, nstk)
        v[3] = nstk
        v[4] = <uint64_t>r.nstk
        for _frame in range(nstk):
            at = r.pos
            if memrange(r, &a, &b) < 0:
                return -1
            if r.stk != NULL:
                s = &r.stk[r.nstk * NSTACKCOLS]
                s[0] = <uint64_t>at
                s[1] = a
                s[2] = b
            if memrange(r, &a, &b) < 0 or uvarint(r, &c) < 0:
                return -1
            if r.stk != NULL:
                s[3] = a
                s[4] = b
                s[5] = c
            r.nstk += 1
        if uvarint(r, &v[5]) < 0 or uvarint(r, &v[6]) < 0:
            return -1
    elif tag == TAG_ALLOC_SAMPLE:
        if uvarint(r, &v[1]) < 0 or uvarint(r, &v[2]) < 0:
            return -1
    else:
        return fail(r, "unknown record tag %llu", r.rec_start, tag)
    return 0


cdef void start_at(reader* r, const ckpt_t* c) noexcept nogil:
    """Resume a pass at checkpoint *c* (NULL: the first record), up to ``r.stop``."""
    cdef int t
    if c == NULL:
        r.pos = 16
        r.nfields = 0
        r.nstk = 0
        r.run = -1
        r.prev_addr = 0
        r.have_params = False
        for t in range(NTAGS):
            r.cnt[t] = 0
        r.next_row = 0
        return
    r.pos = c.pos
    r.nfields = c.nfields
    r.nstk = c.nstk
    r.run = c.run
    r.prev_addr = c.prev_addr
    r.have_params = c.have_params
    for t in range(NTAGS):
        r.cnt[t] = c.cnt[t]
    r.next_row = 0
    if r.run_row != NULL and c.run >= 0:
        r.next_row = <intp_t>(r.run_row[c.run] + c.run_off)


cdef void save_at(reader* r) noexcept nogil:
    cdef ckpt_t* c = &r.ck[r.nck]
    cdef int t
    c.pos = r.pos
    c.nfields = r.nfields
    c.nstk = r.nstk
    c.run = r.nruns - 1
    c.run_off = <uint64_t>(r.cnt[TAG_OBJECT] - r.run_start_row)
    c.prev_addr = r.prev_addr
    c.have_params = r.have_params
    for t in range(NTAGS):
        c.cnt[t] = r.cnt[t]
    r.nck += 1


cdef int scan(reader* r) noexcept nogil:
    """One pass over the records from ``r.pos`` (`start_at`); counts rows, fills tables
    if given; stops at the EOF record, or at ``r.stop``."""
    cdef uint64_t tag
    cdef uint64_t v[MAXCOLS]
    cdef intp_t ncol, row, nf0
    cdef int t
    while True:
        if r.pos == r.stop or (r.stop_ge >= 0 and r.pos >= r.stop_ge):
            return 0
        if r.ck != NULL and r.nck < MAXSEG - 1 and r.pos >= (r.nck + 1) * r.seg_len:
            save_at(r)
        r.rec_start = r.pos
        if r.spec:                  # object records only; anything else ends the part
            nf0 = r.nfields
            if r.pos >= r.n or r.p[r.pos] != TAG_OBJECT:
                return 1
            r.pos += 1
            v[0] = <uint64_t>r.rec_start
            if read_record(r, TAG_OBJECT, v, &r.have_params) < 0:
                r.pos = r.rec_start
                r.nfields = nf0
                return 1
            if r.runs_cap > 0 and note_run(r, r.cnt[TAG_OBJECT], v[1]) < 0:
                r.runs_cap = 0
                return 1
            r.prev_addr = v[1]
            r.cnt[TAG_OBJECT] += 1
            continue
        if r.pos >= r.n:
            return fail(r, "truncated: the file ends before the EOF record", r.pos, 0)
        if uvarint(r, &tag) < 0:
            return -1
        if tag == TAG_EOF:
            if r.pos != r.n:
                return fail(r, "%llu bytes of trailing data after the EOF record", r.pos,
                            <uint64_t>(r.n - r.pos))
            if not r.have_params:
                return fail(r, "no params record", r.rec_start, 0)
            if r.cnt[TAG_MEMSTATS] == 0:
                return fail(r, "no MemStats record", r.rec_start, 0)
            r.at_eof = True
            return 0
        if tag >= NTAGS:
            return fail(r, "unknown record tag %llu", r.rec_start, tag)
        v[0] = <uint64_t>r.rec_start
        if read_record(r, tag, v, &r.have_params) < 0:
            return -1
        row = r.cnt[tag]
        if tag == TAG_OBJECT:
            if r.runs_cap > 0 and note_run(r, row, v[1]) < 0:
                r.runs_cap = 0
            elif r.run_row != NULL:
                if row == 0 or new_run(r.prev_addr, v[1]):
                    r.run += 1
                    r.next_row = <intp_t>r.run_row[r.run]
                row = r.next_row
                r.next_row += 1
            r.prev_addr = v[1]
        if tag == TAG_OBJECT and r.obj != NULL:
            put_object(r, row, v)
        elif r.tab[tag] != NULL:
            ncol = NCOLS[tag]
            for t in range(ncol):
                r.tab[tag][row * ncol + t] = v[t]
        r.cnt[tag] += 1


cdef inline void put_object(reader* r, intp_t row, const uint64_t* v) noexcept nogil:
    cdef uint8_t* rec = r.obj + row * r.obj_stride
    cdef uint32_t nf = <uint32_t>v[5]
    memcpy(rec + r.obj_off[0], &v[1], 8)
    memcpy(rec + r.obj_off[1], &v[2], 8)
    memcpy(rec + r.obj_off[2], &v[3], 8)
    memcpy(rec + r.obj_off[3], &v[4], 8)
    memcpy(rec + r.obj_off[4], &nf, 4)


cdef inline bint new_run(uint64_t prev, uint64_t addr) noexcept nogil:
    """Whether the object at *addr* starts a run after the one at *prev*: a run is the
    ascending objects starting in one 8 KiB page. A page is in one span, and Go writes a
    span's objects together, in order: runs of different pages never interleave, whatever
    order Go wrote its spans in (runs across pages could: a span of a run's range may
    come later in the file)."""
    return addr < prev or (addr >> 13) != (prev >> 13)


cdef int note_run(reader* r, intp_t ordinal, uint64_t addr) noexcept nogil:
    """Counting pass: extend the current run of ascending object addresses, or start one
    (-1 when out of memory: the caller then stops recording and sorts afterwards)."""
    cdef uint64_t* grown
    if ordinal > 0 and not new_run(r.prev_addr, addr):
        r.runs[3 * (r.nruns - 1) + 2] = addr
        return 0
    if r.nruns == r.runs_cap:
        grown = <uint64_t*>realloc(r.runs, <size_t>(2 * r.runs_cap) * 3 * sizeof(uint64_t))
        if grown == NULL:
            return -1
        r.runs = grown
        r.runs_cap *= 2
    r.runs[3 * r.nruns] = <uint64_t>ordinal
    r.runs[3 * r.nruns + 1] = addr
    r.runs[3 * r.nruns + 2] = addr
    r.nruns += 1
    r.run_start_row = ordinal
    return 0


cdef int push_run(reader* r, uint64_t ordinal, uint64_t first, uint64_t last) noexcept nogil:
    """Append a run (-1 when out of memory)."""
    cdef uint64_t* grown
    if r.nruns == r.runs_cap:
        grown = <uint64_t*>realloc(r.runs, <size_t>(2 * r.runs_cap) * 3 * sizeof(uint64_t))
        if grown == NULL:
            return -1
        r.runs = grown
        r.runs_cap *= 2
    r.runs[3 * r.nruns] = ordinal
    r.runs[3 * r.nruns + 1] = first
    r.runs[3 * r.nruns + 2] = last
    r.nruns += 1
    r.run_start_row = <intp_t>ordinal
    return 0


cdef bint arena_range(const reader* r, uint64_t* lo, uint64_t* hi) noexcept nogil:
    """The heap's address range from the params record (Go writes it first)."""
    cdef reader t = r[0]
    cdef uint64_t tag
    cdef uint64_t v[MAXCOLS]
    cdef bint have = False
    t.pos = 16
    t.rec_start = 16
    if uvarint(&t, &tag) < 0 or tag != TAG_PARAMS or read_record(&t, tag, v, &have) < 0:
        return False
    lo[0] = v[3]
    hi[0] = v[4]
    return v[3] < v[4]


cdef intp_t sync(const reader* r, intp_t start, intp_t end, uint64_t lo, uint64_t hi) noexcept nogil:
    """The first position in [start, end) where SYNC_PROBE object records with addresses
    in the heap read in a row, or -1: where a speculative part of the counting pass starts
    (a guess, checked when the part before it gets there)."""
    cdef reader t
    cdef uint64_t tag
    cdef uint64_t v[MAXCOLS]
    cdef intp_t c, _m
    cdef bint ok
    for c in range(start, end):
        if r.p[c] != TAG_OBJECT:
            continue
        t = r[0]
        t.fields = NULL
        t.pos = c
        t.nfields = 0
        t.have_params = True
        ok = True
        for _m in range(SYNC_PROBE):
            t.rec_start = t.pos
            if t.pos >= t.n or uvarint(&t, &tag) < 0 or tag != TAG_OBJECT \
                    or read_record(&t, tag, v, &t.have_params) < 0 or v[1] < lo or v[1] >= hi:
                ok = False
                break
        if ok:
            return c
    return -1


cdef class _Count:
    """The counting pass in parts: part 0 reads from the first record up to the first
    speculative start; part i (i >= 1) reads object records from the i-th start."""
    cdef reader* main
    cdef reader* rs
    cdef int* rc
    cdef intp_t n

    def __dealloc__(self):
        cdef intp_t i
        if self.rs != NULL:
            for i in range(self.n):
                free(self.rs[i].runs)
        free(self.rs)
        free(self.rc)

    def run(self, intp_t i):
        with nogil:
            self.rc[i] = scan(self.main if i == 0 else &self.rs[i - 1])


cdef int join(reader* r, reader* s) noexcept nogil:
    """Take speculative part *s*, which starts where *r* stands, into *r*'s counts, runs and
    position (-1 if a run could not be stored: r then records no more runs)."""
    cdef intp_t q
    cdef uint64_t base = <uint64_t>r.cnt[TAG_OBJECT]
    if r.ck != NULL and r.nck < MAXSEG - 1 and r.pos >= (r.nck + 1) * r.seg_len:
        save_at(r)                  # a checkpoint for the filling pass
    if r.runs_cap > 0:
        for q in range(s.nruns):
            if q == 0 and base > 0 and not new_run(r.prev_addr, s.runs[1]):
                r.runs[3 * (r.nruns - 1) + 2] = s.runs[2]
            elif push_run(r, s.runs[3 * q] + base, s.runs[3 * q + 1], s.runs[3 * q + 2]) < 0:
                r.runs_cap = 0
                break
    r.cnt[TAG_OBJECT] += s.cnt[TAG_OBJECT]
    r.nfields += s.nfields
    r.prev_addr = s.prev_addr
    r.pos = s.pos
    return 0


cdef _count(reader* r, intp_t threads, sync_at):
    """The counting pass. With *threads* > 1, parts of it are read speculatively: part i
    starts at the first plausible object record (`sync`) after i/threads of the file and
    reads object records only (most of a dump) while part 0 reads from the start; when
    the pass in order reaches a part's start exactly, at a record boundary, the part's
    counts and runs are taken (reading object records depends on nothing before them
    but the params record), else it is dropped and the pass reads on in order. Errors
    are only raised by the pass in order: the first error is the one a single pass finds."""
    cdef _Count c = _Count()
    cdef intp_t P[MAXSEG]
    cdef intp_t nspec = 0, j, k, x, last = 16
    cdef uint64_t lo = 0, hi = 0
    cdef int rc
    cdef reader* s
    if threads > 1:
        if sync_at is not None:
            for x in sorted({int(y) for y in sync_at}):
                if x > last and x < r.n and nspec < MAXSEG - 1:
                    P[nspec] = x
                    nspec += 1
                    last = x
        elif arena_range(r, &lo, &hi):
            with nogil:
                for k in range(1, threads):
                    x = sync(r, max(last + 1, k * r.seg_len), min(r.n, (k + 1) * r.seg_len, k * r.seg_len + SYNC_WINDOW), lo, hi)
                    if x > last:
                        P[nspec] = x
                        nspec += 1
                        last = x
    if nspec == 0:
        with nogil:
            rc = scan(r)
        if rc < 0:
            _raise(r)
        return
    c.main = r
    c.rs = <reader*>calloc(nspec, sizeof(reader))
    c.rc = <int*>calloc(nspec + 1, sizeof(int))
    if c.rs == NULL or c.rc == NULL:
        raise MemoryError()
    c.n = nspec
    for j in range(nspec):
        s = &c.rs[j]
        s[0] = r[0]
        s.ck = NULL
        s.nck = 0
        s.fields = NULL
        s.pos = P[j]
        s.stop_ge = P[j + 1] if j + 1 < nspec else -1
        s.spec = True
        s.have_params = True
        for k in range(NTAGS):
            s.cnt[k] = 0
        s.nfields = 0
        s.nstk = 0
        s.prev_addr = 0
        s.nruns = 0
        s.run_start_row = 0
        s.runs = NULL
        s.runs_cap = 0
        if r.runs_cap > 0:
            s.runs = <uint64_t*>malloc(64 * 3 * sizeof(uint64_t))
            if s.runs != NULL:
                s.runs_cap = 64
    r.stop_ge = P[0]
    import threading
    ts = [threading.Thread(target=c.run, args=(i,)) for i in range(1, nspec + 1)]
    for t in ts:
        t.start()
    try:
        c.run(0)
    finally:
        for t in ts:
            t.join()
    if c.rc[0] < 0:
        r.stop_ge = -1
        _raise(r)
    with nogil:
        rc = 0
        for j in range(nspec):
            if not r.at_eof and r.pos < P[j]:
                r.stop_ge = P[j]
                rc = scan(r)
                if rc < 0:
                    break
            if r.at_eof:
                break
            s = &c.rs[j]
            if r.pos == P[j] and r.have_params and s.cnt[TAG_OBJECT] > 0 \
                    and (r.runs_cap == 0 or s.runs_cap > 0):
                join(r, s)
        r.stop_ge = -1
        if rc == 0 and not r.at_eof:
            rc = scan(r)
    if rc < 0:
        _raise(r)


cdef intp_t NCOLS[NTAGS]
for _t, _c in COLUMNS.items():
    NCOLS[_t] = len(_c)
if max(len(c) for c in COLUMNS.values()) > MAXCOLS:
    raise ImportError("goruntime.heapdump: a table has more columns than MAXCOLS")


cdef class _Fill:
    """The filling pass in segments, one per thread: segment i runs from checkpoint i-1
    (the first record for i = 0) to checkpoint i (EOF for the last). Segments write
    disjoint rows of the tables, whose positions the checkpoints' counters give."""
    cdef reader* rs
    cdef int* rc
    cdef intp_t n

    def __dealloc__(self):
        free(self.rs)
        free(self.rc)

    def run(self, intp_t i):
        with nogil:
            self.rc[i] = scan(&self.rs[i])


cdef _fill(reader* r, intp_t nthreads):
    """Run the filling pass over the segments the counting pass marked; raise on error."""
    cdef _Fill f = _Fill()
    cdef intp_t i, nseg = r.nck + 1
    f.rs = <reader*>malloc(nseg * sizeof(reader))
    f.rc = <int*>malloc(nseg * sizeof(int))
    if f.rs == NULL or f.rc == NULL:
        raise MemoryError()
    f.n = nseg
    for i in range(nseg):
        f.rs[i] = r[0]
        f.rs[i].ck = NULL
        f.rs[i].runs_cap = 0
        f.rs[i].stop_ge = -1
        f.rs[i].spec = False
        f.rs[i].stop = r.ck[i].pos if i < r.nck else -1
        start_at(&f.rs[i], &r.ck[i - 1] if i > 0 else NULL)
        f.rc[i] = 0
    if nseg == 1:
        f.run(0)
    else:
        import threading
        ts = [threading.Thread(target=f.run, args=(i,)) for i in range(1, nseg)]
        for t in ts:
            t.start()
        f.run(0)
        for t in ts:
            t.join()
    for i in range(nseg):
        if f.rc[i] < 0:                                 # the file changed under the mapping
            _raise(&f.rs[i])


def parse(const uint8_t[::1] buf, bint sort_objects=False, object_dtype=None, int threads=1,
          sync_at=None):
    """Parse a whole heap dump held in *buf* (bytes, or a uint8 np.memmap of the file).

    Returns a dict: one uint64 table per record kind (``TABLE_NAMES``; shape
    ``(rows, len(COLUMNS[tag]))``), ``fields`` (the pointer offsets that objects, frames
    and segments index with ``field_start``/``nfields``) and ``stacks`` (memory-profile
    stack entries). Raises ValueError naming the offset of anything malformed.

    *sort_objects*: the object table in address order (a stable sort by address) instead
    of file order. Go writes objects span by span in ``mheap_.allspans`` order, so the
    objects starting in one page are together and ascending; the counting pass records
    these runs and, when their address ranges are disjoint (always, for a dump from Go),
    the filling pass writes each object at its sorted row (no sort, no second copy of the
    table). When they interleave (not from Go) the table is sorted afterwards.

    *object_dtype*: the objects as a zeroed structured array of that dtype instead of a
    table; it must have uint64 fields ``addr``, ``size``, ``content_off``,
    ``field_start`` and a uint32 ``nptr`` (the field count); the record offset is not kept.

    *threads*: both passes run in that many parts on threads; the tables, and the first
    error, are the same. The counting pass reads the records in order, so its parts after
    the first are speculative (`_count`); the filling pass starts each part at a
    checkpoint of the counting pass. *sync_at* (for tests): the positions the speculative
    parts start at, instead of the ones found by searching (any position: a wrong one
    costs time, never a different result).
    """
    cdef reader r
    cdef intp_t n = buf.shape[0]
    cdef int t
    cdef uint64_t[:, ::1] tv
    cdef uint64_t[::1] fv
    cdef uint64_t[:, ::1] sv
    cdef uint64_t[::1] rv
    cdef uint8_t[::1] ov
    cdef uint8_t[::1] ckv
    if n < 16 or bytes(buf[:16]) != HEADER:
        head = bytes(buf[:16])
        if n < 16 and head and HEADER.startswith(head):
            raise ValueError("malformed heap dump: truncated: the file ends inside the "
                             "header at offset %d" % n)
        if head.startswith(b"go1.") and b"heap dump" in head:
            raise ValueError("not a Go 1.7+ heap dump: header %r (goruntime reads the "
                             "\"go1.7 heap dump\" format of Go 1.7 to 1.27)" % head)
        raise ValueError("not a Go heap dump: the file does not start with %r (it has %r)"
                         % (HEADER, head))
    r.p = &buf[0]
    r.n = n
    r.err = NULL
    for t in range(NTAGS):
        r.tab[t] = NULL
    r.fields = NULL
    r.stk = NULL
    r.run_row = NULL
    r.obj = NULL
    r.runs = NULL
    r.runs_cap = 0
    r.ck = NULL
    r.nck = 0
    r.stop = -1
    r.stop_ge = -1
    r.spec = False
    r.at_eof = False
    r.seg_len = 0
    threads = max(1, min(threads, MAXSEG))
    if threads > 1:
        ck_mem = np.zeros(MAXSEG * sizeof(ckpt_t), dtype=np.uint8)
        ckv = ck_mem
        r.ck = <ckpt_t*>&ckv[0]
        r.seg_len = n // threads + 1
    if sort_objects:
        r.runs = <uint64_t*>malloc(64 * 3 * sizeof(uint64_t))
        if r.runs != NULL:
            r.runs_cap = 64
    try:
        start_at(&r, NULL)
        r.nruns = 0
        r.nck = 0
        r.run_start_row = 0
        _count(&r, threads, sync_at)
        row_of_run = None
        if sort_objects and r.runs_cap > 0 and r.nruns > 1:
            runs = np.asarray(<uint64_t[:r.nruns * 3]>r.runs).reshape(r.nruns, 3)
            order = np.argsort(runs[:, 1], kind="stable")
            lo, hi = runs[order, 1], runs[order, 2]
            if (hi[:-1] < lo[1:]).all():                # disjoint: place rows directly
                length = np.diff(np.append(runs[:, 0], np.uint64(r.cnt[TAG_OBJECT])))
                row_of_run = np.empty(r.nruns, dtype=np.uint64)
                row_of_run[order] = np.cumsum(length[order]) - length[order]
    finally:
        free(r.runs)
        r.runs = NULL
        r.runs_cap = 0
    tables = {}
    for t in range(NTAGS):
        if t == TAG_EOF:
            continue
        if t == TAG_OBJECT and object_dtype is not None:
            a = _object_records(&r, r.cnt[t], object_dtype)
            if r.cnt[t]:
                ov = a.view(np.uint8)
                r.obj = &ov[0]
        else:
            a = np.zeros((r.cnt[t], NCOLS[t]), dtype=np.uint64)
            if r.cnt[t]:
                tv = a
                r.tab[t] = &tv[0, 0]
        tables[TABLE_NAMES[t]] = a
    fields = np.zeros(r.nfields, dtype=np.uint64)
    stacks = np.zeros((r.nstk, NSTACKCOLS), dtype=np.uint64)
    if r.nfields:
        fv = fields
        r.fields = &fv[0]
    if r.nstk:
        sv = stacks
        r.stk = &sv[0, 0]
    if row_of_run is not None:
        rv = row_of_run
        r.run_row = &rv[0]
    _fill(&r, threads)
    objs = tables["objects"]
    if sort_objects and row_of_run is None and len(objs) > 1:
        a = objs["addr"] if object_dtype is not None else objs[:, 1]
        if (a[1:] < a[:-1]).any():
            # gathered as whole items (void): a structured dtype's gather copies only its
            # fields, leaving the padding bytes of the new array uninitialised
            whole = objs.view(np.dtype((np.void, objs.dtype.itemsize))) if object_dtype is not None else objs
            tables["objects"] = np.ascontiguousarray(whole[np.argsort(a, kind="stable")]).view(objs.dtype)
    tables["fields"] = fields
    tables["stacks"] = stacks
    return tables


cdef _object_records(reader* r, intp_t n, dtype):
    """A zeroed structured array of *n* records of *dtype*; the field offsets into *r*."""
    dtype = np.dtype(dtype)
    want = {"addr": "<u8", "size": "<u8", "content_off": "<u8", "field_start": "<u8", "nptr": "<u4"}
    for i, name in enumerate(("addr", "size", "content_off", "field_start", "nptr")):
        f = dtype.fields.get(name) if dtype.fields else None
        if f is None or f[0] != np.dtype(want[name]):
            raise ValueError("object_dtype needs a field %s of type %s" % (name, want[name]))
        r.obj_off[i] = f[1]
    r.obj_stride = dtype.itemsize
    return np.zeros(n, dtype=dtype)


cdef _raise(reader* r):
    msg = r.err.decode()
    if "%llu" in msg:
        msg = msg.replace("%llu", str(r.err_arg))
    if r.err_pos != r.rec_start:
        where = "at offset %d (in the record at offset %d)" % (r.err_pos, r.rec_start)
    else:
        where = "at offset %d" % r.err_pos
    raise ValueError("malformed heap dump: %s %s" % (msg, where))
