"""Writes the weights file stjax's LPIPS reads (eval.lpips_weights).

    pip install torch torchvision lpips      # where the internet is reachable
    python experiments/export_lpips_weights.py lpips_alex.npz

It takes AlexNet's ImageNet features from torchvision (downloaded on first
use) and the LPIPS linear layers that ship with the `lpips` package (BSD,
weights/v0.1/alex.pth), and saves conv<k>.weight/bias (k = 1..5) and
lin<l>.weight (l = 0..4) as float32 arrays. Copy the file to the training
machine and pass --config.eval.lpips_weights=lpips_alex.npz.
"""
import sys

import numpy as np


def main(out: str) -> None:
  import lpips  # pylint: disable=import-outside-toplevel
  model = lpips.LPIPS(net="alex", pretrained=True, verbose=False)
  convs = [m for m in model.net.modules() if m.__class__.__name__ == "Conv2d"]
  if len(convs) != 5:
    raise SystemExit(f"expected AlexNet's 5 convolutions, found {len(convs)}")
  arrays = {}
  for k, conv in enumerate(convs, 1):
    arrays[f"conv{k}.weight"] = conv.weight.detach().numpy().astype(np.float32)
    arrays[f"conv{k}.bias"] = conv.bias.detach().numpy().astype(np.float32)
  for l, lin in enumerate(model.lins):
    arrays[f"lin{l}.weight"] = lin.model[-1].weight.detach().numpy().astype(np.float32)
  np.savez(out, **arrays)
  print(f"wrote {out}: {sum(a.size for a in arrays.values()):,} numbers")


if __name__ == "__main__":
  if len(sys.argv) != 2:
    raise SystemExit("usage: python experiments/export_lpips_weights.py OUT.npz")
  main(sys.argv[1])
