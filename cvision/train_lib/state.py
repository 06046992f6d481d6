"""Train state and optimizers built from the `train` block of a config."""
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  """Everything a run needs to continue: a pytree, checkpointed whole by orbax.

  `variables` holds the model's non-gradient collections (the codec's EMA codebooks in
  `vq`, S3D's `batch_stats`); `params` are what the optimizer `tx` updates. `tx` is not
  a leaf: it is rebuilt from the config, never saved.
  """
  step: jax.Array
  params: Any
  variables: Any
  opt_state: Any
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  @classmethod
  def create(cls, params, tx: optax.GradientTransformation, variables=None) -> 'TrainState':
    return cls(step=jnp.zeros((), jnp.int32), params=params, variables=variables or {},
               opt_state=tx.init(params), tx=tx)

  def apply_gradients(self, grads, variables=None) -> 'TrainState':
    """One optimizer update; `variables`, when given, replace the non-gradient ones."""
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                        opt_state=opt_state,
                        variables=self.variables if variables is None else variables)


def make_schedule(train_config) -> optax.Schedule:
  """Linear warm-up to `lr`, then cosine decay to `lr * final_lr_fraction`."""
  steps, lr = train_config.steps, train_config.lr
  warmup = min(train_config.warmup_steps, max(steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(
      init_value=0.0 if warmup else lr, peak_value=lr, warmup_steps=warmup,
      decay_steps=max(steps, warmup + 1), end_value=lr * train_config.final_lr_fraction)


def make_optimizer(train_config) -> optax.GradientTransformation:
  """AdamW on `make_schedule`, after global-norm clipping."""
  return optax.chain(
      optax.clip_by_global_norm(train_config.grad_clip),
      optax.adamw(make_schedule(train_config), weight_decay=train_config.weight_decay))
