"""OpenSTL's models and training steps for torch_worker.py, imported from an
OpenSTL source snapshot (`ref`, commit c74deb5 of
github.com/chengtan9907/OpenSTL), never copied. torch only; no stjax, no JAX.

The steps are OpenSTL's own on one device:
- SimVP / TAU (its methods/simvp.py, tau.py): pred = model(x); MSE (+ 0.1 x
  the differential divergence for TAU, OpenSTL's alpha); backward; Adam;
  one-cycle scheduler step.
- ConvLSTM / PredRNN / MIM (methods/predrnn.py): frames -> NHWC ->
  reshape_patch; the sampling flag from OpenSTL's schedule_sampling (eta from
  1.0); (_, loss) = model(frames, flag), the model's own MSE; backward; Adam;
  scheduler step. Inference: a zero flag, return_loss=False.
- E3D-LSTM (methods/e3dlstm.py, PredRNN's method): as the recurrent models;
  the model's own loss is MSE + L1.
- PhyDNet (methods/phydnet.py): L = model(x, y, constraints, teacher
  forcing ratio 1 - 0.003 epoch, epoch 0 here), then its training_step's
  MSE(L, y); Adam; scheduler step. Inference: model.inference.
- MAU (methods/mau.py): as the recurrent models, but the frames go in
  unpatched (patch 1, the encoder shrinks by `sr_size`) and, as its method at
  c74deb5 never stores the eta schedule_sampling returns, every step hands
  it 1.0 (it draws the flag at 1 - 2e-5).
- PredFormer (model "predformer"; `ref` is then a checkout of
  github.com/yyyujintang/PredFormer, whose package is also named openstl):
  PredFormer_<variant>.PredFormer_Model(model_config); pred = model(x);
  MSE; backward; AdamW (weight decay 1e-2 on every parameter, as its
  scripts' `--opt adamw --weight_decay 1e-2`); one-cycle scheduler step.
"""
from __future__ import annotations

import sys
from types import SimpleNamespace


class Reference:
  def __init__(self, module, train_step, infer_step):
    self.module, self.train_step, self.infer_step = module, train_step, infer_step


def build(batch: int, ref: str, model: str, compile: bool = False,  # pylint: disable=redefined-builtin
          model_type: str = "gSTA", hid_S: int = 64, hid_T: int = 512,
          N_S: int = 4, N_T: int = 8, num_hidden=(128, 128, 128, 128),
          filter_size: int = 5, patch_size: int = 4, frames=(10, 10),
          shape=(1, 64, 64), lr: float | None = None,
          device: str | None = None, variant: str = "Quadruplet_TSST",
          model_config: dict | None = None, sr_size: int = 4,
          tau: int = 5) -> Reference:
  """`device` None: CUDA where torch sees a GPU, else the CPU."""
  sys.path.insert(0, ref)
  import importlib  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import torch.nn.functional as F  # pylint: disable=import-outside-toplevel
  if model != "predformer":
    from openstl import models  # pylint: disable=import-outside-toplevel
    from openstl.utils import reshape_patch, reshape_patch_back, schedule_sampling  # pylint: disable=import-outside-toplevel

  np.random.seed(0)
  device = device or ("cuda" if torch.cuda.is_available() else "cpu")
  t_in, t_out = frames
  c, h, w = shape
  recurrent = model in ("convlstm", "predrnn", "mim", "mau", "e3dlstm")
  if model == "mau":
    patch_size = 1
  if recurrent:
    cfg = SimpleNamespace(
        in_shape=(t_in, c, h, w), pre_seq_length=t_in, aft_seq_length=t_out,
        total_length=t_in + t_out, patch_size=patch_size, filter_size=filter_size,
        stride=1, layer_norm=0, reverse_scheduled_sampling=0,
        scheduled_sampling=1, sampling_stop_iter=50000,
        sampling_start_value=1.0, sampling_changing_rate=2e-5, device=device,
        sr_size=sr_size, tau=tau, cell_mode="normal", model_mode="normal")
    cls = {"convlstm": models.ConvLSTM_Model, "predrnn": models.PredRNN_Model,
           "mim": models.MIM_Model, "mau": models.MAU_Model,
           "e3dlstm": models.E3DLSTM_Model}[model]
    net = cls(len(num_hidden), list(num_hidden), cfg)
    lr = lr or {"mau": 1e-3, "e3dlstm": 1e-4}.get(model, 5e-4)
  elif model == "phydnet":
    from openstl.methods.phydnet import PhyDNet  # pylint: disable=import-outside-toplevel
    cfg = SimpleNamespace(in_shape=(t_in, c, h, w), pre_seq_length=t_in,
                          aft_seq_length=t_out, patch_size=patch_size, device=device)
    net = models.PhyDNet_Model(cfg)
    constraints = PhyDNet._get_constraints(None).to(device)
    lr = lr or 1e-3
  elif model == "predformer":
    module = importlib.import_module(f"openstl.models.PredFormer_{variant}")
    net = module.PredFormer_Model(dict(model_config, height=h, width=w, num_channels=c,
                                       pre_seq=t_in, after_seq=t_out))
    lr = lr or 1e-3
  else:
    net = models.SimVP_Model((t_in, c, h, w), hid_S=hid_S, hid_T=hid_T, N_S=N_S,
                             N_T=N_T, model_type="tau" if model == "tau" else model_type,
                             mlp_ratio=8.0, drop=0.0, drop_path=0.0,
                             spatio_kernel_enc=3, spatio_kernel_dec=3)
    lr = lr or 1e-3
  net = net.to(device)
  opt = (torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
         if model == "predformer" else
         torch.optim.Adam(net.parameters(), lr=lr, weight_decay=0.0))
  sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=200000)
  forward = torch.compile(net) if compile else net
  x = torch.rand(batch, t_in, c, h, w, device=device)
  y = torch.rand(batch, t_out, c, h, w, device=device)
  state = {"eta": 1.0, "itr": 0}

  def divergence(pred, true, tau=0.1, eps=1e-12):  # TAU's regulariser, its formula
    b, t = pred.shape[:2]
    gp = (pred[:, 1:] - pred[:, :-1]).reshape(b, t - 1, -1)
    gt = (true[:, 1:] - true[:, :-1]).reshape(b, t - 1, -1)
    sp, st = F.softmax(gp / tau, -1), F.softmax(gt / tau, -1)
    return (sp * torch.log(sp / (st + eps) + eps)).mean()

  def frames_nhwc():
    ims = torch.cat([x, y], dim=1).permute(0, 1, 3, 4, 2).contiguous()
    return reshape_patch(ims, patch_size)

  def train_step():
    if model == "phydnet":
      objective = forward(x, y, constraints, 1.0)
      loss = F.mse_loss(objective.expand_as(y), y)
    elif recurrent:
      eta, flag = schedule_sampling(state["eta"], state["itr"], batch, cfg)
      if model != "mau":  # MAU's method drops the eta it gets back
        state["eta"] = eta
      _, loss = forward(frames_nhwc(), flag)
    else:
      pred = forward(x)
      loss = F.mse_loss(pred, y)
      if model == "tau":
        loss = loss + 0.1 * divergence(pred, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    state["itr"] += 1

  def infer_step():
    if model == "phydnet":
      net.inference(x, y, constraints, return_loss=False)
    elif recurrent:
      flag = torch.zeros((batch, t_in + t_out - t_in - 1, h // patch_size,
                          w // patch_size, patch_size ** 2 * c), device=device)
      gen, _ = forward(frames_nhwc(), flag, return_loss=False)
      reshape_patch_back(gen, patch_size)[:, -t_out:].permute(0, 1, 4, 2, 3).contiguous()
    else:
      forward(x)

  return Reference(net, train_step, infer_step)
