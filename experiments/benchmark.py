"""`python -m experiments.benchmark --config=...`: speed, memory and size of
a config's model. It lives in stjax.cli.benchmark (installed as
`stjax-benchmark`); see there for the flags."""
from stjax.cli.benchmark import run

if __name__ == "__main__":
  run()
