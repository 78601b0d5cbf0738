"""`python -m experiments.main --config=... --workdir=...`: the training
command, run from a checkout. It lives in stjax.cli.train (installed as
`stjax-train`); see there for the flags."""
from stjax.cli.train import run

if __name__ == "__main__":
  run()
