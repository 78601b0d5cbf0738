"""A tiny PyTorch ConvLSTM standing in for OpenSTL in the compare_openstl
test: one layer of `hidden` channels on 4x4 patches of 16x16 frames, the
same parameters as stjax's ConvLSTM (x- and h-convolutions without bias, a
1x1 readout), trained with Adam on the next-frame MSE. Builder of
stjax/compare/torch_worker.py; `extra` adds a parameter tensor of that many
numbers, for the test of mismatched configs."""
import torch
from torch import nn


class StandIn(nn.Module):
  def __init__(self, channels: int, hidden: int, kernel: int, extra: int):
    super().__init__()
    self.hidden = hidden
    self.conv_x = nn.Conv2d(channels, 4 * hidden, kernel, padding=kernel // 2, bias=False)
    self.conv_h = nn.Conv2d(hidden, 4 * hidden, kernel, padding=kernel // 2, bias=False)
    self.conv_last = nn.Conv2d(hidden, channels, 1, bias=False)
    self.extra = nn.Parameter(torch.zeros(extra)) if extra else None

  def forward(self, frames):  # (B, T, C, H, W) -> the T - 1 next frames
    b, t, _, h, w = frames.shape
    hid = frames.new_zeros(b, self.hidden, h, w)
    mem = torch.zeros_like(hid)
    out = []
    for k in range(t - 1):
      i, f, g, o = torch.chunk(self.conv_x(frames[:, k]) + self.conv_h(hid), 4, dim=1)
      mem = torch.sigmoid(f) * mem + torch.sigmoid(i) * torch.tanh(g)
      hid = torch.sigmoid(o) * torch.tanh(mem)
      out.append(self.conv_last(hid))
    return torch.stack(out, dim=1)


class Reference:
  def __init__(self, batch, hidden=8, frames=(4, 4), extra=0, compile=False):  # pylint: disable=redefined-builtin
    del compile
    self.module = StandIn(16, hidden, 5, extra)
    self.opt = torch.optim.Adam(self.module.parameters(), lr=5e-4)
    self.frames = torch.rand(batch, sum(frames), 16, 4, 4)

  def train_step(self):
    pred = self.module(self.frames)
    loss = nn.functional.mse_loss(pred, self.frames[:, 1:])
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    self.opt.step()

  def infer_step(self):
    self.module(self.frames)


def build(batch, **kwargs):
  return Reference(batch, **kwargs)
