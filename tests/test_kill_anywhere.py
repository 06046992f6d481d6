"""The kill-anywhere tool on the codec and encode stages, one kill each: every restart
reaches the uninterrupted run's result and no kill finds a half-written output.

`tools/kill_anywhere.py --kills=24` is the full version (all three stages).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tools'))
import kill_anywhere  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_killed_stages_resume_to_the_uninterrupted_result(tmp_path):
  # Classify is left to the full run: its S3D compiles too slowly for the test suite.
  report = kill_anywhere.run_all(['codec', 'encode'], kills=2, seed=0,
                                 root=str(tmp_path / 'runs'))
  kills = report['kills']
  assert kills['made'] == 2 and kills['restarts'] == 2, report['table']
  assert kills['same_result'] == kills['restarts'], report['table']
  assert kills['partial_outputs_seen'] == 0 and kills['lost_outputs'] == 0, report['table']
  codec, encode = report['stages']['codec'], report['stages']['encode']
  assert codec['trials'][0]['kills'][0]['phase'] == 'checkpoint save'  # --save_kills
  assert codec['trials'][0]['max_abs_diff'] == 0.0
  assert encode['reference']['checkpoint'] is None
  assert '| codec |' in report['table'] and '| encode |' in report['table']
