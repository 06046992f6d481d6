"""The RD codec: quantiser, causal prior, integer tables, coder, `.cvz` files, round trips."""
import os
import subprocess
import sys
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvision import errors, trained_rdcodec
from cvision.coding import container, latents as latent_coding, tables, video as video_coding
from cvision.evaluators import bd_rate
from cvision.models import pixelcnn, rdae

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_info(context='last', groups=2, rows=3, temporal=True) -> dict:
  return dict(model=dict(temporal=temporal, width=8, res_blocks=1, latent_channels=4,
                         levels=4, sharpness=1.0),
              prior=dict(context=context, features=8, layers=2, groups=groups, kernel=3),
              chunk_frames=2, train_size=16, prior_rows=rows,
              loss=dict(beta=0.1, distortion='ms_ssim'), train=dict(steps=1))


@pytest.fixture(scope='module')
def codec():
  return trained_rdcodec.initialised(tiny_info(), seed=1)


def random_video(seed: int, frames=5, height=21, width=27) -> np.ndarray:
  rng = np.random.default_rng(seed)
  base = rng.integers(0, 255, (1, height, width, 3))
  noise = rng.integers(-20, 20, (frames, height, width, 3))
  return np.clip(base + noise, 0, 255).astype(np.uint8)


def test_quantizer_forward_is_nearest_centre_and_backward_is_soft():
  q = rdae.ScalarQuantizer(levels=5, sharpness=2.0)
  z = jnp.array([-3.0, -0.9, 0.1, 0.6, 2.5])
  params = q.init(jax.random.key(0), z)
  centers = params['params']['centers']
  values, indices, assignment = q.apply(params, z)
  np.testing.assert_array_equal(assignment, jax.nn.one_hot(indices, 5))
  nearest = jnp.argmin(jnp.abs(z[:, None] - centers), -1)
  np.testing.assert_array_equal(indices, nearest)
  np.testing.assert_array_equal(values, centers[nearest])

  def soft(z):
    w = jax.nn.softmax(-2.0 * (z[:, None] - centers) ** 2, -1)
    return jnp.sum(w * centers, -1)
  grad = jax.grad(lambda z: jnp.sum(q.apply(params, z)[0] * jnp.arange(5.0)))(z)
  expected = jax.grad(lambda z: jnp.sum(soft(z) * jnp.arange(5.0)))(z)
  np.testing.assert_allclose(grad, expected, rtol=1e-6)
  assert np.all(np.abs(grad[1:4]) > 0)  # the argmin alone would give zero
  # q(z|x): one-hot forward, the softmax's gradient backward (the rate reaches the encoder).
  rate_grad = jax.grad(lambda z: jnp.sum(q.apply(params, z)[2][:, 0]))(z)
  assert np.all(np.isfinite(rate_grad)) and np.any(rate_grad != 0)


@pytest.mark.parametrize('context,groups', [('frame', 1), ('last', 2), ('gru', 4)])
def test_prior_reads_only_what_the_decoder_has_decoded(context, groups):
  """Every dependency of every probability comes from an earlier decoding step."""
  prior = pixelcnn.GatedPixelCNN(latent_channels=4, levels=3, features=8, layers=2,
                                 groups=groups, context=context)
  params = prior.init(jax.random.key(0), jnp.zeros((1, 2, 5, 6, 4)))
  state = jax.random.normal(jax.random.key(1), (1, 5, 6, prior.state_channels))
  x = jax.random.normal(jax.random.key(2), (1, 5, 6, 4))
  jac = jax.jacrev(lambda x: prior.apply(params, x, state, method=prior.logits).sum(-1))(x)
  jac = np.abs(np.asarray(jac))[0, ..., 0, :, :, :]  # [5, 6, 4 (out), 5, 6, 4 (in)]
  order, starts = latent_coding.schedule(5, 6, 4, groups, prior.right_reach)
  step = np.empty(5 * 6 * 4, int)
  for s in range(len(starts) - 1):
    step[order[starts[s]:starts[s + 1]]] = s
  out_step, in_step = step.reshape(-1, 1), step.reshape(1, -1)
  depends = jac.reshape(120, 120) > 0
  assert depends.any()
  assert not np.any(depends & (in_step >= out_step))


def test_changing_a_later_latent_never_changes_an_earlier_probability():
  prior = pixelcnn.GatedPixelCNN(latent_channels=4, levels=3, features=8, layers=3,
                                 groups=2, context='last')
  params = prior.init(jax.random.key(0), jnp.zeros((1, 2, 6, 6, 4)))
  state = jax.random.normal(jax.random.key(1), (1, 6, 6, 4))
  x = np.asarray(jax.random.normal(jax.random.key(2), (1, 6, 6, 4)))
  order, starts = latent_coding.schedule(6, 6, 4, 2, prior.right_reach)
  changed = order[starts[20]]  # a latent decoded at step 20
  y = x.copy().reshape(1, -1)
  y[0, changed] += 5.0
  logits = lambda v: np.asarray(prior.apply(params, v, state, method=prior.logits))
  before, after = logits(x).reshape(-1, 3), logits(y.reshape(x.shape)).reshape(-1, 3)
  earlier = order[:starts[21]]
  np.testing.assert_array_equal(before[earlier], after[earlier])  # bit for bit
  assert not np.array_equal(before, after)


def test_tables_are_exact_integers_with_a_pinned_exp_table():
  logits = np.random.default_rng(0).normal(0, 4, (500, 8)).astype(np.float32)
  logits[0] = [80, -80, 0, 0, 0, 0, 0, 0]  # extreme: every symbol keeps a count
  counts = tables.counts(logits)
  assert np.all(counts.sum(-1) == 2 ** tables.PRECISION) and counts.min() >= 1
  assert tables.table_digest() == (
      '119df249b44c3889ed2fcf419be2e2e94632fd2fcc402d52e042db5cc77e9709')
  p = jax.nn.softmax(logits[1:].astype(np.float64), -1)
  symbols = np.argmax(logits[1:], -1)
  exact = -np.log2(np.asarray(p)[np.arange(499), symbols]).sum()
  assert abs(tables.table_bits(logits[1:], symbols) - exact) < 0.01 * exact


@pytest.mark.parametrize('context', ['frame', 'last', 'gru'])
def test_latent_coder_round_trip_is_exact(context):
  prior = pixelcnn.GatedPixelCNN(latent_channels=4, levels=4, features=8, layers=2,
                                 groups=2, context=context)
  params = prior.init(jax.random.key(0), jnp.zeros((1, 2, 3, 5, 4)))['params']
  coder = latent_coding.LatentCoder(prior, params, np.linspace(-1, 1, 4), rows=3)
  z = np.random.default_rng(0).integers(0, 4, (4, 3, 3, 5, 4))
  z[1] = 0  # a compressible chunk beside random ones
  streams, estimated = coder.encode(z)
  np.testing.assert_array_equal(coder.decode(streams, 3, 3, 5), z)
  assert 4 * len(streams[1]) < 4 * len(streams[0])
  bits = np.array([32 * len(s) for s in streams])
  assert np.all(bits >= estimated - 1) and np.all(bits <= estimated * 1.01 + 64)


@pytest.mark.parametrize('rows', [1, 3])
def test_video_round_trip_is_exact(codec, rows):
  import dataclasses  # pylint: disable=g-import-not-at-top
  codec = dataclasses.replace(codec, prior_rows=rows)
  clip = random_video(rows, frames=5, height=21, width=27)
  data, stats = video_coding.compress(codec, clip, 25.0)
  parsed = container.parse(data)
  assert parsed.header.prior_rows == rows and parsed.header.frames == 5
  latents, frames = zip(*video_coding.decompress_latents(codec, data))
  latents, frames = np.concatenate(latents), np.concatenate(frames)
  chunks = video_coding.pad_frames(clip, codec.chunk_frames)
  expected = codec.encode(chunks)
  np.testing.assert_array_equal(latents, expected)
  direct = codec.decode(expected).reshape(-1, *chunks.shape[2:])[:5, :21, :27]
  np.testing.assert_array_equal(frames, direct)
  assert stats.bytes == len(data) and frames.shape == clip.shape


def test_file_of_another_codec_is_refused(codec):
  other = trained_rdcodec.initialised(tiny_info(), seed=2)
  data, _ = video_coding.compress(codec, random_video(0), 25.0)
  with pytest.raises(container.WrongCodec, match='written by codec'):
    list(video_coding.decompress(other, data, 'a.cvz'))


def test_truncated_and_corrupt_files_are_clear_errors(codec):
  data, _ = video_coding.compress(codec, random_video(0, frames=6), 25.0)
  parsed = container.parse(data)
  assert len(parsed.entries) == 3
  cases = {
      'shorter than': data[:20],
      'not a .cvz': b'RIFF' + data[4:],
      'header is corrupt': data[:30] + bytes([data[30] ^ 1]) + data[31:],
      'truncated': data[:-3],
      'after its last chunk': data + b'\0' * 4,
  }
  for message, bad in cases.items():
    with pytest.raises(container.CorruptFile, match=message):
      list(video_coding.decompress(codec, bad, 'x.cvz'))
  offset, length, _ = parsed.entries[1]
  flipped = bytearray(data)
  flipped[offset + length // 2] ^= 0xFF
  with pytest.raises(container.CorruptFile, match='chunk 1 of 3'):
    list(video_coding.decompress(codec, bytes(flipped), 'x.cvz'))
  assert isinstance(container.CorruptFile('x'), errors.UserError)


def _with_crc(part: bytes) -> bytes:
  return part + container.CRC_STRUCT.pack(zlib.crc32(part))


def test_header_limits_are_checked_before_allocation():
  header = container.Header('ab' * 16, 10, 64, 64, 25, 1, 4, 8, 8, 4, 4, 16, 8)
  data = container.pack(header, [b'\0' * 4] * 3, [0] * 3)
  assert container.parse(data).header == header
  fields = container.HEADER_STRUCT.unpack_from(data)
  rest = data[container.HEADER_BYTES:]
  for index, value, message in ((3, 0, '0 frames'), (4, 9000, 'frame size'),
                                (11, 4096, 'latent channels'), (14, 200, 'prior rows'),
                                (15, 7, 'lists 7 chunks')):
    forged = list(fields)
    forged[index] = value
    head = _with_crc(container.HEADER_STRUCT.pack(*forged))
    with pytest.raises(container.CorruptFile, match=message):
      container.parse(head + rest)
  # Lengths in a (CRC-valid) chunk table are checked against limits and the file size.
  head = data[:container.HEADER_BYTES]
  for lengths, message in (((2 ** 31, 4, 4), 'claims'), ((4, 6, 4), 'claims'),
                           ((4, 4, 400), 'truncated in chunk 2')):
    table = b''.join(container.ENTRY_STRUCT.pack(n, 0) for n in lengths)
    with pytest.raises(container.CorruptFile, match=message):
      container.parse(head + _with_crc(table) + b'\0' * 12)


def test_bd_rate_of_a_scaled_curve_is_the_scale():
  rate = np.array([0.05, 0.1, 0.2, 0.4, 0.8])
  quality = np.array([30.0, 32.5, 35.0, 37.0, 38.5])
  assert bd_rate.bd_rate(rate, quality, rate * 0.8, quality) == pytest.approx(-20.0, abs=1e-6)
  assert bd_rate.bd_rate(rate, quality, rate * 1.5, quality) == pytest.approx(50.0, abs=1e-6)
  assert bd_rate.bd_rate(rate, quality, rate, quality + 100) is None


def test_compress_on_8_devices_decompress_on_1(codec, tmp_path):
  """The prior runs on the CPU backend with fixed shapes: a file made here (8 simulated
  devices) decodes exactly in a process with one device."""
  assert jax.device_count() == 8
  clip = random_video(5, frames=5)
  data, _ = video_coding.compress(codec, clip, 25.0)
  (tmp_path / 'clip.cvz').write_bytes(data)
  script = f'''
import sys, numpy as np
sys.path[:0] = [{ROOT!r}, {os.path.dirname(__file__)!r}]
import jax
assert jax.device_count() == 1, jax.devices()
from test_rdcodec import tiny_info
from cvision import trained_rdcodec
from cvision.coding import video
codec = trained_rdcodec.initialised(tiny_info(), seed=1)
data = open({str(tmp_path / "clip.cvz")!r}, 'rb').read()
latents = [z for z, _ in video.decompress_latents(codec, data)]
np.save({str(tmp_path / "latents.npy")!r}, np.concatenate(latents))
'''
  flags = os.environ.get('XLA_FLAGS', '').replace(
      '--xla_force_host_platform_device_count=8', '')
  subprocess.run([sys.executable, '-c', script], check=True, timeout=300,
                 env=dict(os.environ, XLA_FLAGS=flags))
  expected = codec.encode(video_coding.pad_frames(clip, codec.chunk_frames))
  np.testing.assert_array_equal(np.load(tmp_path / 'latents.npy'), expected)


@pytest.mark.parametrize('variant', ['3d_last', '2d_frame', '3d_gru'])
def test_paper_configs_trace_at_160(variant):
  """rdcodec_kinetics: 160x160 chunks of 8 frames give latents [8, 20, 20, 32]; one train
  step traces (abstractly: nothing of that size is compiled on CPU)."""
  import functools  # pylint: disable=g-import-not-at-top
  from cvision import configs  # pylint: disable=g-import-not-at-top
  from cvision.tasks import rdcodec as task  # pylint: disable=g-import-not-at-top
  from cvision.train_lib import state as state_lib  # pylint: disable=g-import-not-at-top
  config = configs.load(f'experiments/rdcodec_kinetics.py:{variant}')
  info = trained_rdcodec.make_info(config)
  assert (info['train_size'], info['chunk_frames'], info['model']['latent_channels']) == (
      160, 8, 32)
  ae, prior = trained_rdcodec.make_models(info)
  state = jax.eval_shape(trained_rdcodec.init_fn(info, state_lib.make_optimizer(config.train)),
                         jax.random.key(0))
  video = jax.ShapeDtypeStruct((2, 8, 160, 160, 3), jnp.uint8)
  values, indices, _ = jax.eval_shape(
      lambda p, b, v: ae.apply({'params': p['ae'], 'batch_stats': b}, v.astype(jnp.float32),
                               method=rdae.RDAE.encode),
      state.params, state.variables['batch_stats'], video)
  assert indices.shape == (2, 8, 20, 20, 32) and values.shape == indices.shape
  logits = jax.eval_shape(lambda p, v: prior.apply({'params': p['prior']}, v), state.params,
                          values)
  assert logits.shape == (2, 8, 20, 20, 32, config.model.levels)
  step = functools.partial(task.train_step, ae=ae, prior=prior, beta=config.loss.beta,
                           kind=config.loss.distortion)
  _, stats = jax.eval_shape(step, state, {'video': video})
  assert stats['bpp'].shape == () and stats['loss'].shape == ()


def test_sweep_summary_compares_the_beta_curve_with_classic_codecs():
  from cvision.trainers import rdcodec_sweep  # pylint: disable=g-import-not-at-top
  curve = [dict(codec='rdae3d-last', beta=b, ablation=False, bpp_actual=r, bpp_estimated=r,
                ms_ssim=q, psnr=20 + 10 * q, payload_over_estimate=0.002,
                roundtrip=dict(checked=3, exact=3))
           for b, r, q in ((1.0, 0.05, 0.80), (0.3, 0.1, 0.89), (0.1, 0.2, 0.93))]
  ablation = dict(curve[1], codec='rdae2d-frame', ablation=True, bpp_actual=0.15,
                  ms_ssim=0.85)
  x264 = [dict(crf=c, bpp=r, ms_ssim=q, psnr=20 + 10 * q)
          for c, r, q in ((40, 0.04, 0.70), (32, 0.08, 0.85), (24, 0.16, 0.95))]
  summary = rdcodec_sweep.summarize(curve + [ablation], {'h264_gop1': x264}, betas=3)
  assert summary['roundtrip_exact'] == dict(checked=12, equal=12)
  assert summary['beats_at_equal_bpp'] == {'x264-intra': [1.0, 0.3]}
  assert summary['bd_rate']['vs_x264_intra'] is not None
  rows = {r['codec']: r for r in summary['ablation']}
  assert set(rows) == {'rdae3d-last', 'rdae2d-frame'}
  # Worse MS-SSIM at a higher rate: a higher value of the objective both trained on.
  assert rows['rdae3d-last']['rd_objective'] == pytest.approx(0.11 + 0.3 * 0.1)
  assert rows['rdae2d-frame']['rd_objective'] > rows['rdae3d-last']['rd_objective']
  assert 'rdae2d-frame' in rdcodec_sweep.markdown(summary)
