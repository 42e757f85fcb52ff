"""Type stubs for goruntime.workloads._workloads (the nogil kernels)."""
from typing import Any

import numpy as np
import numpy.typing as npt

from goruntime._heap import Heap

NODE_SIZE: int
GCBENCH_NODE_SIZE: int
LIST_NODE_SIZE: int
GRAPH_NODE_SIZE: int
TRACE_ERRORS: dict[int, str]

def fast_alloc(enabled: bool | None = ...) -> bool: ...

class Mutator:
    heap: Heap
    runtime: Any
    def __init__(self, runtime: Any, heap: Heap, nwords: int, bar: Any = ...) -> None: ...
    def close(self) -> None: ...
    def word(self, i: int) -> int: ...
    @property
    def nalloc(self) -> int: ...
    @property
    def nbytes(self) -> int: ...

class RootSet:
    addrs: npt.NDArray[np.uint64]
    @staticmethod
    def adopt(heap: Heap, slots: npt.ArrayLike, addrs: npt.ArrayLike) -> RootSet: ...
    def release(self) -> None: ...
    def __len__(self) -> int: ...

def binary_trees_kernel(mut: Mutator, max_depth: int, checks: npt.NDArray[np.int64]) -> None: ...
def gcbench_kernel(mut: Mutator, stretch_depth: int, long_lived_depth: int, array_size: int,
                   min_depth: int, max_depth: int, iters: npt.NDArray[np.int64],
                   results: npt.NDArray[np.int64]) -> None: ...
def linked_list_kernel(mut: Mutator, n: int) -> int: ...
def random_graph_kernel(mut: Mutator, n: int, degree: int,
                        targets: npt.NDArray[np.int64]) -> int: ...
def validate_trace(op: npt.NDArray[np.uint8], ids: npt.NDArray[np.int64],
                   dense: npt.NDArray[np.int64], size: npt.NDArray[np.uint64],
                   pointers: npt.NDArray[np.uint8], target: npt.NDArray[np.int64],
                   tdense: npt.NDArray[np.int64], offset: npt.NDArray[np.uint32],
                   nid: int, max_size: int) -> tuple[int, int, int]: ...
def replay_kernel(mut: Mutator, op: npt.NDArray[np.uint8], dense: npt.NDArray[np.int64],
                  size: npt.NDArray[np.uint64], pointers: npt.NDArray[np.uint8],
                  tdense: npt.NDArray[np.int64], offset: npt.NDArray[np.uint32],
                  addr: npt.NDArray[np.uint64], slot: npt.NDArray[np.int64],
                  counts: npt.NDArray[np.int64],
                  ptrwords: npt.NDArray[np.uint64] | None = None,
                  idle_ns: npt.NDArray[np.int64] | None = None,
                  live: bool = ...) -> None: ...
def release_holds(heap: Heap, holds: npt.NDArray[np.int64] | npt.NDArray[np.int32]) -> None: ...

def merge_op_stream(akey: np.ndarray, ident: np.ndarray, dkey: np.ndarray, ddense: np.ndarray,
                    gkey: np.ndarray, gtime: np.ndarray, birth: np.ndarray, death: np.ndarray,
                    req: np.ndarray, ptr: np.ndarray, ptrwords: np.ndarray, op: np.ndarray,
                    dense: np.ndarray, time: np.ndarray, size: np.ndarray,
                    pointers: np.ndarray, pw: np.ndarray) -> None: ...
def idle_gaps(op: np.ndarray, size: np.ndarray, time: np.ndarray, min_gap: int,
              out: np.ndarray) -> None: ...
def replay_objects(mut: Mutator, k0: int, birth: np.ndarray, req: np.ndarray, ptr: np.ndarray,
                   ptrwords: np.ndarray, na: int, dkey: np.ndarray, ddense: np.ndarray,
                   gkey: np.ndarray, slot: np.ndarray, state: np.ndarray, stop_key: int,
                   min_gap: int = 0, now: np.ndarray | None = None,
                   live: bool = ...) -> int: ...
