"""`python -m experiments.compare_openstl --openstl=DIR --cases=...`: stjax
against OpenSTL side by side. It lives in stjax.cli.compare_openstl (installed
as `stjax-compare-openstl`); see there for the flags."""
from stjax.cli.compare_openstl import run

if __name__ == "__main__":
  run()
