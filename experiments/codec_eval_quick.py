"""Evaluate the trained quick codec against JPEG/H.264/H.265 (no retraining).

python -m cvision.main --config=experiments/codec_eval_quick.py --workdir=runs/codec_quick

New files: --config.eval.videos=/path/to/folder_or_glob. Writes eval/rd_points.json,
eval/rd_table.md and eval/rd_curve.png in the workdir.
"""
from cvision.configs import codec


def get_config(arg=None):
  del arg
  c = codec.eval_base()
  c.codec.workdir = 'runs/codec_quick'
  return c
