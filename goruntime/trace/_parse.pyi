import numpy as np
import numpy.typing as npt

OBJ_EXISTS: int
OBJ_TINY: int
OBJ_NOSPAN: int
OBJ_MISALIGNED: int
OBJ_HEADER: int

def read_uvarint(buf: npt.NDArray[np.uint8], pos: int, end: int) -> tuple[int, int]: ...
def scan_batches(buf: npt.NDArray[np.uint8], pos: int) -> tuple[int, int, list[tuple[int, ...]]]: ...
def decode_events(buf: npt.NDArray[np.uint8], doff: npt.NDArray[np.int64],
                  dlen: npt.NDArray[np.int64], btime: npt.NDArray[np.uint64],
                  bgen: npt.NDArray[np.int32], freq: npt.NDArray[np.float64],
                  nargs: npt.NDArray[np.int8], keep: npt.NDArray[np.uint8]
                  ) -> tuple[int, int, npt.NDArray[np.int64], tuple[np.ndarray, ...] | None]: ...
def resolve_heap(kind: npt.NDArray[np.uint8], a: npt.NDArray[np.uint64],
                 b: npt.NDArray[np.uint64], c: npt.NDArray[np.uint64],
                 class_size: npt.NDArray[np.uint32], npages_total: int, page_size: int,
                 align: int, o_size: npt.NDArray[np.uint64], o_spc: npt.NDArray[np.uint8],
                 o_flags: npt.NDArray[np.uint8]) -> int: ...
def match_frees(kind: npt.NDArray[np.uint8], key: npt.NDArray[np.uint64],
                time: npt.NDArray[np.int64], spc: npt.NDArray[np.uint8],
                flags: npt.NDArray[np.uint8], o_free_time: npt.NDArray[np.int64],
                o_target: npt.NDArray[np.int64]) -> tuple[int, int]: ...
