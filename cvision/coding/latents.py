"""Arithmetic coding of latent chunks under the gated PixelCNN prior.

A chunk's latents `[T, h, w, K]` (integers in [0, L)) become one range-coder stream
(constriction). Frames go in order, each conditioned on the ones before (the prior's
`advance`). Within a frame the decoder cannot take one symbol at a time (h * w * K
network passes per frame); instead every latent whose context is complete is decoded in
the same step, a wavefront: position (i, j), channel group g is decodable at step

    groups * (j + (reach + 1) * i) + g,

where `reach` is how far right the prior reads in the rows above (`right_reach`; a test
checks the whole schedule against the prior's Jacobian). The encoder knows every
latent, so one masked pass per frame gives all its probabilities, and it codes the
symbols in the decoder's order: by step, then row-major within a step.

Both sides run the prior on the CPU backend, on exactly `rows` chunks at a time (padded),
so the same compiled program computes every probability on both sides, and turn its
logits into integer tables (`tables`); an undecoded latent gets exactly zero weight from
the masks, so it cannot change a probability.
"""
import collections
import dataclasses
import functools
import time

import constriction
import jax
import numpy as np

from cvision.coding import tables
from cvision.models import pixelcnn


def schedule(height: int, width: int, channels: int, groups: int, reach: int):
  """`(order, starts)`: flat (i, j, k) indices sorted by decoding step, and where each
  step's run begins in `order` (`starts[s]:starts[s + 1]`)."""
  i, j, k = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels),
                        indexing='ij')
  group = pixelcnn.channel_groups(channels, groups)[k]
  step = (groups * (j + (reach + 1) * i) + group).reshape(-1)
  order = np.argsort(step, kind='stable')
  starts = np.searchsorted(step[order], np.arange(step.max() + 2))
  return order, starts


@dataclasses.dataclass
class LatentCoder:
  """Codes chunks of latents with a trained prior; `rows` chunks per prior call."""
  prior: pixelcnn.GatedPixelCNN
  params: dict
  centers: np.ndarray
  rows: int = 8

  def __post_init__(self):
    self._cpu = jax.devices('cpu')[0]
    self.params = jax.device_put(self.params, self._cpu)
    self.centers = np.asarray(self.centers, np.float32)
    apply = functools.partial(self.prior.apply, {'params': self.params})
    self._logits = jax.jit(lambda v, s: apply(v, s, method=pixelcnn.GatedPixelCNN.logits))
    self._advance = jax.jit(lambda s, v: apply(s, v, method=pixelcnn.GatedPixelCNN.advance))
    # Seconds spent in the prior network and in the tables + range coder (benchmarks).
    self.seconds = collections.Counter()

  def _plan(self, shape):
    _, height, width, channels = shape
    return schedule(height, width, channels, self.prior.groups, self.prior.right_reach)

  def _logits_of(self, values, state) -> np.ndarray:
    start = time.perf_counter()
    out = np.asarray(self._logits(values, state))
    self.seconds['prior'] += time.perf_counter() - start
    return out.reshape(out.shape[0], -1, out.shape[-1])

  def encode(self, latents: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """int latents `[n, T, h, w, K]` -> (n uint32 streams, estimated bits per chunk under
    the prior's float probabilities)."""
    latents = np.asarray(latents, np.int32)
    order, _ = self._plan(latents.shape[1:])
    streams, estimated = [], []
    for start in range(0, len(latents), self.rows):
      group = _padded(latents[start:start + self.rows], self.rows)
      real = min(self.rows, len(latents) - start)
      logits = []
      state = self._initial_state(group.shape)
      for t in range(group.shape[1]):
        values = jax.device_put(self.centers[group[:, t]], self._cpu)
        logits.append(self._logits_of(values, state)[:, order])
        state = self._advance(state, values)
      logits = np.stack(logits, 1)  # [rows, T, h*w*K, L] in decoding order
      for c in range(real):
        symbols = group[c].reshape(group.shape[1], -1)[:, order].reshape(-1)
        chunk_logits = logits[c].reshape(-1, logits.shape[-1])
        began = time.perf_counter()
        encoder = constriction.stream.queue.RangeEncoder()
        encoder.encode(symbols, tables.MODEL_FAMILY, tables.probabilities(chunk_logits))
        streams.append(encoder.get_compressed())
        self.seconds['coder'] += time.perf_counter() - began
        estimated.append(_bits(chunk_logits, symbols))
    return streams, np.asarray(estimated)

  def decode(self, streams: list[np.ndarray], frames: int, height: int,
             width: int) -> np.ndarray:
    """uint32 streams -> int latents `[n, frames, height, width, K]`."""
    k = self.prior.latent_channels
    order, starts = self._plan((frames, height, width, k))
    out = np.zeros((len(streams), frames, height, width, k), np.int32)
    for start in range(0, len(streams), self.rows):
      decoders = [constriction.stream.queue.RangeDecoder(s)
                  for s in streams[start:start + self.rows]]
      shape = (self.rows, frames, height, width, k)
      state = self._initial_state(shape)
      for t in range(frames):
        frame = np.zeros((self.rows, height * width * k), np.int32)
        for s in range(len(starts) - 1):
          values = jax.device_put(self.centers[frame.reshape(self.rows, height, width, k)],
                                  self._cpu)
          where = order[starts[s]:starts[s + 1]]
          logits = self._logits_of(values, state)[:, where]
          began = time.perf_counter()
          for c, decoder in enumerate(decoders):
            frame[c, where] = _decode(decoder, logits[c], start + c)
          self.seconds['coder'] += time.perf_counter() - began
        values = self.centers[frame.reshape(self.rows, height, width, k)]
        out[start:start + len(decoders), t] = frame[:len(decoders)].reshape(
            -1, height, width, k)
        state = self._advance(state, jax.device_put(values, self._cpu))
    return out

  def _initial_state(self, shape):
    rows, _, h, w, _ = shape
    return jax.device_put(np.zeros((rows, h, w, self.prior.state_channels), np.float32),
                          self._cpu)


class StreamError(ValueError):
  """constriction refused a stream (a corrupt payload); `chunk` says which."""

  def __init__(self, chunk: int, error: Exception):
    super().__init__(f'chunk {chunk}: {error}')
    self.chunk = chunk


def _decode(decoder, logits: np.ndarray, chunk: int) -> np.ndarray:
  try:
    return decoder.decode(tables.MODEL_FAMILY, tables.probabilities(logits))
  except (ValueError, RuntimeError, AssertionError, OverflowError) as e:
    raise StreamError(chunk, e) from e


def _padded(latents: np.ndarray, rows: int) -> np.ndarray:
  if len(latents) == rows:
    return latents
  pad = np.zeros((rows - len(latents),) + latents.shape[1:], latents.dtype)
  return np.concatenate([latents, pad])


def _bits(logits: np.ndarray, symbols: np.ndarray) -> float:
  """-log2 p(symbols) under the float softmax of `logits` (the prior's own estimate)."""
  logits = logits.astype(np.float64)
  logp = logits - logits.max(-1, keepdims=True)
  logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
  return float(-logp[np.arange(len(symbols)), symbols].sum() / np.log(2.0))
