"""Configs that follow a seed paper's own protocol (its authors' code where
the paper is silent), one folder per paper, one file per table row. The
configs under experiments/configs/<dataset>/ follow OpenSTL's recipes."""
