"""`python -m experiments.transfer --config=... --workdir=...`: the TMU
transfer study. It lives in stjax.cli.transfer (installed as
`stjax-transfer`); see there for the flags."""
from stjax.cli.transfer import run

if __name__ == "__main__":
  run()
