"""`python -m experiments.predict --workdir=... --input=... --output=...`:
predictions from a trained run. It lives in stjax.cli.predict (installed as
`stjax-predict`); see there for the flags."""
from stjax.cli.predict import run

if __name__ == "__main__":
  run()
