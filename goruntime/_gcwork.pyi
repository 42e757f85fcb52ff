"""Type stubs for the parallel stop-the-world mark (see _gcwork.pyx for the design)."""
from typing import Optional

import numpy as np

from ._heap import Heap

def mark(heap: Heap, roots: Optional[np.ndarray] = ..., scan_only: Optional[np.ndarray] = ..., *, nworkers: int = ..., stats: Optional[dict] = ...) -> tuple[int, int, int]: ...
