import numpy as np
import numpy.typing as npt

ALLOC_REC_SIZE: int
FREE_REC_SIZE: int
MAP_NORESERVE_FLAG: int

def read_uvarint(buf: npt.NDArray[np.uint8], pos: int, end: int) -> tuple[int, int]: ...
def scan_batches(buf: npt.NDArray[np.uint8], pos: int) -> tuple[int, int, list[tuple[int, ...]]]: ...
def count_events(buf: npt.NDArray[np.uint8], doff: npt.NDArray[np.int64],
                 dlen: npt.NDArray[np.int64], bstart: npt.NDArray[np.int64],
                 freq: npt.NDArray[np.float64], nargs: npt.NDArray[np.int8]
                 ) -> tuple[int, int, npt.NDArray[np.int64], int]: ...
def first_event_time(buf: npt.NDArray[np.uint8], doff: npt.NDArray[np.int64],
                     dlen: npt.NDArray[np.int64], bstart: npt.NDArray[np.int64],
                     freq: npt.NDArray[np.float64], nargs: npt.NDArray[np.int8]) -> int: ...
def stream_events(buf: npt.NDArray[np.uint8], doff: npt.NDArray[np.int64],
                  dlen: npt.NDArray[np.int64], bstart: npt.NDArray[np.int64],
                  bgen: npt.NDArray[np.int32], freq: npt.NDArray[np.float64],
                  order: npt.NDArray[np.int64], nargs: npt.NDArray[np.int8],
                  misc_keep: npt.NDArray[np.uint8], t0: int,
                  class_size: npt.NDArray[np.uint32], max_pages: int, page_size: int,
                  align: int, base: int, tlut: npt.NDArray[np.int64],
                  tlut_off: npt.NDArray[np.int64], tlut_len: npt.NDArray[np.int64],
                  type_size: npt.NDArray[np.uint64], type_ptr: npt.NDArray[np.uint64],
                  allocs: npt.NDArray[np.uint8], initial: npt.NDArray[np.uint8],
                  frees: npt.NDArray[np.uint8], populate: bool = ...
                  ) -> tuple[int, int, tuple[np.ndarray, ...], dict[str, int],
                             tuple[int, int, int, int], int, npt.NDArray[np.int64]]: ...
def object_columns(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8],
                   starts: npt.NDArray[np.int64], prevs: npt.NDArray[np.int64], death: int,
                   birth: npt.NDArray[np.int64], dt: npt.NDArray[np.int64],
                   req: npt.NDArray[np.uint64], ptr: npt.NDArray[np.uint8],
                   ptrwords: npt.NDArray[np.uint64]) -> int: ...
def sorted_deaths(birth: npt.NDArray[np.int64], death: npt.NDArray[np.int64]
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None: ...
def trace_deaths(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8],
                 starts: npt.NDArray[np.int64], prevs: npt.NDArray[np.int64], death: int,
                 n: int, work: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = ...
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None: ...
def slot_object_chunk(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8], row0: int,
                      birth: npt.NDArray[np.int64], req: npt.NDArray[np.uint64],
                      ptr: npt.NDArray[np.uint8], ptrwords: npt.NDArray[np.uint64]
                      ) -> tuple[int, int]: ...
