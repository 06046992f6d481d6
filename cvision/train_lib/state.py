"""Train state and optimizers built from the `train` block of a config."""
from typing import Any

import flax
import jax
import optax


@flax.struct.dataclass
class TrainState:
  """Everything a run needs to continue: a pytree, checkpointed whole by orbax.

  `variables` holds the non-gradient collections of the model (e.g. the codec's EMA
  codebooks in `vq`); `params` are what the optimizer updates.
  """
  step: jax.Array
  params: Any
  variables: Any
  opt_state: Any


def make_optimizer(train_config) -> optax.GradientTransformation:
  """Adam(W) with linear warm-up then cosine decay, and global-norm clipping."""
  steps = train_config.steps
  warmup = min(train_config.get('warmup_steps', 0), max(steps - 1, 0))
  schedule = optax.warmup_cosine_decay_schedule(
      init_value=0.0 if warmup else train_config.lr, peak_value=train_config.lr,
      warmup_steps=warmup, decay_steps=max(steps, warmup + 1),
      end_value=train_config.lr * train_config.get('final_lr_fraction', 0.0))
  return optax.chain(
      optax.clip_by_global_norm(train_config.get('grad_clip', 1.0)),
      optax.adamw(schedule, weight_decay=train_config.get('weight_decay', 0.0)))


def create_state(params, variables, tx) -> TrainState:
  return TrainState(step=jax.numpy.zeros((), jax.numpy.int32), params=params,
                    variables=variables, opt_state=tx.init(params))
