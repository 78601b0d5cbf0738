"""orbax checkpoints of the whole training state.

Two managers in the workdir: `checkpoints/` holds the latest states (every
`ckpt_every_steps` and at each epoch end) for resuming, `best/` the one state
with the lowest validation MSE. orbax writes each step to a temporary folder
and renames it when complete, so an interrupted save never spoils an older one.
The data-iterator position is the step itself (the pipeline is random access),
and it is saved in the metadata next to the state.
"""
from __future__ import annotations

import pathlib

import jax
import orbax.checkpoint as ocp

from stjax.errors import CheckpointError

__all__ = ["CheckpointError", "Checkpoints"]


class Checkpoints:
  """Both managers; a context manager that waits for pending saves and
  closes them however the block ends."""

  def __init__(self, workdir: str | pathlib.Path, keep: int = 2):
    workdir = pathlib.Path(workdir).absolute()
    self.latest_dir, self.best_dir = workdir / "checkpoints", workdir / "best"
    self.latest = ocp.CheckpointManager(
        self.latest_dir, options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True))
    self.best = ocp.CheckpointManager(
        self.best_dir, options=ocp.CheckpointManagerOptions(
            max_to_keep=1, create=True, best_fn=lambda m: m["val_mse"],
            best_mode="min"))

  def save(self, state, meta: dict, *, val_mse: float | None = None) -> None:
    step = int(jax.device_get(state.step))
    args = ocp.args.Composite(state=ocp.args.StandardSave(state),
                              meta=ocp.args.JsonSave(meta))
    if self.latest.latest_step() != step:
      self.latest.save(step, args=args)
    if val_mse is not None:
      self.best.save(step, args=args, metrics={"val_mse": float(val_mse)})

  def wait(self) -> None:
    self.latest.wait_until_finished()
    self.best.wait_until_finished()

  def _restore(self, manager, directory, template, step):
    if step is None:
      return None
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
    try:
      out = manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    except Exception as e:  # orbax raises many types for unreadable files
      raise CheckpointError(
          f"The checkpoint {directory / str(step)} cannot be read "
          f"({type(e).__name__}: {str(e).splitlines()[0][:200]}). It is kept "
          f"as it is; move that folder aside to resume from an older one, or "
          f"use a new --workdir.") from e
    return out["state"], out["meta"]

  def restore_latest(self, template):
    """(state, meta) of the newest checkpoint, or None for a fresh run."""
    return self._restore(self.latest, self.latest_dir, template,
                         self.latest.latest_step())

  def restore_best(self, template):
    """(state, meta) with the lowest validation MSE, or None."""
    return self._restore(self.best, self.best_dir, template,
                         self.best.best_step())

  def close(self) -> None:
    if getattr(self, "_closed", False):
      return
    self._closed = True
    self.wait()
    self.latest.close()
    self.best.close()

  def __enter__(self) -> "Checkpoints":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
