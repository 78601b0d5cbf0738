"""The pure, jitted step functions and the state they carry.

A step is a function of pytrees only (TrainState, batch), built once from the
model's graph definition, so it composes with jit, sharding and orbax. The
step's randomness is fold_in(state.rng, state.step): nothing but the state
decides it, so a resumed run draws the same numbers.
"""
from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from stjax import losses, metrics
from stjax.errors import ConfigError
from stjax.models.recurrent import inference_weights
from stjax.train.sampling import ScheduledSampling

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
# What the optimizer trains: every parameter except those under a `sources`
# attribute (TMU's frozen pretrained models), which ride in model_state.
TRAINABLE = nnx.All(nnx.Param, nnx.Not(nnx.PathContains("sources")))


class TrainState(flax.struct.PyTreeNode):
  step: jax.Array            # int32 scalar: optimizer steps taken
  params: Any                # nnx.State of the TRAINABLE params (float32 master copy)
  model_state: Any           # nnx.State of the rest (BatchNorm statistics, frozen sources)
  opt_state: Any
  rng: jax.Array             # uint32[2], the run's key

  @classmethod
  def create(cls, model: nnx.Module, tx: optax.GradientTransformation,
             seed: int):
    graphdef, params, model_state = nnx.split(model, TRAINABLE, ...)
    state = cls(step=jnp.zeros((), jnp.int32), params=params,
                model_state=model_state, opt_state=tx.init(params),
                rng=jax.random.PRNGKey(seed))
    # Strong types everywhere: a weak-typed leaf (optax's scalar hyper-
    # parameters) would change type after one step and force a recompile.
    state = jax.tree.map(lambda x: jnp.array(x, dtype=x.dtype), state)
    return graphdef, state


def _cast_floats(tree, dtype):
  return jax.tree.map(
      lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x,
      tree)


def make_apply(graphdef, compute_dtype: str = "float32"):
  """apply(params, model_state, fn, *arrays) -> (fn(model, *arrays) in
  float32 or wider, new model_state): runs `fn` on the model in the compute
  dtype ("float32": the parameters' own precision, float64 in parity checks)."""
  if compute_dtype not in COMPUTE_DTYPES:
    raise ConfigError(f"train.compute_dtype={compute_dtype!r}; choose one of "
                      f"{tuple(COMPUTE_DTYPES)}.")
  dtype = COMPUTE_DTYPES[compute_dtype]

  def apply(params, model_state, fn, *arrays):
    if dtype != jnp.float32:
      params = _cast_floats(params, dtype)
      arrays = tuple(a.astype(dtype) for a in arrays)
    model = nnx.merge(graphdef, params, model_state, copy=True)
    out = fn(model, *arrays)
    new_state = nnx.state(model, nnx.Not(TRAINABLE))
    new_state = jax.tree.map(lambda n, o: n.astype(o.dtype), new_state, model_state)
    # Outputs in float32 at least (bfloat16 compute), float64 kept (checks).
    out = jax.tree.map(lambda x: x.astype(jnp.promote_types(x.dtype, jnp.float32))
                       if jnp.issubdtype(x.dtype, jnp.floating) else x, out)
    return out, new_state
  return apply


def make_forward(graphdef, compute_dtype: str = "float32",
                 out_frames: int | None = None):
  """forward(params, model_state, inputs, train, key) -> (pred f32, new
  model_state); `out_frames` predicts further than the model was built for."""
  apply = make_apply(graphdef, compute_dtype)
  horizon = {} if out_frames is None else {"out_frames": out_frames}

  def forward(params, model_state, inputs, train, key):
    return apply(params, model_state,
                 lambda m, x: m(x, train=train, key=key, **horizon), inputs)
  return forward


def make_gradient(graphdef, loss_cfg, compute_dtype="float32",
                  sampling: ScheduledSampling | None = None):
  """gradient(params, model_state, batch, key, step) -> ((loss, (new
  model_state, loss terms)), d loss / d params): one training forward pass
  and its gradient, as the train step takes it (and parity checks read it).

  Parallel models predict the targets from the inputs. Recurrent models
  (`sampling` given) roll out over the whole sequence and are trained on all
  T-1 next-frame predictions, as the reference trains them; the true-frame
  weights are drawn by scheduled sampling from the key, unless the batch
  brings its own (B, T-1) `true_weight` (replaying the reference's masks).
  """
  apply = make_apply(graphdef, compute_dtype)
  objective = losses.make_objective(loss_cfg)

  def predictions(params, model_state, batch, key, step):
    if sampling is None:
      (pred, model_state) = apply(
          params, model_state, lambda m, x: m(x, train=True, key=key),
          batch["inputs"])
      return pred, batch["targets"], {}, model_state
    frames = jnp.concatenate([batch["inputs"], batch["targets"]], axis=1)
    weights = batch.get("true_weight")
    if weights is None:
      weights = sampling(step, jax.random.fold_in(key, 1), frames.shape[0])
    (pred, aux), model_state = apply(
        params, model_state, lambda m, f, w: m.rollout(f, w), frames, weights)
    return pred, frames[:, 1:], aux, model_state

  def loss(params, model_state, batch, key, step):
    pred, targets, aux, model_state = predictions(params, model_state, batch,
                                                  key, step)
    total, terms = objective(pred, targets, aux)
    return total, (model_state, terms)

  return jax.value_and_grad(loss, has_aux=True)


NONFINITE = "first_nonfinite_step"


@jax.jit
def accumulate(sums, metrics):
  """Adds a step's metrics to the interval's sums; for NONFINITE keeps the
  first non-zero step. One dispatch per step instead of one per metric."""
  if sums is None:
    return metrics
  out = jax.tree.map(jnp.add, sums, metrics)
  out[NONFINITE] = jnp.where(sums[NONFINITE] > 0, sums[NONFINITE],
                             metrics[NONFINITE])
  return out


def make_train_step(graphdef, tx, loss_cfg, compute_dtype="float32",
                    sampling: ScheduledSampling | None = None,
                    reverse_input: bool = False):
  """A jitted train_step(state, batch) -> (state, metrics); state is donated.
  The forward pass and gradient are make_gradient's; then one optimizer step.

  `reverse_input` (the PredRNN, MIM and TMU authors' scripts) takes a second
  optimizer step on the same sequences reversed in time, with the same
  scheduled-sampling weights, inside the same step: two updates per step
  (the optimizer's schedule counts updates); `loss_reversed` is logged.
  """
  gradient = make_gradient(graphdef, loss_cfg, compute_dtype, sampling)

  def update(state, batch, key):
    (total, (model_state, terms)), grads = gradient(
        state.params, state.model_state, batch, key, state.step)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return (state.replace(params=params, model_state=model_state,
                          opt_state=opt_state), total, terms,
            optax.tree.norm(grads))

  def train_step(state: TrainState, batch):
    key = jax.random.fold_in(state.rng, state.step)
    if reverse_input and sampling is not None and "true_weight" not in batch:
      # drawn here as make_gradient would, so both passes share them
      batch = {**batch, "true_weight": sampling(
          state.step, jax.random.fold_in(key, 1), batch["inputs"].shape[0])}
    new_state, total, terms, grad_norm = update(state, batch, key)
    extra = {}
    if reverse_input:
      frames = jnp.concatenate([batch["inputs"], batch["targets"]], axis=1)
      frames = jnp.flip(frames, axis=1)
      pre = batch["inputs"].shape[1]
      rev = {**batch, "inputs": frames[:, :pre], "targets": frames[:, pre:]}
      new_state, total_rev, _, norm_rev = update(new_state, rev,
                                                 jax.random.fold_in(key, 2))
      grad_norm = jnp.maximum(grad_norm, norm_rev)
      extra = {"loss_reversed": total_rev}
      total_ok = jnp.isfinite(total) & jnp.isfinite(total_rev)
    else:
      total_ok = jnp.isfinite(total)
    new_state = new_state.replace(step=state.step + 1)
    finite = total_ok & jnp.isfinite(grad_norm)
    # The step number where the loss or gradient stopped being finite (0
    # while finite): the loop checks it on the device's schedule, never with
    # a host sync of its own.
    return new_state, {"loss": total, "grad_norm": grad_norm, **terms, **extra,
                       NONFINITE: jnp.where(finite, 0, state.step + 1)}

  return jax.jit(train_step, donate_argnums=0)


def make_predict(graphdef, compute_dtype="float32", out_frames=None):
  forward = make_forward(graphdef, compute_dtype, out_frames)

  def predict(params, model_state, inputs):
    return forward(params, model_state, inputs, False, None)[0]
  return jax.jit(predict)


def make_eval_step(graphdef, compute_dtype="float32",
                   spec: metrics.MetricSpec = metrics.MetricSpec(),
                   out_frames: int | None = None, all_steps: bool = False):
  """eval_step(params, model_state, batch) -> masked per-frame metric sums
  (the dataset's metrics, `spec`), over `out_frames` predicted frames.

  `all_steps` (recurrent models) scores every one of the T-1 next-frame
  predictions of the inference rollout, the T_in - 1 reconstructions of
  observed frames included, as the MS-LSTM authors evaluate."""
  forward = make_forward(graphdef, compute_dtype, out_frames)
  apply = make_apply(graphdef, compute_dtype)

  def predictions(params, model_state, batch):
    if not all_steps:
      pred = forward(params, model_state, batch["inputs"], False, None)[0]
      return pred, batch["targets"]
    frames = jnp.concatenate([batch["inputs"], batch["targets"]], axis=1)
    b, pre = batch["inputs"].shape[:2]
    weights = inference_weights(b, pre, batch["targets"].shape[1])
    pred = apply(params, model_state,
                 lambda m, f, w: m.rollout(f, w, train=False)[0],
                 frames, weights)[0]
    return pred, frames[:, 1:]

  def eval_step(params, model_state, batch):
    pred, targets = predictions(params, model_state, batch)
    per_frame = metrics.eval_metrics(pred, targets, spec)
    mask = batch["mask"]
    sums = {k: jnp.sum(v * mask.reshape((-1,) + (1,) * (v.ndim - 1)), axis=0)
            for k, v in per_frame.items()}
    sums["count"] = jnp.sum(batch["mask"])
    return sums
  return jax.jit(eval_step)
