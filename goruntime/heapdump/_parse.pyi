import numpy as np
import numpy.typing as npt

HEADER: bytes
COLUMNS: dict[int, tuple[str, ...]]
TABLE_NAMES: dict[int, str]
STACK_COLUMNS: tuple[str, ...]

def parse(buf: npt.ArrayLike, sort_objects: bool = False, object_dtype: np.dtype | None = None,
          threads: int = 1, sync_at: object = None) -> dict[str, np.ndarray]: ...
