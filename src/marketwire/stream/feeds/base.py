"""What every feed normaliser yields (:class:`Chunk`) and is given (``ListingOf``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from marketwire.stream.verify import Unparseable

ListingOf = Callable[[str, dict[str, Any]], str]


@dataclass
class Chunk:
    batch: pa.RecordBatch | None
    file: str
    position: int  # rows (or lines) of the file consumed after this chunk
    bad: list[Unparseable] = field(default_factory=list)
    contiguous_seq: bool = False
    consolidated: bool = False  # quotes are one consolidated book per listing (NBBO rows)
    #: a window of the file can yield several chunks (one per event kind): ``part`` of ``parts``; the replay
    #: resumes only after whole windows
    part: int = 0
    parts: int = 1
