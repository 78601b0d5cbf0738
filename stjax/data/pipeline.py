"""grain input pipelines: random-access sources to batches of frames.

Every source returns one sequence (T, H, W, C) uint8 per index. Training reads
an endless stream of record indices, so batch `s` of the run is always the same
records: the data-iterator position is just the step number, which is what
makes a resumed run exact. Each process reads its own slice of every global
batch (multi-host data parallelism).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Iterator

import grain
import numpy as np


@dataclasses.dataclass(frozen=True)
class Split:
  """Cuts a sequence into the model's inputs and targets, scaled to [0, 1]."""
  pre_seq_length: int
  aft_seq_length: int

  def __call__(self, seq: np.ndarray) -> dict[str, np.ndarray]:
    total = self.pre_seq_length + self.aft_seq_length
    if seq.shape[0] < total:
      raise ValueError(f"A sequence has {seq.shape[0]} frames; the config asks "
                       f"for {self.pre_seq_length} + {self.aft_seq_length}.")
    # uint8 frames (images) are scaled from [0, 255]; float sources (flows,
    # fields) arrive already in [0, 1].
    frames = np.asarray(seq[:total], np.float32)
    if seq.dtype == np.uint8:
      frames = frames / 255.0
    if not np.isfinite(frames).all():
      raise ValueError("A sequence contains NaN or infinite values.")
    return {"inputs": frames[:self.pre_seq_length],
            "targets": frames[self.pre_seq_length:]}


def _stack(records):
  return {k: np.stack([r[k] for r in records]) for k in records[0]}


class _EndlessShuffled:
  """Record indices over repeated epochs, a fresh permutation each epoch."""

  def __init__(self, n: int, seed: int):
    self.n, self.seed = n, seed

  @functools.lru_cache(maxsize=2)  # one permutation per epoch, not per record
  def _permutation(self, epoch: int) -> np.ndarray:
    return np.random.default_rng([self.seed, epoch]).permutation(self.n)

  def __call__(self, i: int) -> int:
    epoch, pos = divmod(i, self.n)
    return int(self._permutation(epoch)[pos])


def train_batches(source, split: Split, *, batch_size: int, start_step: int,
                  num_steps: int, seed: int, generated: bool = False,
                  process_index: int = 0, process_count: int = 1,
                  num_threads: int = 4) -> Iterator[dict[str, np.ndarray]]:
  """Batches start_step .. num_steps-1 of this process's slice of the stream.

  `batch_size` is global; each process gets batch_size / process_count records.
  A `generated` source makes a new sequence for every index, so its stream
  never wraps and every epoch sees fresh sequences, as on-the-fly generation
  in the reference does.
  """
  if len(source) == 0:
    raise ValueError("The training dataset is empty.")
  local = batch_size // process_count
  order = (int if generated else
           _EndlessShuffled(len(source), seed))
  steps = grain.MapDataset.range(start_step, num_steps)

  def load(step: int):
    first = step * batch_size + process_index * local
    return _stack([split(source[order(first + j)]) for j in range(local)])

  ds = steps.map(load).to_iter_dataset(
      grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=8))
  return iter(ds)


def eval_batches(source, split: Split, *, batch_size: int, limit: int | None = None,
                 process_index: int = 0, process_count: int = 1,
                 num_threads: int = 4) -> Iterator[dict[str, np.ndarray]]:
  """Every record once, in order; the last batch is padded and masked.

  Each batch carries `mask` (1 for real records), so metrics count every
  sequence exactly once whatever the batch size and device count.
  """
  n = len(source) if limit is None else min(limit, len(source))
  if n == 0:
    raise ValueError("The evaluation dataset is empty.")
  local = batch_size // process_count
  num_batches = -(-n // batch_size)

  def load(b: int):
    first = b * batch_size + process_index * local
    idx = [first + j for j in range(local)]
    records = [split(source[min(i, n - 1)]) for i in idx]
    batch = _stack(records)
    batch["mask"] = np.array([i < n for i in idx], np.float32)
    return batch

  ds = grain.MapDataset.range(num_batches).map(load).to_iter_dataset(
      grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=4))
  return iter(ds)
