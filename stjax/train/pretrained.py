"""Finished runs read back from their workdirs.

The one place that turns a workdir into a model: a run's config.json says
how to build it, `registered_by.json` which modules outside stjax registered
what it uses (a user's own model, dataset, metric or loss term: imported
again here), and its best checkpoint (else its latest) holds the weights,
read without building an optimizer. Models that start from finished runs
(model.init_from, TMU's model.sources) get `load_model` injected into
stjax.models.build_model, which itself never reads a workdir.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import pathlib
import sys

import jax
import ml_collections
from flax import nnx

from stjax.errors import CheckpointError, WorkdirError
from stjax.registry import DATASETS, LOSS_TERMS, METRICS, MODELS
from stjax.train.build import Weights, build_run, build_weights
from stjax.train.checkpoint import Checkpoints

REGISTERED_BY = "registered_by.json"


def load_config(workdir) -> ml_collections.ConfigDict:
  """A run's config, with the modules that registered its parts imported."""
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise WorkdirError(
        f"{path} not found: a trained model is read from the workdir of a "
        f"stjax run (python -m experiments.main --workdir=...).")
  try:
    config = ml_collections.ConfigDict(json.loads(path.read_text()))
  except json.JSONDecodeError as e:
    raise WorkdirError(f"{path} is not valid JSON ({e}); it is not a stjax "
                       f"run's config.") from e
  import_registrations(workdir, config)
  return config


def _used(config, metric_names=()) -> list[tuple[object, str]]:
  """(registry, name) of everything `config` uses."""
  return [(MODELS, config.model.name), (MODELS, config.model.get("backbone", "")),
          (DATASETS, config.data.name), *((METRICS, n) for n in metric_names),
          *((LOSS_TERMS, k) for k in config.loss.terms)]


def registering_modules(config, metric_names=()) -> list[str]:
  """The modules outside stjax that registered what `config` uses."""
  used = {registry.module_of(name) for registry, name in _used(config, metric_names)
          if name}
  if "__main__" in used:
    print("warning: this run uses a model, dataset, metric or loss term "
          "registered in the main script; to reload the run elsewhere "
          "(stjax-predict, load_run), register it in a module of its own.",
          file=sys.stderr, flush=True)
  return sorted(m for m in used if m and m != "__main__"
                and m != "stjax" and not m.startswith("stjax."))


def record_registrations(workdir, config, metric_names=()) -> None:
  """Writes `registered_by.json`: each module's name and file."""
  modules = []
  for name in registering_modules(config, metric_names):
    file = getattr(sys.modules.get(name), "__file__", None)
    modules.append({"name": name, "file": file and str(pathlib.Path(file).resolve())})
  (pathlib.Path(workdir) / REGISTERED_BY).write_text(
      json.dumps({"modules": modules}, indent=1))


def import_registrations(workdir, config=None) -> None:
  """Imports the modules a run recorded, by name, else from their file;
  nothing when everything the config uses is registered already (also under
  another module name)."""
  path = pathlib.Path(workdir) / REGISTERED_BY
  if not path.is_file():
    return
  if config is not None:
    spec_path = pathlib.Path(workdir) / "metric_spec.json"
    metric_names = (json.loads(spec_path.read_text()).get("names", ())
                    if spec_path.is_file() else ())
    if all(not name or name in registry
           for registry, name in _used(config, metric_names)):
      return
  for module in json.loads(path.read_text()).get("modules", []):
    name, file = module["name"], module.get("file")
    if name in sys.modules:
      continue
    try:
      importlib.import_module(name)
      continue
    except ModuleNotFoundError as e:
      if e.name != name:  # the module exists; something it imports does not
        raise
      if not file or not pathlib.Path(file).is_file():
        raise WorkdirError(
            f"the run in {workdir} uses what module {name!r} registered, "
            f"which is neither importable nor at {file}; put it on "
            f"PYTHONPATH.") from None
    spec = importlib.util.spec_from_file_location(name, file)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
      spec.loader.exec_module(loaded)
    except BaseException:
      del sys.modules[name]  # no half-loaded module left behind
      raise


def load_weights(workdir, step: int | None = None) -> tuple[Weights, dict]:
  """(weights, checkpoint meta) of the run in `workdir`: its best checkpoint
  (else its latest), or the one of training step `step`; the model inside
  holds them."""
  workdir = pathlib.Path(workdir)
  config = load_config(workdir)
  weights = build_weights(config, pretrained=load_model)
  template = weights.as_dict()
  legacy = lambda: build_run(config, pretrained=load_model).state  # stjax 0.1 checkpoints
  with Checkpoints(workdir) as ckpts:
    if step is None:
      restored = (ckpts.restore_best(template, legacy_state=legacy)
                  or ckpts.restore_latest(template, legacy_state=legacy))
    else:
      restored = ckpts.restore_step(template, int(step), legacy_state=legacy)
  if restored is None:
    raise CheckpointError(f"{workdir} holds no checkpoint yet; train it first.")
  values = jax.device_get(restored[0])
  nnx.update(weights.model, values["params"], values["model_state"])
  return build_weights(config, model=weights.model), restored[1]


def load_model(workdir) -> nnx.Module:
  """The model of the run in `workdir`, with its best (else latest) weights."""
  return load_weights(workdir)[0].model
