"""Array operations below the layers: lowerings of one arithmetic chosen for
the backend they run on, so that the model layers (stjax.layers) read as
plain Flax.

cpu_conv: the 2-D convolution on the CPU, with gradients written for XLA
CPU's fast paths (`conv2d` picks the form; elsewhere it is the plain
convolution).
"""
