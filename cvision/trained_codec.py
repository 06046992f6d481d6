"""A trained codec loaded from its workdir: jitted encode/decode and a fingerprint.

The codec stage writes `codec.json` (model fields, training clip shape) next to its
checkpoints; everything downstream (evaluation, encoding, decoding) loads the codec from
there, so nothing is retrained and a codes store can record exactly which codec made it.
"""
import dataclasses
import functools
import hashlib
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, errors
from cvision.configs import codec as codec_configs
from cvision.models import vqvae
from cvision.train_lib import checkpoint, state as state_lib

INFO_FILE = 'codec.json'


def fingerprint(params, variables) -> str:
  """sha256 over every weight and codebook: two codecs share it only if identical."""
  digest = hashlib.sha256()
  leaves = jax.tree_util.tree_leaves_with_path({'params': params, 'variables': variables})
  for path, leaf in leaves:
    digest.update(jax.tree_util.keystr(path).encode())
    digest.update(np.ascontiguousarray(np.asarray(leaf, np.float32)).tobytes())
  return digest.hexdigest()[:32]


def _architecture(model_fields: dict) -> dict:
  """Every field of the codec, defaults filled in: what its checkpoints depend on."""
  model = vqvae.VQVAE(**model_fields)
  return {f.name: getattr(model, f.name) for f in dataclasses.fields(vqvae.VQVAE)
          if f.name not in ('parent', 'name')}


def configured_workdir(config, workdir: str) -> str:
  """Where a stage's codec lives: `config.codec.workdir`, or `<workdir>/codec` if ''."""
  return config.codec.workdir or os.path.join(workdir, 'codec')


def read_info(workdir: str):
  """The `codec.json` of `workdir` as a dict, or None when there is none."""
  return atomic_files.read_json(os.path.join(workdir, INFO_FILE))


def write_info(workdir: str, config):
  """Records what `load` needs to rebuild the codec and its train state.

  A workdir that already holds another codec (other model fields or clip size) is
  refused: its checkpoints would be resumed as this one's, silently when the parameter
  shapes agree (e.g. a changed `shortcuts`).
  """
  info = dict(model=config.model.to_dict(), train=config.train.to_dict(),
              frames=config.data.frames, size=config.data.size)
  theirs = read_info(workdir)
  if theirs is not None:
    mine, old = _architecture(info['model']), _architecture(theirs['model'])
    differ = sorted(k for k in mine if mine[k] != old[k])
    differ += [k for k in ('frames', 'size') if theirs.get(k) != info[k]]
    if differ:
      raise errors.ConfigError(f'{workdir} holds another codec ({", ".join(differ)} differ); use '
                       f'another --workdir, or delete {workdir} to retrain there')
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(os.path.join(workdir, INFO_FILE), info, indent=2)


def unfinished(workdir: str):
  """(checkpoint step, planned steps) of a codec whose training stopped part way (a
  killed run, or one still running); None when it finished or was never started."""
  info = read_info(workdir)
  if info is None:
    return None
  planned = info['train']['steps']
  step = checkpoint.latest_step(workdir) or 0
  return (step, planned) if step < planned else None


@dataclasses.dataclass
class TrainedCodec:
  model: vqvae.VQVAE
  params: dict
  variables: dict
  size: int
  step: int
  fingerprint: str

  def __post_init__(self):
    # The weights are arguments, not constants baked into the compiled programs.
    self._encode = jax.jit(functools.partial(self.model.apply, method=vqvae.VQVAE.encode))
    self._decode = jax.jit(functools.partial(self.model.apply, method=vqvae.VQVAE.decode))
    self._decode_embeddings = jax.jit(functools.partial(
        self.model.apply, method=vqvae.VQVAE.decode_embeddings))

  @property
  def weights(self) -> dict:
    """The model's variables as `model.apply` takes them."""
    return {'params': self.params, **self.variables}

  @property
  def code_channels(self) -> int:
    return self.model.codebooks

  @property
  def codebooks(self) -> np.ndarray:
    """The frozen codebook vectors `[N, K, D]` that give codes their embeddings."""
    found = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(self.variables['vq'])
             if jax.tree_util.keystr(path).endswith("['embed']")]
    if len(found) != 1:
      raise ValueError(f'expected one codebook array in the codec, found {len(found)}')
    return np.asarray(found[0])

  def encode(self, video: np.ndarray) -> np.ndarray:
    """uint8 `[B, T, H, W, 3]` -> int32 codes `[B, T', H', W', N]`."""
    return np.asarray(self._encode(self.weights, jnp.asarray(video, jnp.float32) / 255.0))

  def decode(self, codes: np.ndarray) -> np.ndarray:
    """codes -> float `[B, T, H, W, 3]` clipped to [0, 1]."""
    return np.clip(np.asarray(self._decode(self.weights, jnp.asarray(codes, jnp.int32))),
                   0.0, 1.0)

  def decode_embeddings(self, embeddings: np.ndarray) -> np.ndarray:
    """Code vectors `[B, T', H', W', N * D]` (a network's, not only the codebook's) ->
    float `[B, T, H, W, 3]` clipped to [0, 1]."""
    return np.clip(np.asarray(self._decode_embeddings(self.weights, jnp.asarray(
        embeddings, jnp.float32))), 0.0, 1.0)

  def code_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
    t, s = self.model.time_factor, self.model.space_factor
    return frames // t, height // s, width // s

  def compression_rate(self, frames: int, height: int, width: int) -> float:
    ct, ch, cw = self.code_shape(frames, height, width)
    return vqvae.compression_rate(frames, height, width, ct, ch, cw,
                                  self.model.codebooks, self.model.codebook_size)


def load(workdir: str) -> TrainedCodec:
  """Loads the newest checkpoint of the codec trained in `workdir`."""
  info = read_info(workdir)
  if info is None:
    raise errors.MissingInput(f'no trained codec in {workdir} ({INFO_FILE} missing); run the '
                            f'codec stage with --workdir={workdir} first')
  model = vqvae.VQVAE(**info['model'])
  t = model.time_factor
  dummy = jnp.zeros((1, t, info['size'], info['size'], 3))

  train = codec_configs.base().train  # defaults for fields older runs did not record
  train.update({k: v for k, v in info['train'].items() if k in train})
  tx = state_lib.make_optimizer(train)

  def init(rng):
    v = model.init({'params': rng}, dummy)
    return state_lib.TrainState.create(v['params'], tx, {'vq': v['vq']})

  abstract = jax.eval_shape(init, jax.random.key(0))
  step, restored = checkpoint.load_latest(workdir, abstract)
  return TrainedCodec(model, restored.params, restored.variables, info['size'], step,
                      fingerprint(restored.params, restored.variables))

