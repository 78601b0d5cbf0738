"""`python -m stjax.interop check|check-train PATH.npz [...]`: the parity
checks against the reference implementations (stjax.interop.openstl)."""
import sys

from stjax.interop.openstl import main

if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
