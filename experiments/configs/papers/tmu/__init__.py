"""The TMU paper's protocol (Yao et al. 2020, paper 000) and its authors'
code (thuml/transferable-memory), for experiments.transfer."""
