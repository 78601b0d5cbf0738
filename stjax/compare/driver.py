"""Times stjax and a PyTorch reference on one case, one side at a time.

For a case (cases.Case) it starts the stjax worker, waits until it has
compiled and warmed up, then the reference worker, then checks that both
models have the same number of parameters (less those the reference creates
and never uses). Each round times stjax train, reference train, stjax
infer, reference infer, with the same number of steps on both sides (sized so
the slower takes about `target_s`); the side not measured waits on its
stdin. Each measurement starts with `prime_steps` untimed steps of the side
measured: after the other side has run, stjax's first step measured up to
1.6x its steady time (SimVP-gSTA, batch 4: 4.3 s, then 2.7 s), which the
few steps of a large case would otherwise average in. Before a measurement
it waits until the rest of the machine uses
under `quiet_cores`; a measurement during which other processes used more
(/proc/stat busy time less the worker's own CPU time) is redone. Ratios are
stjax seq/s over reference seq/s per round; the result carries their
medians, compile times, warm-up times and each process's peak RSS.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time

from stjax.compare.cases import Case
from stjax.errors import ConfigError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class WorkerError(RuntimeError):
  pass


def busy_seconds() -> float | None:
  """CPU seconds the whole machine has been busy (Linux /proc/stat)."""
  try:
    with open("/proc/stat", encoding="ascii") as f:
      v = [int(x) for x in f.readline().split()[1:]]
  except OSError:
    return None
  # user nice system idle iowait irq softirq steal
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_cores: float, max_wait_s: float, window_s: float = 1.0):
  """Waits (up to max_wait_s) until the machine uses < max_cores over a
  window while both workers idle. Returns (seconds waited, last load)."""
  t0 = time.perf_counter()
  while True:
    b0 = busy_seconds()
    if b0 is None:
      return 0.0, None
    time.sleep(window_s)
    load = (busy_seconds() - b0) / window_s
    waited = time.perf_counter() - t0
    if load < max_cores or waited >= max_wait_s:
      return waited, load


class Worker:
  """A worker process speaking protocol.py's lines."""

  def __init__(self, name: str, argv: list[str], env: dict, log_path: str):
    self.name = name
    self.log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
        argv, env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self.log, text=True, bufsize=1)

  def read(self) -> dict:
    for line in self.proc.stdout:
      if line.startswith("@@ "):
        out = json.loads(line[3:])
        if out.get("event") == "error":
          raise WorkerError(f"{self.name} worker: {out['message']}")
        return out
      self.log.write(line)
    self.log.flush()
    raise WorkerError(f"the {self.name} worker ended early; its log is "
                      f"{self.log.name}: {_last_line(self.log.name)}")

  def ask(self, command: str) -> dict:
    self.proc.stdin.write(command + "\n")
    self.proc.stdin.flush()
    return self.read()

  def close(self) -> float | None:
    """Ends the worker; returns its peak RSS in MiB (None if it had failed)."""
    peak = None
    try:
      if self.proc.poll() is None:
        peak = self.ask("quit").get("peak_rss_mib")
        self.proc.wait(timeout=60)
    except (WorkerError, OSError, subprocess.TimeoutExpired):
      pass
    finally:
      if self.proc.poll() is None:
        self.proc.kill()
        self.proc.wait()
      self.log.close()
    return peak


def _last_line(path: str) -> str:
  with open(path, encoding="utf-8", errors="replace") as f:
    lines = [l.strip() for l in f if l.strip()]
  return lines[-1] if lines else "(empty)"


def _steps(ready_a: dict, ready_b: dict, key: str, target_s: float) -> int:
  """Steps per measurement: the slower side's best warm-up step into target_s."""
  slow = max(min(ready_a[key][1:] or ready_a[key]), min(ready_b[key][1:] or ready_b[key]))
  return max(2, min(1000, math.ceil(target_s / max(slow, 1e-6))))


def compare(case: Case, *, reference_python: str = sys.executable,
            reference_builder: str = "openstl_reference.py:build",
            reference_kwargs: dict | None = None, reference_pythonpath: str = "",
            rounds: int = 3, target_s: float = 8.0, quiet_cores: float = 0.3,
            max_wait_s: float = 300.0, quiet_window_s: float = 1.0, max_redo: int = 6,
            prime_steps: int = 1, torch_compile: bool = False,
            compilation_cache: bool = False, log_dir: str, echo=print) -> dict:
  """Runs one case; returns its result (see the module docstring)."""
  os.makedirs(log_dir, exist_ok=True)
  env_j = dict(os.environ)
  env_j["PYTHONPATH"] = os.pathsep.join(x for x in [REPO, env_j.get("PYTHONPATH", "")] if x)
  argv_j = [sys.executable, "-m", "stjax.cli.compare_worker", "--config", case.config,
            "--batch", str(case.batch)] + [f"--set={o}" for o in case.overrides]
  if compilation_cache:
    argv_j.append("--compilation_cache")
  env_t = dict(os.environ)
  env_t["PYTHONPATH"] = reference_pythonpath
  kwargs = dict(case.reference, **(reference_kwargs or {}))
  argv_t = [reference_python, os.path.join(HERE, "torch_worker.py"),
            "--builder", reference_builder, "--kwargs", json.dumps(kwargs),
            "--batch", str(case.batch)] + (["--compile"] if torch_compile else [])

  workers = []
  try:
    # One after the other, so that compiling and warming up never overlap.
    t0 = time.perf_counter()
    jx = Worker("stjax", argv_j, env_j, os.path.join(log_dir, f"{case.name}.stjax.log"))
    workers.append(jx)
    ready_j = jx.read()
    ready_j["ready_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = Worker("reference", argv_t, env_t, os.path.join(log_dir, f"{case.name}.reference.log"))
    workers.append(ref)
    ready_t = ref.read()
    ready_t["ready_s"] = time.perf_counter() - t0
    diff = ready_t["params"] - ready_j["params"]
    if diff != case.unused_reference_params:
      raise ConfigError(
          f"case {case.name}: stjax has {ready_j['params']:,} parameters and the "
          f"reference {ready_t['params']:,} (difference {diff:+,}, expected "
          f"{case.unused_reference_params:+,}); the configs differ, so the speeds "
          "would not compare: align the case's overrides and reference arguments")
    echo(f"[{case.name}] parameters: stjax {ready_j['params']:,}, reference "
         f"{ready_t['params']:,} ({diff:+,} never used by the reference); "
         f"stjax compile: train {ready_j['train_compile_s']:.1f} s, infer "
         f"{ready_j['infer_compile_s']:.1f} s; ready after {ready_j['ready_s']:.0f} s "
         f"(reference {ready_t['ready_s']:.0f} s)")
    n = {mode: _steps(ready_j, ready_t, f"warm_{mode}_s", target_s)
         for mode in ("train", "infer")}
    rows = []
    for r in range(rounds):
      row = {}
      for mode in ("train", "infer"):
        for side, w in (("stjax", jx), ("reference", ref)):
          redone = []
          while True:
            waited, before = wait_quiet(quiet_cores, max_wait_s, quiet_window_s)
            b0, t0 = busy_seconds(), time.perf_counter()
            res = w.ask(f"{mode} {n[mode]} {prime_steps}")
            wall = time.perf_counter() - t0
            foreign = (None if b0 is None else
                       max(0.0, (busy_seconds() - b0 - res["cpu_secs"]) / wall))
            if foreign is None or foreign <= quiet_cores or len(redone) >= max_redo:
              break
            redone.append(foreign)
            echo(f"[{case.name}]   {side} {mode}: other processes used "
                 f"{foreign:.2f} cores; measuring again")
          row[f"{side}_{mode}"] = n[mode] * case.batch / res["secs"]
          row[f"{side}_{mode}_foreign_cores"] = foreign
          row[f"{side}_{mode}_redone"] = redone
          row[f"{side}_{mode}_waited_s"] = waited
          row[f"{side}_{mode}_load_before"] = before
          row[f"{side}_{mode}_cpu_util"] = res["cpu_secs"] / res["secs"]
        row[f"ratio_{mode}"] = row[f"stjax_{mode}"] / row[f"reference_{mode}"]
      rows.append(row)
      echo(f"[{case.name}] round {r + 1}: train {row['stjax_train']:.3f} vs "
           f"{row['reference_train']:.3f} seq/s (x{row['ratio_train']:.2f}); infer "
           f"{row['stjax_infer']:.3f} vs {row['reference_infer']:.3f} seq/s "
           f"(x{row['ratio_infer']:.2f})")
  finally:
    peaks = [w.close() for w in workers]
  median = lambda k: statistics.median(row[k] for row in rows)  # noqa: E731
  result = dict(
      case=case.name, batch=case.batch, config=case.config,
      overrides=list(case.overrides), reference=kwargs, torch_compile=torch_compile,
      steps=n, rounds=rows,
      **{f"median_{k}": median(k) for k in (
          "ratio_train", "ratio_infer", "stjax_train", "reference_train",
          "stjax_infer", "reference_infer")},
      params_stjax=ready_j["params"], params_reference=ready_t["params"],
      stjax_train_compile_s=ready_j["train_compile_s"],
      stjax_infer_compile_s=ready_j["infer_compile_s"],
      stjax_ready_s=ready_j["ready_s"], reference_ready_s=ready_t["ready_s"],
      warm_up=dict(stjax=[ready_j["warm_train_s"], ready_j["warm_infer_s"]],
                   reference=[ready_t["warm_train_s"], ready_t["warm_infer_s"]]),
      peak_rss_mib_stjax=peaks[0], peak_rss_mib_reference=peaks[1],
      stjax_version=ready_j["version"], reference_version=ready_t["version"],
      reference_threads=ready_t["threads"], device=ready_j["device"],
      cpu_count=ready_j["cpu_count"], quiet_cores=quiet_cores,
      prime_steps=prime_steps)
  echo(f"[{case.name}] median ratio train x{result['median_ratio_train']:.2f}, "
       f"infer x{result['median_ratio_infer']:.2f}; peak RSS stjax "
       f"{peaks[0] or 0:.0f} MiB, reference {peaks[1] or 0:.0f} MiB")
  return result


def markdown_table(results: list[dict]) -> str:
  """The docs table (docs/speed.md): one row per case."""
  lines = ["| case | batch | params | train seq/s stjax / ref | **train** | "
           "infer seq/s stjax / ref | **infer** | stjax compile train / infer s | "
           "peak RSS MiB stjax / ref |", "|" + "---|" * 9]
  for r in results:
    lines.append(
        f"| {r['case']}{' (torch.compile)' if r['torch_compile'] else ''} | {r['batch']} | "
        f"{r['params_stjax']:,} | "
        f"{r['median_stjax_train']:.3g} / {r['median_reference_train']:.3g} | "
        f"**x{r['median_ratio_train']:.2f}** | "
        f"{r['median_stjax_infer']:.3g} / {r['median_reference_infer']:.3g} | "
        f"**x{r['median_ratio_infer']:.2f}** | "
        f"{r['stjax_train_compile_s']:.1f} / {r['stjax_infer_compile_s']:.1f} | "
        f"{r['peak_rss_mib_stjax'] or 0:.0f} / {r['peak_rss_mib_reference'] or 0:.0f} |")
  return "\n".join(lines)
