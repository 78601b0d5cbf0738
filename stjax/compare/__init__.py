"""Side-by-side speed of stjax and a PyTorch reference (OpenSTL) on identical
configurations: `python -m experiments.compare_openstl` (stjax.cli.compare_openstl).

Two worker processes, one per side, each compiled or warmed up before any
timing; the driver (driver.py) times one side at a time. stjax's worker is
stjax.cli.compare_worker (it runs the benchmark's preparation); the PyTorch
worker (torch_worker.py, with protocol.py) imports nothing from stjax or JAX,
so it runs in any Python that has torch. Nothing here imports JAX or torch at
import time.
"""
