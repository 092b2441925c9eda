"""The one ingest engine and its executors (threads; Dask distributed). See :mod:`marketwire.engine.core`."""

from marketwire.engine.core import Engine, IngestReport, Job, Progress, RecordStage, Stage, flagged
from marketwire.engine.executor import DaskExecutor, ThreadExecutor, executor
from marketwire.engine.plugins import load_plugins
from marketwire.engine.write import Provenance, Written, commit, frame_of

__all__ = ["DaskExecutor", "Engine", "IngestReport", "Job", "Progress", "Provenance", "RecordStage", "Stage",
           "ThreadExecutor", "Written", "commit", "executor", "flagged", "frame_of", "load_plugins"]
