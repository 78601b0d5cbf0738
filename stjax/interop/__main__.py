"""`python -m stjax.interop check PATH.npz [...]`: every parity fixture
(OpenSTL forward and training, MS-LSTM authors' code), chosen by its .json
(stjax.interop.check). `check-train` is kept as an alias."""
import sys

from stjax.interop.check import main

if __name__ == "__main__":
  argv = sys.argv[1:]
  if argv[:1] == ["check-train"]:
    argv = ["check", *argv[1:]]
  sys.exit(main(argv))
