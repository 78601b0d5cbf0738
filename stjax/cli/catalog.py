"""What stjax has: the registered models, datasets, metrics and loss terms,
and the configs with their one-line description and variants.

  python -m experiments.list [--configs_only] [--filter=mmnist]

(`stjax-list` once installed.) Configs are listed from the checkout's
experiments/configs (the current directory's, else the one stjax is
installed from); pass any of them to --config by name, e.g.
--config=mmnist/tau:smoke.
"""
from __future__ import annotations

import ast
import pathlib

from absl import flags

from stjax import cli

_FILTER = flags.DEFINE_string("filter", "", "Show only the configs whose name contains this.")
_CONFIGS_ONLY = flags.DEFINE_bool("configs_only", False, "List the configs alone.")


def _variants(tree) -> tuple[str, ...]:
  for node in tree.body:
    if (isinstance(node, ast.Assign) and
        any(getattr(t, "id", "") == "VARIANTS" for t in node.targets)):
      return tuple(ast.literal_eval(node.value))
  return ()


def config_files(root: pathlib.Path) -> list[tuple[str, str, tuple[str, ...]]]:
  """(name, first docstring line, variants) of every config under
  root/experiments/configs: the files with a get_config."""
  base = root / "experiments" / "configs"
  out = []
  for path in sorted(base.rglob("*.py")):
    if path.name == "__init__.py":
      continue
    tree = ast.parse(path.read_text())
    if not any(isinstance(n, ast.FunctionDef) and n.name == "get_config"
               for n in tree.body):
      continue
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    package = (path.parent / "__init__.py")
    # A file's own VARIANTS, else its package's, else ":smoke".
    variants = _variants(tree) or ("smoke",)
    if package.is_file() and "VARIANTS" in package.read_text():
      variants = _variants(tree) or _variants(ast.parse(package.read_text()))
    name = str(path.relative_to(base).with_suffix(""))
    out.append((name, doc[0] if doc else "", variants))
  return out


def catalog(root: pathlib.Path | None, text: str = "",
            configs_only: bool = False) -> str:
  """The listing, as printed."""
  # pylint: disable=import-outside-toplevel
  import stjax.data  # noqa: F401  (registrations)
  import stjax.losses  # noqa: F401
  import stjax.metrics  # noqa: F401
  from stjax.errors import ConfigError
  from stjax.models import family
  from stjax.registry import DATASETS, LOSS_TERMS, METRICS, MODELS
  lines = []
  if not configs_only:
    lines.append("models (model.name, family, registered by):")
    def kind(name):
      try:
        return family(name)
      except ConfigError:  # registered without register_model
        return "no family"
    lines += [f"  {n:<16} {kind(n):<10} {MODELS.module_of(n)}" for n in MODELS]
    for title, registry in (("datasets (data.name)", DATASETS),
                            ("metrics (eval.metrics)", METRICS),
                            ("loss terms (loss.terms)", LOSS_TERMS)):
      lines.append(f"{title}: " + ", ".join(registry))
  if root is None:
    lines.append("configs: no experiments/configs here or beside the "
                 "installed stjax; run from a checkout.")
    return "\n".join(lines)
  rows = [r for r in config_files(root) if text in r[0]]
  width = max((len(r[0]) for r in rows), default=10)
  lines.append(f"configs (--config=NAME[:variant], in {root / 'experiments' / 'configs'}):")
  lines += [f"  {name:<{width}}  {doc}  [{', '.join(':' + v for v in variants)}]"
            for name, doc, variants in rows]
  return "\n".join(lines)


def main(argv) -> int:
  del argv
  here = pathlib.Path.cwd()
  root = here if (here / "experiments" / "configs").is_dir() else cli.checkout_root()
  print(catalog(root, _FILTER.value, _CONFIGS_ONLY.value))
  return 0


def run() -> None:
  """The console script `stjax-list`."""
  cli.run(main)
