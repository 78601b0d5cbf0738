"""`python -m experiments.list`: the registered models, datasets, metrics and
loss terms, and every config with its variants. It lives in stjax.cli.catalog
(installed as `stjax-list`)."""
from stjax.cli.catalog import run

if __name__ == "__main__":
  run()
