"""One writer for scalars: TensorBoard event files and a JSON-lines log.

On resume (`resume_step`), `metrics.jsonl` keeps what was logged up to that
step (the checkpoint the run restarts from) and drops the rows after it,
which the resumed run logs again; a scalar already logged for a step is not
written twice (rerunning a finished run does not repeat its test row).
`flush` runs at every checkpoint, so a hard kill loses no event that the
checkpoint covers.
"""
from __future__ import annotations

import json
import pathlib


class MetricWriter:
  """A context manager: the files are flushed and closed however the run ends."""

  def __init__(self, workdir: str | pathlib.Path, enabled: bool = True,
               resume_step: int = 0):
    self.enabled = enabled
    if not enabled:
      return
    from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    workdir = pathlib.Path(workdir)
    path = workdir / "metrics.jsonl"
    kept = []
    if path.exists():
      for line in path.read_text().splitlines():
        try:
          row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a hard kill
          continue
        if row.get("step", 0) <= resume_step:
          kept.append(row)
      path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    self.logged = {(r["step"], k) for r in kept for k in r if k != "step"}
    self.tb = SummaryWriter(str(workdir / "tensorboard"))
    self.jsonl = open(path, "a", encoding="utf-8")

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self.enabled:
      return
    new = {k: v for k, v in scalars.items() if (step, k) not in self.logged}
    if not new:
      return
    for k, v in new.items():
      self.tb.add_scalar(k, v, step)
      self.logged.add((step, k))
    self.jsonl.write(json.dumps({"step": step, **new}) + "\n")
    self.jsonl.flush()

  def flush(self) -> None:
    if self.enabled:
      self.tb.flush()
      self.jsonl.flush()

  def close(self) -> None:
    if self.enabled and not self.jsonl.closed:
      self.tb.close()
      self.jsonl.close()

  def __enter__(self) -> "MetricWriter":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
