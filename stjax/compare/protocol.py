"""The workers' side of the driver's line protocol (standard library only).

The driver writes "train N [P]", "infer N [P]" or "quit" on a worker's
stdin: P untimed steps (default 0), then N timed ones. The worker answers one
line "@@ {json}" on stdout (anything else it prints is log). Each step is
timed on its own, to the end of its computation.
"""
import json
import os
import resource
import sys
import time


def reply(**fields) -> None:
  sys.stdout.write("@@ " + json.dumps(fields) + "\n")
  sys.stdout.flush()


def rss_mib() -> float | None:
  """The process's resident memory now (Linux; None elsewhere)."""
  try:
    with open("/proc/self/status", encoding="ascii") as f:
      for line in f:
        if line.startswith("VmRSS:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  return None


def peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
  t = os.times()
  return t.user + t.system


def timed(step, n: int) -> list[float]:
  """n calls of step(), each timed; step returns once its work has finished."""
  times = []
  for _ in range(n):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
  return times


def serve(train_step, infer_step, warmup: int, **ready) -> None:
  """Warms both steps up, says "ready" (with `ready` and the warm-up times),
  then answers the driver's commands until "quit" or end of input."""
  warm_train = timed(train_step, warmup)
  warm_infer = timed(infer_step, warmup)
  reply(event="ready", warm_train_s=warm_train, warm_infer_s=warm_infer,
        rss_mib=rss_mib(), **ready)
  for line in sys.stdin:
    cmd = line.split()
    if not cmd:
      continue
    if cmd[0] == "quit":
      break
    if cmd[0] not in ("train", "infer") or len(cmd) not in (2, 3):
      reply(event="error", message=f"unknown command {line.strip()!r}")
      continue
    step = train_step if cmd[0] == "train" else infer_step
    c0 = cpu_seconds()
    timed(step, int(cmd[2]) if len(cmd) == 3 else 0)
    times = timed(step, int(cmd[1]))
    reply(event=cmd[0], n=int(cmd[1]), secs=sum(times), step_s=times,
          cpu_secs=cpu_seconds() - c0, rss_mib=rss_mib())
  reply(event="bye", peak_rss_mib=peak_rss_mib())
