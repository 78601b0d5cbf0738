"""Data parallelism: one mesh axis over every device JAX sees, on every host.

The batch is sharded along its leading axis, parameters and optimizer state
are replicated. Each process feeds only its own slice of the global batch.
"""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh over `devices` (default: every device of every process)."""
  return Mesh(np.asarray(jax.devices() if devices is None else devices),
              (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA_AXIS))


def put_batch(batch: dict, mesh: Mesh) -> dict:
  """This process's slice of a batch -> global arrays sharded over the mesh."""
  sharding = batch_sharded(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, v)
          for k, v in batch.items()}


def put_replicated(tree, mesh: Mesh):
  return jax.device_put(tree, replicated(mesh))
