"""`python -m experiments.main --config=... --workdir=...`: the training
command, run from a checkout. It lives in stjax.cli.train (installed as
`stjax-train`); see there for the flags."""
from absl import app

from stjax.cli.train import main

if __name__ == "__main__":
  app.run(main)
