"""The kernel: World, Event, reducers, RNG streams, latency model, recorder sinks, chain."""

from .events import Event, Record
from .latency import Channel, LatencyModel
from .recorder import BackgroundRecorder, Recorder, RecorderError
from .recording import (
    CallbackSink,
    CsvSink,
    HashChain,
    MemorySink,
    RecordLayout,
    Sink,
    chain_of_file,
    records_from_file,
)
from .rng import RngStreams, derive_seeds, seed_sequence
from .world import ActorContext, Observation, Woken, World

__all__ = [
    "ActorContext",
    "BackgroundRecorder",
    "CallbackSink",
    "Channel",
    "CsvSink",
    "Event",
    "HashChain",
    "LatencyModel",
    "MemorySink",
    "Observation",
    "Record",
    "RecordLayout",
    "Recorder",
    "RecorderError",
    "RngStreams",
    "Sink",
    "Woken",
    "World",
    "chain_of_file",
    "derive_seeds",
    "records_from_file",
    "seed_sequence",
]
