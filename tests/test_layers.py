"""Layers point one way: nothing below `trainers/` imports a trainer, and no trainer
imports another (directly or through other modules)."""
import ast
import os
import subprocess
import sys

import conftest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOWER = ('data', 'models', 'train_lib', 'evaluators', 'tasks', 'configs')


def _modules() -> dict[str, str]:
  """{'cvision.x.y': path} for every module of the package."""
  found = {}
  for folder, _, names in os.walk(os.path.join(ROOT, 'cvision')):
    for name in names:
      if name.endswith('.py'):
        path = os.path.join(folder, name)
        dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
        found[dotted.removesuffix('.__init__')] = path
  return found


def _imports(path: str, modules) -> set[str]:
  """The cvision modules a file imports (module-level or inside functions)."""
  out = set()
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
      names = [node.module] + [f'{node.module}.{a.name}' for a in node.names]
    else:
      continue
    out |= {n for n in names if n in modules}
  return out


def _layer(name: str) -> str:
  """'data' for cvision.data.x, 'main' for cvision.main, '' for the package itself."""
  return (name.split('.') + [''])[1]


def _reaches(start: str, graph) -> set[str]:
  seen, todo = set(), [start]
  while todo:
    for name in graph[todo.pop()] - seen:
      seen.add(name)
      todo.append(name)
  return seen


def test_no_lower_module_reaches_a_trainer_and_no_trainer_another():
  modules = _modules()
  graph = {name: _imports(path, modules) for name, path in modules.items()}
  trainers = {n for n in modules if n.startswith('cvision.trainers.')}
  for name in modules:
    reached = _reaches(name, graph) & trainers
    if _layer(name) in LOWER:
      assert not reached, f'{name} imports trainers: {sorted(reached)}'
    elif name in trainers:
      assert not reached - {name}, f'{name} imports other trainers: {sorted(reached)}'
  assert graph['cvision.provision'] & trainers  # provisioning sits above the trainers


def test_importing_every_lower_module_loads_no_trainer():
  """The same check at run time, in a fresh interpreter (catches dynamic imports)."""
  lower = sorted(n for n in _modules() if _layer(n) in LOWER)
  script = ('import importlib, sys\n'
            f'for name in {lower!r}:\n  importlib.import_module(name)\n'
            "print(sorted(m for m in sys.modules if m.startswith('cvision.trainers')))\n")
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS=conftest.FAST_COMPILE)
  result = subprocess.run([sys.executable, '-'], input=script, capture_output=True, text=True,
                          env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip() == '[]'
