"""Runs the two-process tests (tests/test_multihost.py) and records what they asserted.

python tools/two_process_check.py --out=runs/scale/two_process.json

The tests start two localhost processes with 4 simulated CPU devices each as one JAX run
(gloo collectives), and check, against one process with 8 devices: each host's own rows,
equal parameters after N steps (atol 1e-5), and checkpoints that resume across the two
topologies. `equal` is true when every one of them passed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', default=os.path.join(ROOT, 'runs', 'scale', 'two_process.json'))
  args = parser.parse_args()
  started = time.time()
  with tempfile.TemporaryDirectory() as tmp:
    junit = os.path.join(tmp, 'junit.xml')
    subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                    f'--junitxml={junit}', 'tests/test_multihost.py'], cwd=ROOT, check=False)
    cases = ET.parse(junit).getroot().iter('testcase')
    tests = {case.get('name'): ('failed' if case.find('failure') is not None
                                or case.find('error') is not None else
                                'skipped' if case.find('skipped') is not None else 'passed')
             for case in cases}
  report = dict(equal=bool(tests) and all(v == 'passed' for v in tests.values()), tests=tests,
                seconds=round(time.time() - started),
                command='python tools/two_process_check.py --out=' + os.path.relpath(
                    args.out, ROOT))
  os.makedirs(os.path.dirname(args.out), exist_ok=True)
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(report, f, indent=1)
  print(json.dumps(report, indent=1))
  sys.exit(0 if report['equal'] else 1)


if __name__ == '__main__':
  main()
