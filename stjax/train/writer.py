"""One writer for scalars: TensorBoard event files and a JSON-lines log."""
from __future__ import annotations

import json
import pathlib


class MetricWriter:
  """A context manager: the files are flushed and closed however the run ends."""

  def __init__(self, workdir: str | pathlib.Path, enabled: bool = True):
    self.enabled = enabled
    if not enabled:
      return
    from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    workdir = pathlib.Path(workdir)
    self.tb = SummaryWriter(str(workdir / "tensorboard"))
    self.jsonl = open(workdir / "metrics.jsonl", "a", encoding="utf-8")

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self.enabled:
      return
    for k, v in scalars.items():
      self.tb.add_scalar(k, v, step)
    self.jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self.jsonl.flush()

  def close(self) -> None:
    if self.enabled and not self.jsonl.closed:
      self.tb.close()
      self.jsonl.close()

  def __enter__(self) -> "MetricWriter":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
