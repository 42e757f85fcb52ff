"""The event table of Go's execution-trace format v2, as written by Go 1.27.3.

Transcribed from ``internal/trace/tracev2/events.go`` (``specs``): each event type's
number, name, argument names and whether it is a *timed* event (its first argument is a
timestamp delta). Timed events are the only ones allowed inside an event batch, and each
is exactly ``1 + len(args)`` items: the type byte, then one unsigned LEB128 varint per
argument. ``tests/test_trace_parse.py`` checks this table against the Go sources of the
installed toolchain.
"""

#: File header of every trace Go 1.26+ writes (Go 1.27.3 included): go 1.26 trace + three NUL bytes.
HEADER = b"go 1.26 trace\x00\x00\x00"

#: (number, name, args, timed) for every event type Go 1.27.3 defines.
EVENTS = (
    (0, 'None', (), False),
    (1, 'EventBatch', ('gen', 'm', 'time', 'size'), False),
    (2, 'Stacks', (), False),
    (3, 'Stack', ('id', 'nframes'), False),
    (4, 'Strings', (), False),
    (5, 'String', ('id',), False),
    (6, 'CPUSamples', (), False),
    (7, 'CPUSample', ('time', 'm', 'p', 'g', 'stack'), False),
    (8, 'Frequency', ('freq',), False),
    (9, 'ProcsChange', ('dt', 'procs_value', 'stack'), True),
    (10, 'ProcStart', ('dt', 'p', 'p_seq'), True),
    (11, 'ProcStop', ('dt',), True),
    (12, 'ProcSteal', ('dt', 'p', 'p_seq', 'm'), True),
    (13, 'ProcStatus', ('dt', 'p', 'pstatus'), True),
    (14, 'GoCreate', ('dt', 'new_g', 'new_stack', 'stack'), True),
    (15, 'GoCreateSyscall', ('dt', 'new_g'), True),
    (16, 'GoStart', ('dt', 'g', 'g_seq'), True),
    (17, 'GoDestroy', ('dt',), True),
    (18, 'GoDestroySyscall', ('dt',), True),
    (19, 'GoStop', ('dt', 'reason_string', 'stack'), True),
    (20, 'GoBlock', ('dt', 'reason_string', 'stack'), True),
    (21, 'GoUnblock', ('dt', 'g', 'g_seq', 'stack'), True),
    (22, 'GoSyscallBegin', ('dt', 'p_seq', 'stack'), True),
    (23, 'GoSyscallEnd', ('dt',), True),
    (24, 'GoSyscallEndBlocked', ('dt',), True),
    (25, 'GoStatus', ('dt', 'g', 'm', 'gstatus'), True),
    (26, 'STWBegin', ('dt', 'kind_string', 'stack'), True),
    (27, 'STWEnd', ('dt',), True),
    (28, 'GCActive', ('dt', 'gc_seq'), True),
    (29, 'GCBegin', ('dt', 'gc_seq', 'stack'), True),
    (30, 'GCEnd', ('dt', 'gc_seq'), True),
    (31, 'GCSweepActive', ('dt', 'p'), True),
    (32, 'GCSweepBegin', ('dt', 'stack'), True),
    (33, 'GCSweepEnd', ('dt', 'swept_value', 'reclaimed_value'), True),
    (34, 'GCMarkAssistActive', ('dt', 'g'), True),
    (35, 'GCMarkAssistBegin', ('dt', 'stack'), True),
    (36, 'GCMarkAssistEnd', ('dt',), True),
    (37, 'HeapAlloc', ('dt', 'heapalloc_value'), True),
    (38, 'HeapGoal', ('dt', 'heapgoal_value'), True),
    (39, 'GoLabel', ('dt', 'label_string'), True),
    (40, 'UserTaskBegin', ('dt', 'task', 'parent_task', 'name_string', 'stack'), True),
    (41, 'UserTaskEnd', ('dt', 'task', 'stack'), True),
    (42, 'UserRegionBegin', ('dt', 'task', 'name_string', 'stack'), True),
    (43, 'UserRegionEnd', ('dt', 'task', 'name_string', 'stack'), True),
    (44, 'UserLog', ('dt', 'task', 'key_string', 'value_string', 'stack'), True),
    (45, 'GoSwitch', ('dt', 'g', 'g_seq'), True),
    (46, 'GoSwitchDestroy', ('dt', 'g', 'g_seq'), True),
    (47, 'GoCreateBlocked', ('dt', 'new_g', 'new_stack', 'stack'), True),
    (48, 'GoStatusStack', ('dt', 'g', 'm', 'gstatus', 'stack'), True),
    (49, 'ExperimentalBatch', ('exp', 'gen', 'm', 'time'), False),
    (50, 'Sync', (), False),
    (51, 'ClockSnapshot', ('dt', 'mono', 'sec', 'nsec'), True),
    (52, 'EndOfGeneration', (), False),
    (128, 'Span', ('dt', 'id', 'npages_value', 'kindclass'), True),
    (129, 'SpanAlloc', ('dt', 'id', 'npages_value', 'kindclass'), True),
    (130, 'SpanFree', ('dt', 'id'), True),
    (131, 'HeapObject', ('dt', 'id', 'type'), True),
    (132, 'HeapObjectAlloc', ('dt', 'id', 'type'), True),
    (133, 'HeapObjectFree', ('dt', 'id'), True),
    (134, 'GoroutineStack', ('dt', 'id', 'order'), True),
    (135, 'GoroutineStackAlloc', ('dt', 'id', 'order'), True),
    (136, 'GoroutineStackFree', ('dt', 'id'), True),
)

#: Experiment number of the alloc/free experiment (Go: tracev2.AllocFree).
EXP_ALLOC_FREE = 1
#: Batch kinds inside an AllocFree experimental batch (runtime/traceallocfree.go).
ALLOC_FREE_TYPES_BATCH = 0
ALLOC_FREE_INFO_BATCH = 1
#: Limits from tracev2 (events.go).
MAX_BATCH_SIZE = 64 << 10
MAX_FRAMES_PER_STACK = 128
MAX_EVENT_TRAILER_DATA_SIZE = 1 << 10

EV = {name: num for num, name, _args, _timed in EVENTS}
NAMES = {num: name for num, name, _args, _timed in EVENTS}


def timed_nargs():
    """A 256-entry list: the number of varint arguments of each timed event type (the
    timestamp delta included), -1 for a type that cannot appear in an event batch."""
    t = [-1] * 256
    for num, _name, args, timed in EVENTS:
        if timed:
            t[num] = len(args)
    return t

