"""A reference stand-in for the compare_openstl test, in numpy, so the test
needs no PyTorch: it has the parameter tensors of stjax's one-layer ConvLSTM
(x- and h-convolutions without bias, a 1x1 readout, on 4x4 patches of
16x16 frames) and steps that do a fixed amount of arithmetic on them. It
exercises the driver's protocol (rounds, medians, parameter counts), not a
model. Builder of stjax/compare/torch_worker.py; `extra` adds a parameter
tensor of that many numbers, for the test of mismatched configs."""
import numpy as np


class Reference:
  framework = f"numpy {np.__version__}"

  def __init__(self, batch, hidden=8, frames=(4, 4), extra=0, compile=False):  # pylint: disable=redefined-builtin
    del compile
    rng = np.random.default_rng(0)
    channels, kernel = 16, 5
    self.params = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in (
        (4 * hidden, channels, kernel, kernel), (4 * hidden, hidden, kernel, kernel),
        (channels, hidden, 1, 1))] + ([np.zeros(extra, np.float32)] if extra else [])
    self.frames = rng.random((batch, sum(frames), channels * 16), np.float32)

  def num_params(self) -> int:
    return int(sum(p.size for p in self.params))

  def infer_step(self):
    w = self.params[0].reshape(self.params[0].shape[0], -1)
    return np.tanh(self.frames @ np.resize(w, (self.frames.shape[-1], w.shape[0])))

  def train_step(self):
    out = self.infer_step()
    self.params[0] -= 1e-6 * float(out.mean())


def build(batch, **kwargs):
  return Reference(batch, **kwargs)
