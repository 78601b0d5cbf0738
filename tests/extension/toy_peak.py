"""A toy metric: the largest absolute error of each predicted frame."""
import jax.numpy as jnp

from stjax.metrics import Metric
from stjax.registry import METRICS

METRICS.register("toy_peak", Metric(
    lambda pred, target, spec: jnp.max(jnp.abs(pred - target), axis=(2, 3, 4))))
