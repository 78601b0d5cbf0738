"""Training: the train and eval steps, optimizers, the loop, checkpoints,
the mesh, and what the benchmark measures."""
