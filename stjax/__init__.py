"""stjax: spatiotemporal predictive learning in JAX.

`stjax.load_run(workdir)` and `stjax.from_openstl(checkpoint, config)` give
a predictor (stjax.predict); they are imported on first use, so `import
stjax` stays light.
"""


__all__ = ["load_run", "from_openstl"]


def __dir__():
  return sorted(list(globals()) + __all__)


def __getattr__(name):
  if name in ("load_run", "from_openstl"):
    from stjax import predict  # pylint: disable=import-outside-toplevel
    return getattr(predict, name)
  raise AttributeError(f"module 'stjax' has no attribute {name!r}")
