"""What the results collectors (tools/*_results.py) share: reading the JSON files the
commands wrote, noting those that are missing, and naming the commit they describe."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path: str, missing: list):
  """The JSON in `path`, or None with `path` added to `missing` (the output says so)."""
  if not os.path.exists(path):
    missing.append(os.path.relpath(path, ROOT))
    return None
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def header(commands: list[str], short: bool = False) -> dict:
  """`{commit, command}`: the checkout the figures come from, and the commands, joined."""
  commit = subprocess.run(['git', 'rev-parse', *(['--short'] if short else []), 'HEAD'],
                          cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
  return dict(commit=commit, command=' && '.join(commands))
