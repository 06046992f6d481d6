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


# Written by the collector itself, never carried from an older file.
_OWN_KEYS = ('commit', 'command', 'missing', 'carried')


def carry_over(new: dict, old: dict, prefix: str = '') -> list[str]:
  """Adds to `new` every entry only `old` has, looking inside the dicts both have; returns
  the dotted names of the entries carried. What `new` holds wins."""
  carried = []
  for key, value in old.items():
    if not prefix and key in _OWN_KEYS:
      continue
    if key not in new:
      new[key] = value
      carried.append(prefix + key)
    elif isinstance(value, dict) and isinstance(new[key], dict):
      carried += carry_over(new[key], value, f'{prefix}{key}.')
  return carried


def main(collect, doc: str, name: str):
  """The collector's command line: `--runs` (where the commands wrote) and `--out`
  (`docs/results/<name>.json`); writes what `collect(runs)` returns and says what is
  missing. With `--carry`, what the runs here lack is kept from `--out` as it was (a
  machine that reran only some commands adds its figures to the others'), and the
  output's `carried` maps each entry kept to the commit whose collection wrote it."""
  parser = argparse.ArgumentParser(description=doc.splitlines()[0])
  parser.add_argument('--runs', default=os.path.join(ROOT, 'runs'))
  parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'results', f'{name}.json'))
  parser.add_argument('--carry', action='store_true',
                      help='keep the entries of --out that the runs here lack')
  args = parser.parse_args()
  result = collect(args.runs)
  if args.carry and os.path.exists(args.out):
    old = read(args.out, [])
    earlier = old.get('carried', {})
    origin = lambda entry: next((commit for name, commit in earlier.items()
                                 if entry == name or entry.startswith(name + '.')),
                                old.get('commit'))
    carried = {entry: origin(entry) for entry in carry_over(result, old)}
    if carried:
      result['carried'] = carried
    result['command'] += ' --carry'
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(result, f, indent=1)
    f.write('\n')
  print(f'wrote {args.out}' + (f' (missing: {result["missing"]})' if result.get('missing')
                               else ''))
