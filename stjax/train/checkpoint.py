"""orbax checkpoints of the training state, the weights as their own item.

Two managers in the workdir: `checkpoints/` holds the latest states (every
`ckpt_every_steps` and at each epoch end) for resuming, `best/` the one state
with the lowest validation MSE. orbax writes each step to a temporary folder
and renames it when complete, so an interrupted save never spoils an older one.

A step holds three items: `weights` (the trained parameters and the model's
other state: what prediction needs), `train` (step, optimizer state, key:
what resuming needs besides) and `meta` (the step; the data-iterator position
is the step itself, the pipeline being random access). Prediction restores
`weights` alone, without building an optimizer. Checkpoints of stjax 0.1
hold one `state` item; they restore whole (`legacy_state` builds the
template they need).

Integrity: once a step is written, process 0 records the SHA-256 of each of its
files in `<step>/stjax_checksums.json`. A restore verifies them and, when a
file changed (a flipped byte, a truncated copy), warns in one line and falls
back to the previous good step; it never trains on silently.

Restores place every array with the given sharding (the mesh's replicated
one), so each process of a multi-host run gets its part of the global state.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import sys

import jax
import orbax.checkpoint as ocp

from stjax.errors import CheckpointError

__all__ = ["CheckpointError", "Checkpoints"]

_CHECKSUMS = "stjax_checksums.json"
_LEGACY_ITEM = "state"  # stjax 0.1: the whole TrainState as one item


def weights_of(state) -> dict:
  """The `weights` item of a TrainState (or of its template)."""
  return {"params": state.params, "model_state": state.model_state}


def _train_of(state) -> dict:
  return {"step": state.step, "opt_state": state.opt_state, "rng": state.rng}


def _digests(step_dir: pathlib.Path) -> dict[str, str]:
  out = {}
  for f in sorted(step_dir.rglob("*")):
    if f.is_file() and f.name != _CHECKSUMS:
      out[str(f.relative_to(step_dir))] = hashlib.sha256(f.read_bytes()).hexdigest()
  return out


class Checkpoints:
  """Both managers; a context manager that waits for pending saves and
  closes them however the block ends."""

  def __init__(self, workdir: str | pathlib.Path, keep: int = 2):
    workdir = pathlib.Path(workdir).absolute()
    self.latest_dir, self.best_dir = workdir / "checkpoints", workdir / "best"
    # Each manager has its own barrier names: with several processes, two
    # managers saving the same step would otherwise share orbax's barriers.
    barriers = lambda name: ocp.options.MultiprocessingOptions(
        barrier_sync_key_prefix=name)
    self.latest = ocp.CheckpointManager(
        self.latest_dir, options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True,
            multiprocessing_options=barriers("latest")))
    self.best = ocp.CheckpointManager(
        self.best_dir, options=ocp.CheckpointManagerOptions(
            max_to_keep=1, create=True, best_fn=lambda m: m["val_mse"],
            best_mode="min", multiprocessing_options=barriers("best")))
    self._closed = False

  def save(self, state, meta: dict, *, val_mse: float | None = None) -> None:
    """Saves to `checkpoints/` (once per step) and, with a validation score,
    offers the state to `best/` (a non-finite score is never offered)."""
    self._seal()
    step = int(jax.device_get(state.step))
    args = ocp.args.Composite(weights=ocp.args.StandardSave(weights_of(state)),
                              train=ocp.args.StandardSave(_train_of(state)),
                              meta=ocp.args.JsonSave(meta))
    if self.latest.latest_step() != step:
      self.latest.save(step, args=args)
    if (val_mse is not None and val_mse == val_mse and abs(val_mse) != float("inf")
        and step not in self.best.all_steps()):
      self.best.save(step, args=args, metrics={"val_mse": float(val_mse)})

  def wait(self) -> None:
    self.latest.wait_until_finished()
    self.best.wait_until_finished()
    self._seal()

  def _seal(self) -> None:
    """Writes the checksums of every finished step that has none yet."""
    self.latest.wait_until_finished()
    self.best.wait_until_finished()
    if jax.process_index() != 0:
      return
    for manager, directory in ((self.latest, self.latest_dir),
                               (self.best, self.best_dir)):
      for step in manager.all_steps():
        step_dir = directory / str(step)
        if step_dir.is_dir() and not (step_dir / _CHECKSUMS).exists():
          (step_dir / _CHECKSUMS).write_text(json.dumps(_digests(step_dir)))

  def _intact(self, directory: pathlib.Path, step: int) -> bool:
    sums = directory / str(step) / _CHECKSUMS
    if not sums.exists():  # not sealed yet (stopped right after the save)
      return True
    return json.loads(sums.read_text()) == _digests(directory / str(step))

  def _restore(self, manager, directory, template, steps, sharding,
               legacy_state=None):
    """(restored, meta) of the newest intact step of `steps`, or None.

    `template` is a TrainState (resuming: the whole state comes back) or a
    weights dict (weights_of: only that item is read). A stjax 0.1 step
    restores whole into `legacy_state()`, a TrainState template."""
    def abstract(tree):
      return jax.tree.map(lambda x: jax.ShapeDtypeStruct(
          x.shape, x.dtype, sharding=sharding or getattr(x, "sharding", None)),
                          tree)
    whole = not isinstance(template, dict)
    for i, step in enumerate(steps):
      older = steps[i + 1] if i + 1 < len(steps) else None
      problem = None
      if not self._intact(directory, step):
        problem = "its files changed since they were written (checksums differ)"
      else:
        try:
          return self._read(manager, directory / str(step), step, template,
                            whole, abstract, legacy_state)
        except CheckpointError:
          raise
        except Exception as e:  # orbax raises many types for unreadable files
          problem = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
      if older is None:
        raise CheckpointError(
            f"The checkpoint {directory / str(step)} cannot be read ({problem}) "
            f"and no older one is left. It is kept as it is; move that folder "
            f"aside to start afresh, or use a new --workdir.")
      if jax.process_index() == 0:
        print(f"warning: checkpoint {directory / str(step)} is damaged "
              f"({problem}); using step {older} instead. The damaged folder is "
              f"kept.", file=sys.stderr, flush=True)
    return None

  @staticmethod
  def _read(manager, step_dir, step, template, whole, abstract, legacy_state):
    if (step_dir / _LEGACY_ITEM).is_dir():  # stjax 0.1: one `state` item
      if whole:
        full = template
      elif legacy_state is not None:
        full = legacy_state()
      else:
        raise CheckpointError(
            f"{step_dir} was written by stjax 0.1 (one `state` item); load it "
            f"with stjax.load_run, which rebuilds its optimizer state.")
      out = manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract(full)),
          meta=ocp.args.JsonRestore()))
      state = out["state"]
      return (state if whole else weights_of(state)), out["meta"]
    items = {"weights": ocp.args.StandardRestore(abstract(
        weights_of(template) if whole else template)),
             "meta": ocp.args.JsonRestore()}
    if whole:
      items["train"] = ocp.args.StandardRestore(abstract(_train_of(template)))
    out = manager.restore(step, args=ocp.args.Composite(**items))
    if not whole:
      return out["weights"], out["meta"]
    return template.replace(**out["weights"], **out["train"]), out["meta"]

  def restore_latest(self, template, sharding=None, legacy_state=None):
    """(state, meta) of the newest good checkpoint, or None for a fresh run;
    with a weights template (weights_of), (weights, meta)."""
    steps = sorted(self.latest.all_steps(), reverse=True)
    return self._restore(self.latest, self.latest_dir, template, steps,
                         sharding, legacy_state)

  def restore_best(self, template, sharding=None, legacy_state=None):
    """(state or weights, meta) with the lowest validation MSE, or None."""
    step = self.best.best_step()
    steps = [] if step is None else [step]
    return self._restore(self.best, self.best_dir, template, steps, sharding,
                         legacy_state)

  def restore_step(self, template, step: int, sharding=None,
                   legacy_state=None):
    """(state or weights, meta) of training step `step`, from the kept latest
    ones or the best; a CheckpointError lists the steps there are."""
    if step in self.latest.all_steps():
      return self._restore(self.latest, self.latest_dir, template, [step],
                           sharding, legacy_state)
    if step == self.best.best_step():
      return self._restore(self.best, self.best_dir, template, [step],
                           sharding, legacy_state)
    kept = sorted(set(self.latest.all_steps()) | {
        s for s in [self.best.best_step()] if s is not None})
    raise CheckpointError(f"No checkpoint of step {step} in {self.latest_dir.parent}; "
                          f"kept steps: {kept or 'none'}.")

  def latest_step(self) -> int | None:
    return self.latest.latest_step()

  def close(self) -> None:
    if self._closed:
      return
    self._closed = True
    self.wait()
    self.latest.close()
    self.best.close()

  def __enter__(self) -> "Checkpoints":
    return self

  def __exit__(self, *exc) -> None:
    self.close()
