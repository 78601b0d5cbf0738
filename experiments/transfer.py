"""`python -m experiments.transfer --config=... --workdir=...`: the TMU
transfer study. It lives in stjax.cli.transfer (installed as
`stjax-transfer`); see there for the flags."""
from absl import app

from stjax.cli.transfer import main

if __name__ == "__main__":
  app.run(main)
