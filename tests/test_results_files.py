"""The results collectors (tools/*_results.py): a fresh machine that reran some commands
adds its figures to the committed file's with `--carry`, and says which ones it kept."""
import json
import os
import subprocess
import sys

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools')


def _collect(runs, out, *flags):
  subprocess.run([sys.executable, os.path.join(TOOLS, 'augmenter_results.py'),
                  f'--runs={runs}', f'--out={out}', *flags], check=True, capture_output=True)
  return json.loads(out.read_text())


def test_carry_keeps_what_the_runs_here_lack_and_names_its_commit(tmp_path):
  out = tmp_path / 'augmenter.json'
  out.write_text(json.dumps(dict(
      commit='aaa', command='old', missing=['x'], speedup_vs_decode_augment_encode=8.2,
      table4=dict(cr256=dict(nn_crop=40.5, central=13.5), cr32=dict(nn_crop=11.5)))))
  row = tmp_path / 'runs' / 't4_cr256_nn_crop_seed5'
  row.mkdir(parents=True)
  (row / 'results.json').write_text(json.dumps(
      dict(views=dict(crops=4, flips=1), test=dict(top1=33.25))))
  (tmp_path / 'runs' / 't4_cr256_central').mkdir()
  (tmp_path / 'runs' / 't4_cr256_central' / 'results.json').write_text(json.dumps(
      dict(views=dict(crops=1, flips=1), test=dict(top1=20.0))))

  plain = _collect(tmp_path / 'runs', tmp_path / 'plain.json')
  assert plain['table4']['cr256'] == dict(central=20.0, nn_crop_seed5=33.2)
  assert 'carried' not in plain and 'speedup_vs_decode_augment_encode' not in plain

  first = _collect(tmp_path / 'runs', out, '--carry')
  assert first['table4']['cr256'] == dict(central=20.0, nn_crop=40.5, nn_crop_seed5=33.2)
  assert first['table4']['cr32'] == dict(nn_crop=11.5)
  assert first['speedup_vs_decode_augment_encode'] == 8.2
  assert first['carried'] == {'speedup_vs_decode_augment_encode': 'aaa',
                              'table4.cr256.nn_crop': 'aaa', 'table4.cr32.nn_crop': 'aaa'}
  assert first['commit'] != 'aaa' and first['command'].endswith('--carry')
  assert 'runs/t4_cr256_nn_crop/results.json' in ' '.join(first['missing'])

  # Carried again from a later commit's file, an entry keeps the commit that measured it.
  first['commit'] = 'bbb'
  out.write_text(json.dumps(first))
  second = _collect(tmp_path / 'empty', out, '--carry')
  assert second['table4']['cr256']['central'] == 20.0
  assert second['carried']['table4.cr256.nn_crop'] == 'aaa'
  assert second['carried']['table4.cr256.central'] == 'bbb'
