"""Blocks that several stages share."""
import ml_collections


def top(stage: str) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.stage = stage
  c.seed = 0
  # (axis name, size) of the device mesh; one size may be -1 (the remaining devices).
  c.mesh = (('data', -1),)
  # (regex over a state leaf's path, mesh axis): that leaf's last dimension is split over
  # the axis (when it divides); leaves no rule matches are replicated.
  c.shard_rules = ()
  return c


def train(**changes) -> dict:
  """AdamW with linear warm-up, cosine decay and global-norm clipping; logging and saving."""
  return dict(dict(steps=1000, lr=1e-3, warmup_steps=0, final_lr_fraction=0.0,
                   weight_decay=0.0, grad_clip=1.0, log_every=50, ckpt_every=500), **changes)


def codec() -> dict:
  """The trained codec a stage reads codes with. workdir '' means `<workdir>/codec`;
  `config` (an experiment file, `path.py[:variant]`) trains it there first if missing."""
  return dict(workdir='', config='')
