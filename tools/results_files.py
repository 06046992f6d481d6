"""What the results collectors (tools/*_results.py) share: reading the JSON files the
commands wrote, noting those that are missing, and naming the commit they describe."""
import argparse
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


def main(collect, doc: str, name: str):
  """The collector's command line: `--runs` (where the commands wrote) and `--out`
  (`docs/results/<name>.json`); writes what `collect(runs)` returns and says what is
  missing."""
  parser = argparse.ArgumentParser(description=doc.splitlines()[0])
  parser.add_argument('--runs', default=os.path.join(ROOT, 'runs'))
  parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'results', f'{name}.json'))
  args = parser.parse_args()
  result = collect(args.runs)
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(result, f, indent=1)
    f.write('\n')
  print(f'wrote {args.out}' + (f' (missing: {result["missing"]})' if result.get('missing')
                               else ''))
