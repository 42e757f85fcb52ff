import numpy as np
import numpy.typing as npt

ALLOC_REC_SIZE: int

def censored_lifetimes(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8],
                       starts: npt.NDArray[np.int64], edges: npt.NDArray[np.float64],
                       lo: npt.NDArray[np.int32], hi: npt.NDArray[np.int32],
                       typ: npt.NDArray[np.int32], sizeclass: npt.NDArray[np.uint8]) -> int: ...
def place_fitted(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8],
                 starts: npt.NDArray[np.int64], prevs: npt.NDArray[np.int64],
                 group: npt.NDArray[np.int32], edges: npt.NDArray[np.float64],
                 cdf: npt.NDArray[np.float64], birth: npt.NDArray[np.int64],
                 death: npt.NDArray[np.int64]) -> int: ...
def group_counts(lo: npt.NDArray[np.int32], typ: npt.NDArray[np.int32],
                 sizeclass: npt.NDArray[np.uint8], tmap: npt.NDArray[np.int32],
                 tcount: npt.NDArray[np.int64], scount: npt.NDArray[np.int64]) -> None: ...
def assign_groups(lo: npt.NDArray[np.int32], hi: npt.NDArray[np.int32],
                  typ: npt.NDArray[np.int32], sizeclass: npt.NDArray[np.uint8],
                  tmap: npt.NDArray[np.int32], smap: npt.NDArray[np.int32], pooled: int,
                  group: npt.NDArray[np.int32], counts: npt.NDArray[np.int64]) -> None: ...
def group_deaths(initial: npt.NDArray[np.uint8], allocs: npt.NDArray[np.uint8],
                 starts: npt.NDArray[np.int64], prevs: npt.NDArray[np.int64],
                 birth: npt.NDArray[np.int64], death: npt.NDArray[np.int64],
                 min_cross: int) -> int: ...
