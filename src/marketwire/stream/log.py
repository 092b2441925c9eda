"""The durable event log: an embedded, append-only segment log with group-commit fsync.

Contract:

* ``Log(path)`` opens (creating) the log folder ``path``; on open it *recovers*: every segment's frames are scanned,
  the last segment's frames are checked against their CRC32, and a torn or corrupt tail (a crash in the middle of a
  write) is truncated away. Nothing that was acknowledged can be in that tail.
* ``append(batch, meta=b"") -> (start, end)`` appends one event batch (:mod:`marketwire.stream.events`) as one frame
  and returns its offset range ``[start, end)``; offsets number events (rows), from 0, across all kinds. ``meta`` is
  opaque bytes kept with the frame (the replay stores its feed cursor there, so a restart resumes after the last
  acknowledged event). ``append`` returns only after the frame is fsynced: **an event is acknowledged when its
  frame is on disk (fsync returned)**. Concurrent appenders share fsyncs (group commit: one fsync covers every
  frame written before it). ``append_many(batches)`` writes several frames under one fsync; ``append(...,
  sync=False)`` defers acknowledgement to the next :meth:`sync`.
* ``read(from_offset=0, kinds=None)`` iterates ``(start_offset, batch)`` over acknowledged frames in offset order,
  the first batch sliced to begin at ``from_offset``. ``end`` is the next offset to be written; ``acked`` the end
  of what is acknowledged. ``wait(offset, timeout)`` blocks until ``acked > offset`` (live consumers).
* Frame on disk: a 32-byte header ``magic "MWL1" | crc32 | body length | kind | first offset | count | meta length``
  then ``meta`` and the batch as an Arrow IPC stream (LZ4-compressed buffers); the CRC covers header fields after
  itself, meta and body. Segments are files ``<first offset>.seg``; a new one starts past ``segment_bytes``.
* Retention: :meth:`retain` deletes whole segments that end before an offset, by age or to a size budget, never a
  segment holding an offset at or after ``protect_from`` (the end-of-day roll's checkpoint).
* Cursors: :meth:`set_cursor` / :meth:`cursor` keep a named consumer position durably (atomic rename + fsync).
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from marketwire.stream.events import KIND_CODE, KINDS, kind_of

MAGIC = b"MWL1"
_HEADER = struct.Struct("<4sIIB3xQII")  # magic, crc, body_len, kind, first_offset, count, meta_len
HEADER_SIZE = _HEADER.size
_IPC = pa.ipc.IpcWriteOptions(compression="zstd")


@dataclass(frozen=True)
class Frame:
    start: int
    count: int
    kind: str
    segment: Path
    pos: int  # file position of the header
    meta_len: int
    body_len: int

    @property
    def end(self) -> int:
        return self.start + self.count

    @property
    def size(self) -> int:
        return HEADER_SIZE + self.meta_len + self.body_len


def encode_batch(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=_IPC) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode_batch(body: bytes | pa.Buffer) -> pa.RecordBatch:
    with pa.ipc.open_stream(body) as r:
        return r.read_next_batch()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Log:
    def __init__(self, path: str | Path, *, segment_bytes: int = 256 << 20) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()  # writers
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._acked_cond = threading.Condition()
        self._frames: list[Frame] = []
        self._fd: int | None = None
        self._seg: Path | None = None
        self._seg_size = 0
        self._written = 0  # frames written
        self._synced = 0  # frames fsynced
        self.truncated_bytes = 0  # what recovery cut off
        self.fsyncs = 0
        self._cursors: dict[str, tuple[tuple[int, int, int], str]] = {}  # name -> (file stamp, text)
        self._recover()
        self._acked_end = self.end

    # -- recovery -------------------------------------------------------------------------------------------------
    def segments(self) -> list[Path]:
        return sorted(self.path.glob("*.seg"))

    def _scan(self, seg: Path, check: bool) -> tuple[list[Frame], int]:
        """Frames of one segment and the byte length of its valid prefix."""
        frames: list[Frame] = []
        size = seg.stat().st_size
        pos = 0
        with open(seg, "rb") as fh:
            while pos + HEADER_SIZE <= size:
                fh.seek(pos)
                head = fh.read(HEADER_SIZE)
                magic, crc, body_len, kind, first, count, meta_len = _HEADER.unpack(head)
                if magic != MAGIC or kind >= len(KINDS) or pos + HEADER_SIZE + meta_len + body_len > size:
                    break
                if check:
                    rest = fh.read(meta_len + body_len)
                    if zlib.crc32(rest, zlib.crc32(head[8:])) != crc:
                        break
                if frames and first != frames[-1].end:
                    break
                frames.append(Frame(first, count, KINDS[kind], seg, pos, meta_len, body_len))
                pos += HEADER_SIZE + meta_len + body_len
        return frames, pos

    def _recover(self) -> None:
        segs = self.segments()
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            frames, valid = self._scan(seg, check=last)
            if frames and self._frames and frames[0].start != self._frames[-1].end:
                raise OSError(f"stream log {self.path}: segment {seg.name} does not continue the previous one")
            self._frames.extend(frames)
            size = seg.stat().st_size
            if valid < size:
                if not last:
                    raise OSError(f"stream log {self.path}: segment {seg.name} is damaged at byte {valid}")
                with open(seg, "r+b") as fh:
                    fh.truncate(valid)
                    fh.flush()
                    os.fsync(fh.fileno())
                self.truncated_bytes += size - valid
        if segs:
            self._seg = segs[-1]
            self._fd = os.open(self._seg, os.O_WRONLY | os.O_APPEND)
            self._seg_size = self._seg.stat().st_size
        self._written = self._synced = len(self._frames)

    # -- writing --------------------------------------------------------------------------------------------------
    @property
    def end(self) -> int:
        return self._frames[-1].end if self._frames else self._base()

    def _base(self) -> int:
        segs = self.segments()
        return int(segs[0].stem) if segs else 0

    @property
    def acked(self) -> int:
        return self._acked_end

    def _open_segment(self, first: int) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
        self._seg = self.path / f"{first:020d}.seg"
        self._fd = os.open(self._seg, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._seg_size = 0
        _fsync_dir(self.path)

    def _write(self, batch: pa.RecordBatch, meta: bytes) -> tuple[int, int]:
        kind = kind_of(batch)
        body = encode_batch(batch)
        with self._lock:
            first = self.end
            if self._fd is None or self._seg_size >= self.segment_bytes:
                self._open_segment(first)
            rest = _HEADER.pack(MAGIC, 0, len(body), KIND_CODE[kind], first, batch.num_rows, len(meta))[8:]
            crc = zlib.crc32(body, zlib.crc32(meta, zlib.crc32(rest)))
            head = MAGIC + struct.pack("<I", crc) + rest
            assert self._fd is not None and self._seg is not None
            os.writev(self._fd, [head, meta, body])
            frame = Frame(first, batch.num_rows, kind, self._seg, self._seg_size, len(meta), len(body))
            self._seg_size += frame.size
            self._frames.append(frame)
            self._written += 1
            return first, first + batch.num_rows

    def append(self, batch: pa.RecordBatch, meta: bytes = b"", sync: bool = True) -> tuple[int, int]:
        rng = self._write(batch, meta)
        if sync:
            self.sync()
        return rng

    def append_many(self, batches: Sequence[pa.RecordBatch], metas: Sequence[bytes] | None = None,
                    sync: bool = True) -> tuple[int, int]:
        start = self.end
        end = start
        for i, b in enumerate(batches):
            _, end = self._write(b, metas[i] if metas else b"")
        if sync:
            self.sync()
        return start, end

    def sync(self) -> int:
        """fsync everything written so far (group commit); returns the acknowledged end offset."""
        with self._sync_lock:
            with self._lock:
                target, fd = self._written, self._fd
                end = self.end
            if target > self._synced and fd is not None:
                os.fsync(fd)
                self.fsyncs += 1
                self._synced = target
                with self._acked_cond:
                    self._acked_end = max(self._acked_end, end)
                    self._acked_cond.notify_all()
        return self._acked_end

    def wait(self, offset: int, timeout: float | None = None) -> bool:
        """Block until the event at ``offset`` is acknowledged; False on timeout."""
        with self._acked_cond:
            return self._acked_cond.wait_for(lambda: self._acked_end > offset, timeout)

    def close(self) -> None:
        self.sync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------------------------
    def frames(self) -> list[Frame]:
        acked = self._acked_end
        return [f for f in self._frames if f.end <= acked]

    def read_frame(self, frame: Frame) -> tuple[bytes, pa.RecordBatch]:
        with open(frame.segment, "rb") as fh:
            fh.seek(frame.pos + HEADER_SIZE)
            meta = fh.read(frame.meta_len)
            body = fh.read(frame.body_len)
        return meta, decode_batch(body)

    def read(self, from_offset: int = 0, kinds: Sequence[str] | None = None,
             until: int | None = None) -> Iterator[tuple[int, pa.RecordBatch]]:
        frames = self.frames()
        import bisect

        i = max(0, bisect.bisect_right([f.end for f in frames], from_offset))
        handles: dict[Path, object] = {}
        try:
            for fr in frames[i:]:
                if until is not None and fr.start >= until:
                    break
                if kinds and fr.kind not in kinds:
                    continue
                fh = handles.get(fr.segment)
                if fh is None:
                    fh = handles[fr.segment] = open(fr.segment, "rb")
                fh.seek(fr.pos + HEADER_SIZE + fr.meta_len)  # type: ignore[attr-defined]
                b = decode_batch(fh.read(fr.body_len))  # type: ignore[attr-defined]
                lo = max(0, from_offset - fr.start)
                hi = fr.count if until is None else min(fr.count, until - fr.start)
                if lo or hi < fr.count:
                    b = b.slice(lo, hi - lo)
                if b.num_rows:
                    yield max(fr.start, from_offset), b
        finally:
            for fh in handles.values():
                fh.close()  # type: ignore[attr-defined]

    def meta(self, frame: Frame) -> bytes:
        if not frame.meta_len:
            return b""
        with open(frame.segment, "rb") as fh:
            fh.seek(frame.pos + HEADER_SIZE)
            return fh.read(frame.meta_len)

    def batch(self, frame: Frame) -> pa.RecordBatch:
        with open(frame.segment, "rb") as fh:
            fh.seek(frame.pos + HEADER_SIZE + frame.meta_len)
            return decode_batch(fh.read(frame.body_len))

    def last_meta(self, where: object = None) -> list[tuple[int, bytes]]:
        """``(end offset, meta)`` of every acknowledged frame that has meta, in order."""
        out = []
        for fr in self.frames():
            if fr.meta_len:
                with open(fr.segment, "rb") as fh:
                    fh.seek(fr.pos + HEADER_SIZE)
                    out.append((fr.end, fh.read(fr.meta_len)))
        return out

    def truncate(self, offset: int) -> int:
        """Cut the log back to ``offset`` (a frame boundary in the last segment; used by a replay to drop the frames
        of a window a crash left incomplete). Returns the events removed."""
        with self._lock:
            keep = [f for f in self._frames if f.end <= offset]
            gone = self._frames[len(keep):]
            if not gone:
                return 0
            if gone[0].start != offset or any(f.segment != gone[0].segment for f in gone):
                raise ValueError(f"offset {offset} is not a frame boundary of the last segment")
            if self._fd is not None:
                os.close(self._fd)
            with open(gone[0].segment, "r+b") as fh:
                fh.truncate(gone[0].pos)
                fh.flush()
                os.fsync(fh.fileno())
            self._seg = gone[0].segment
            self._fd = os.open(self._seg, os.O_WRONLY | os.O_APPEND)
            self._seg_size = gone[0].pos
            self._frames = keep
            self._written = self._synced = len(keep)
            n = sum(f.count for f in gone)
        with self._acked_cond:
            self._acked_end = self.end
        return n

    # -- retention and cursors ------------------------------------------------------------------------------------
    def retain(self, *, before: int | None = None, max_age_s: float | None = None, max_bytes: int | None = None,
               protect_from: int | None = None) -> list[Path]:
        """Delete whole closed segments that end at or before ``before``, are older than ``max_age_s`` or exceed
        the ``max_bytes`` budget (oldest first), never one holding an offset >= ``protect_from``."""
        removed: list[Path] = []
        with self._lock:
            segs = self.segments()
            ends: dict[Path, int] = {}
            for f in self._frames:
                ends[f.segment] = f.end
            closed = [s for s in segs if s != self._seg]
            total = sum(s.stat().st_size for s in segs)
            now = time.time()
            for s in closed:
                end = ends.get(s, int(s.stem))
                if protect_from is not None and end > protect_from:
                    break
                due = (before is not None and end <= before) \
                    or (max_age_s is not None and now - s.stat().st_mtime > max_age_s) \
                    or (max_bytes is not None and total > max_bytes)
                if not due:
                    break
                total -= s.stat().st_size
                s.unlink()
                removed.append(s)
            if removed:
                gone = set(removed)
                self._frames = [f for f in self._frames if f.segment not in gone]
                _fsync_dir(self.path)
        return removed

    def set_cursor(self, name: str, value: dict[str, object] | int) -> None:
        p = self.path / f"cursor.{name}.json"
        tmp = p.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(value, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
        _fsync_dir(self.path)

    def cursor(self, name: str, default: object = None) -> object:
        """The cursor's value; re-read only when its file changed (a cursor is replaced whole, by rename, so a
        new inode, time or size tells a change, by this process or another)."""
        p = self.path / f"cursor.{name}.json"
        try:
            st = os.stat(p)
        except FileNotFoundError:
            return default
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._cursors.get(name)
        if hit is not None and hit[0] == stamp:
            return json.loads(hit[1])
        raw = p.read_text()
        self._cursors[name] = (stamp, raw)
        return json.loads(raw)

    def __len__(self) -> int:
        return self.end
