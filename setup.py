from setuptools import find_packages, setup

setup(
    name="stjax",
    version="0.1.0",
    description="Spatiotemporal predictive learning in JAX/Flax: SimVP, TAU "
                "and friends, faithful to OpenSTL and faster.",
    # Only the library: experiments/ (configs, download scripts, the
    # `python -m experiments.*` shims) is read from the checkout, so no
    # top-level `experiments` package collides with a user's own.
    packages=find_packages(include=["stjax", "stjax.*"]),
    entry_points={"console_scripts": [
        "stjax-train=stjax.cli.train:run",
        "stjax-benchmark=stjax.cli.benchmark:run",
        "stjax-transfer=stjax.cli.transfer:run",
        "stjax-predict=stjax.cli.predict:run",
        "stjax-compare-openstl=stjax.cli.compare_openstl:run",
        "stjax-list=stjax.cli.catalog:run",
    ]},
    package_data={"stjax.data": ["assets/*.npz", "assets/*.md"]},
    # orbax-checkpoint's pinned range has no release for Python 3.10
    python_requires=">=3.11",
    install_requires=[
        "jax>=0.10.2,<0.11", "flax>=0.12.8,<0.13", "optax>=0.2.8,<0.3",
        "orbax-checkpoint>=0.12.8,<0.13", "grain>=0.2.18,<0.3",
        "ml_collections>=1.1", "absl-py>=2.1", "numpy>=2.0", "pillow>=10",
        "tqdm>=4.66", "tensorboardX>=2.6", "h5py>=3.10", "hickle>=5.0",
        "chex>=0.1.90",
    ],
    extras_require={
        # the test command's tools: real-format test files, the notebooks,
        # the docs site (built with -W by the tests); no PyTorch
        "test": ["pytest>=8", "scikit-image>=0.24", "h5netcdf>=1.3",
                 "nbformat>=5.9", "nbclient>=0.10", "ipykernel>=6.29",
                 "sphinx>=8", "myst-nb>=1.2", "sphinx-book-theme>=1.1"],
        # NVIDIA GPUs: JAX's CUDA 12 build, in the tested range
        "gpu": ["jax[cuda12]>=0.10.2,<0.11"],
        # TPU VMs (and Colab's TPU runtime): libtpu, in the tested range
        "tpu": ["jax[tpu]>=0.10.2,<0.11"],
        # experiments.compare_openstl: the PyTorch reference side and what
        # OpenSTL's model package imports (docs: Speed)
        "compare": ["torch>=2.1", "opencv-python-headless", "matplotlib",
                    "imageio", "fvcore", "einops", "PyWavelets", "scipy",
                    "timm"],
        # TFDS video features need TensorFlow to decode (docs: Datasets)
        "tfds": ["tensorflow-cpu>=2.16", "tensorflow-datasets>=4.9.5",
                 "importlib_resources"]},
)
