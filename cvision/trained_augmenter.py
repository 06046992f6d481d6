"""A trained latent augmenter loaded from its workdir, bound to the codec it was made for.

The `augmenter` stage writes `augmenter.json` (model fields, code grid, trained ranges of
θ, and the fingerprint of its codec) next to its checkpoints. An augmenter has learned
one codec's codes: `load` refuses it for any other codec, and `augment` refuses θ
outside the trained ranges rather than extrapolating in silence.
"""
import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from cvision import atomic_files, errors, trained_codec
from cvision.models import augmenter as augmenter_lib
from cvision.tasks import augment
from cvision.train_lib import checkpoint, state as state_lib

INFO_FILE = 'augmenter.json'


def read_info(workdir: str):
  """The `augmenter.json` of `workdir` as a dict, or None when there is none."""
  return atomic_files.read_json(os.path.join(workdir, INFO_FILE))


def make_info(config, codec) -> dict:
  """What `load` needs, and what makes an augmenter this one: model, grid, ranges, codec."""
  a = config.augment
  grid = codec.code_shape(codec.model.time_factor, codec.size, codec.size)[1:]
  return dict(model=config.model.to_dict(), grid=list(grid), codec=codec.fingerprint,
              ranges=dict(min_crop=a.min_crop, brightness=a.brightness,
                          saturation=list(a.saturation), rotation_degrees=a.rotation_degrees),
              train={k: v for k, v in config.train.to_dict().items()
                     if k not in ('log_every', 'ckpt_every')})


def write_info(workdir: str, info: dict):
  """Records `info`; a workdir holding another augmenter (other fields) is refused: its
  checkpoints would be resumed as this one's. An older record of the same augmenter is
  first rewritten as today's code writes it (`_model_fields`)."""
  old = read_info(workdir)
  if old is not None and _model_fields(old['model']) != old['model']:
    atomic_files.write_json(os.path.join(workdir, INFO_FILE),
                            dict(old, model=_model_fields(old['model'])), indent=2)
  checkpoint.claim_workdir(workdir, info, INFO_FILE, 'another augmenter')


def _model_fields(model: dict) -> dict:
  """`model` as this code records it: augmenters trained before the bilinear pre-warp
  recorded it as a bool (True: nearest), and before `offsets` and `output` existed had
  none (they had no offsets and output codes)."""
  m = dict(model)
  if isinstance(m.get('prewarp', False), bool):
    m['prewarp'] = 'nearest' if m.get('prewarp', False) else 'none'
  m.setdefault('offsets', False)
  m.setdefault('output', 'codes')
  return m


def make_model(info: dict) -> augmenter_lib.Augmenter:
  m = _model_fields(info['model'])
  return augmenter_lib.Augmenter(grid=tuple(info['grid']), width=m['width'], depth=m['depth'],
                                 heads=m['heads'], mlp_hidden=tuple(m['mlp_hidden']),
                                 keep_init=m['keep_init'], prewarp=m['prewarp'],
                                 offsets=m['offsets'], output=m['output'])


def make_ranges(info: dict) -> augment.Ranges:
  r = info['ranges']
  return augment.Ranges(r['min_crop'], r['brightness'], tuple(r['saturation']),
                        r['rotation_degrees'])


def init_fn(model, tx, codec, frames: int):
  """`rng -> TrainState` of `model` on the codes of `frames`-frame clips of `codec`."""
  shape = (1, *codec.code_shape(frames, codec.size, codec.size), codec.code_channels)
  codebooks = jnp.asarray(codec.codebooks)

  def init(rng):
    v = model.init(rng, jnp.zeros(shape, jnp.int32), jnp.zeros((1, augmenter_lib.THETA_SIZE)),
                   codebooks)
    return state_lib.TrainState.create(v['params'], tx)
  return init


@dataclasses.dataclass
class TrainedAugmenter:
  model: augmenter_lib.Augmenter
  params: dict
  ranges: augment.Ranges
  codebooks: jnp.ndarray  # the codec's, `[N, K, D]`
  step: int

  @property
  def fingerprint(self) -> str:
    return trained_codec.fingerprint(self.params, {})

  def __post_init__(self):
    self._augment = jax.jit(functools.partial(augment.augment_codes, model=self.model))
    self._both = jax.jit(functools.partial(augment.augment_codes_and_embeddings,
                                           model=self.model))

  def augment(self, codes: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """`a(codes, θ)`: codes `[B, T', H', W', N]`, θ `[B, THETA_SIZE]` (checked against the
    trained ranges) -> int32 codes of the same shape."""
    return np.asarray(self._apply(self._augment, codes, theta))

  def codes_and_embeddings(self, codes: np.ndarray, theta: np.ndarray) -> tuple:
    """`augment`'s codes and `a(codes, θ)` as the frozen decoder reads it
    (`augment.augment_embeddings`, `[B, T', H', W', N * D]`), from one pass."""
    return tuple(np.asarray(x) for x in self._apply(self._both, codes, theta))

  def _apply(self, fn, codes, theta):
    theta = np.asarray(theta, np.float32).reshape(len(codes), augmenter_lib.THETA_SIZE)
    self.ranges.check(theta)
    return fn(self.params, jnp.asarray(codes, jnp.int32), jnp.asarray(theta), self.codebooks)


def load(workdir: str, codec) -> TrainedAugmenter:
  """The newest checkpoint of the augmenter in `workdir`, for `codec` (another codec's
  augmenter is refused: its codes mean nothing to this one)."""
  info = read_info(workdir)
  if info is None:
    raise errors.MissingInput(f'no trained augmenter in {workdir} ({INFO_FILE} missing); run '
                              f'the augmenter stage with --workdir={workdir} first')
  if info['codec'] != codec.fingerprint:
    raise errors.InputError(f'the augmenter in {workdir} was trained on the codes of codec '
                            f'{info["codec"]}, not of this codec ({codec.fingerprint}): '
                            f'train one for this codec')
  model = make_model(info)
  tx = state_lib.make_optimizer(ml_collections.ConfigDict(info['train']))
  init = init_fn(model, tx, codec, codec.model.time_factor)
  step, restored = checkpoint.load_latest(workdir, jax.eval_shape(init, jax.random.key(0)))
  return TrainedAugmenter(model, restored.params, make_ranges(info),
                          jnp.asarray(codec.codebooks), step)
