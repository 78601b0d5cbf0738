"""The library's shape: layered imports without circles, registries that take
a new model, dataset, metric and loss term with no edit elsewhere, errors
instead of exits, and initial weights that depend on the seed alone."""
import ast
import json
import pathlib

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from conftest import ROOT, tiny_config
from stjax import layers
from stjax.data.dataset import DatasetEntry, Datasets
from stjax.errors import ConfigError
from stjax.metrics import Metric, MetricSpec
from stjax.models import build_model, register_model
from stjax.registry import DATASETS, LOSS_TERMS, METRICS, MODELS
from stjax.train.loop import train_and_evaluate

# Lower layers never import higher ones; packages of one layer never import
# each other (models and data are independent, and neither imports train).
LAYERS = (
    ("stjax.errors",),
    ("stjax.registry",),
    ("stjax.lpips",),
    ("stjax.ops",),
    ("stjax.layers", "stjax.losses", "stjax.metrics", "stjax.viz"),
    ("stjax.cells",),
    ("stjax.models", "stjax.data"),
    ("stjax.config_check",),
    ("stjax.train",),
    ("stjax.interop",),
    ("stjax.predict",),
    ("stjax.compare",),
    ("stjax.cli",),
)


def _modules() -> dict[str, pathlib.Path]:
  out = {}
  for path in (ROOT / "stjax").rglob("*.py"):
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    out[name] = path
  return out


def _imports(path: pathlib.Path, modules) -> set[str]:
  """The stjax modules `path` imports, at any depth of the file."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      found |= {a.name for a in node.names if a.name.startswith("stjax")}
    elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stjax"):
      for alias in node.names:  # `from stjax.data import mnist` imports a module
        sub = f"{node.module}.{alias.name}"
        found.add(sub if sub in modules else node.module)
  return found


def _unit(module: str) -> tuple[int, str]:
  for level, prefixes in enumerate(LAYERS):
    for prefix in prefixes:
      if module == prefix or module.startswith(prefix + "."):
        return level, prefix
  return len(LAYERS), "stjax"  # the package root may gather anything


def test_imports_follow_the_layers_and_form_no_circle():
  modules = _modules()
  graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
  wrong = []
  for src, targets in graph.items():
    level, unit = _unit(src)
    for dst in targets:
      dst_level, dst_unit = _unit(dst)
      if dst_unit != unit and dst_level >= level:
        wrong.append(f"{src} -> {dst}")
  assert not wrong, wrong

  state = {}  # depth-first search: 1 on the stack, 2 done

  def visit(m, path):
    state[m] = 1
    for n in graph.get(m, ()):
      if state.get(n) == 1:
        raise AssertionError(f"import circle: {' -> '.join(path + [n])}")
      if n not in state:
        visit(n, path + [n])
    state[m] = 2
  for m in graph:
    if m not in state:
      visit(m, [m])


def test_the_library_raises_instead_of_exiting():
  for path in (ROOT / "stjax").rglob("*.py"):
    text = path.read_text()
    if path.parent.name != "cli":  # the entry points turn errors into exits
      library = text.split('if __name__ == "__main__":')[0]  # a script's exit
      assert "SystemExit" not in library and "sys.exit" not in library, path


# -- A toy of each kind, added through the registries alone -------------------

class _Toy(nnx.Module):
  """Predicts each target frame as a learned blend of the last input frame."""

  def __init__(self, out_frames, rngs):
    self.out_frames = out_frames
    self.scale = nnx.Param(jax.random.uniform(rngs.params(), ()))

  def __call__(self, x, *, train=False, key=None, out_frames=None):
    del train, key
    last = x[:, -1:]
    return jnp.repeat(last * self.scale[...], out_frames or self.out_frames, 1)


class _Frames:
  """A dataset source: sequence i is a constant brightness (i % 5) / 5."""

  def __init__(self, n, length):
    self.n, self.length = n, length

  def __len__(self):
    return self.n

  def __getitem__(self, i):
    return np.full((self.length, 8, 8, 1), (i % 5) / 5, np.float32)


def _register_toys():
  @register_model("inline_model", family="parallel", replace=True)
  def build(cfg, *, in_shape, out_frames, seed=0, pretrained=None):
    del in_shape, pretrained
    assert cfg.name == "inline_model"
    return _Toy(out_frames, nnx.Rngs(seed))

  def load(cfg):
    total = cfg.pre_seq_length + cfg.aft_seq_length
    return Datasets(_Frames(cfg.size, total), _Frames(4, total),
                    _Frames(4, total), (8, 8, 1), generated_train=False,
                    test_description="toy frames",
                    metrics=MetricSpec(names=("mse", "inline_peak")))
  DATASETS.register("inline_data", DatasetEntry(lambda cfg: (8, 8, 1), load),
                    replace=True)
  METRICS.register("inline_peak", Metric(
      lambda pred, target, spec: jnp.max(jnp.abs(pred - target), axis=(2, 3, 4))),
      replace=True)
  LOSS_TERMS.register("inline_l1", lambda loss_cfg: (
      lambda pred, targets, aux: jnp.mean(jnp.abs(pred - targets))),
      replace=True)


@pytest.mark.slow
def test_a_new_model_dataset_metric_and_loss_term_train_through_the_registries(tmp_path):
  _register_toys()
  c = tiny_config()  # the shared sections; the toy replaces model and data
  c.model = ml_collections.ConfigDict({"name": "inline_model"})
  c.data = ml_collections.ConfigDict({
      "name": "inline_data", "pre_seq_length": 2, "aft_seq_length": 2, "size": 4,
      "seed": 0, "num_threads": 1})
  c.loss.terms = ml_collections.ConfigDict({"mse": 1.0, "inline_l1": 0.5})
  c.train.epochs, c.eval.num_pictures = 1, 0
  results = train_and_evaluate(c, str(tmp_path))  # 1 epoch of 4 / 4 = 1 step
  test = results["test"]
  assert set(test) >= {"mse", "inline_peak"} and "ssim" not in test
  assert len(test["per_frame"]["inline_peak"]) == 2 and test["num_sequences"] == 4
  logged = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  step = next(r for r in logged if "train/loss" in r)
  assert step["step"] == 1
  assert step["train/loss"] == pytest.approx(
      step["train/mse"] + 0.5 * step["train/inline_l1"], rel=1e-5)


def test_unknown_names_are_config_errors_that_list_the_choices():
  with pytest.raises(ConfigError, match=r"model.name='nope'; choose one of \(.*'tau'"):
    MODELS.get("nope")
  with pytest.raises(ConfigError, match="metric='ssmi'"):
    MetricSpec(names=("mse", "ssmi"))
  c = tiny_config()
  c.loss.terms.dddr = 0.1
  with pytest.raises(ConfigError, match="loss.terms='dddr'"):
    from stjax.losses import make_objective  # pylint: disable=import-outside-toplevel
    make_objective(c.loss)
  with pytest.raises(ValueError, match="already registered"):
    METRICS.register("mse", METRICS.get("mse"))


# -- Initial weights are a function of the seed alone -------------------------

@pytest.mark.parametrize("name", ["simvp_gsta", "tau", "simvp_incepu", "predrnn",
                                  "mim", "predrnnpp", "mslstm"])
def test_initial_weights_are_the_same_built_eagerly_or_under_jit(name):
  c = tiny_config(name)
  shape = (4, 32, 32, 1)
  eager = build_model(c.model, in_shape=shape, out_frames=4, seed=3)
  traced = nnx.jit(lambda: build_model(c.model, in_shape=shape, out_frames=4,
                                       seed=3))()
  chex.assert_trees_all_equal(nnx.to_pure_dict(nnx.state(eager, nnx.Param)),
                              nnx.to_pure_dict(nnx.state(traced, nnx.Param)))
  other = build_model(c.model, in_shape=shape, out_frames=4, seed=4)
  a = jax.tree.leaves(nnx.state(eager, nnx.Param))
  b = jax.tree.leaves(nnx.state(other, nnx.Param))
  assert any(not np.array_equal(x, y) for x, y in zip(a, b))  # the seed matters


def test_the_cpu_lowering_is_a_property_of_the_built_model():
  conv = layers.Conv(8, 8, 3, groups=8, rngs=nnx.Rngs(0))
  assert conv.cpu_lowering == (jax.default_backend() == "cpu")
  x = jax.random.normal(jax.random.key(0), (1, 6, 6, 8))
  rewritten = jax.jit(lambda m, x: m(x))(conv, x)
  plain = jax.jit(lambda m, x: m(x))(layers.set_cpu_lowering(conv, False), x)
  assert not conv.cpu_lowering
  np.testing.assert_allclose(rewritten, plain, rtol=1e-5, atol=1e-6)
