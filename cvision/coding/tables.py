"""Integer probability tables from the prior's logits, identical wherever they are made.

An arithmetic coder decodes garbage from the first symbol whose probabilities differ by
one unit between the encoder and the decoder, and a float softmax can differ by one ULP
between backends or libraries. So the tables are a function of integers only:

1. logits (float32 from the prior on the CPU backend) are rounded to multiples of
   1 / LOGIT_SCALE nats (an exact power-of-two scaling, then round-half-even);
2. each symbol weighs EXP_TABLE[max - logit] (integer, 2^30 * exp(-d / LOGIT_SCALE), a
   table fixed once and checked by its hash in the tests);
3. the weights become counts that sum to exactly 2^PRECISION, every symbol at least 1
   (so any symbol stays codable), the rounding remainder going to the likeliest symbol.

The counts / 2^PRECISION are exact float64 values, handed to constriction's categorical
model, which maps them to its own fixed point the same way on both sides.
"""
import hashlib

import constriction
import numpy as np

PRECISION = 16        # probabilities are multiples of 2^-16
LOGIT_SCALE = 32      # logits are rounded to 1/32 nat
_MAX_GAP = 30 * LOGIT_SCALE  # beyond exp(-30) every symbol gets the floor count of 1
EXP_TABLE = np.round(2.0 ** 30 * np.exp(-np.arange(_MAX_GAP + 1) / LOGIT_SCALE)).astype(
    np.int64)
MODEL_FAMILY = constriction.stream.model.Categorical(perfect=False)


def table_digest() -> str:
  """sha256 of EXP_TABLE: a test pins it, so no platform makes a different table."""
  return hashlib.sha256(EXP_TABLE.astype('<i8').tobytes()).hexdigest()


def counts(logits: np.ndarray) -> np.ndarray:
  """float32 logits `[n, L]` -> int64 counts `[n, L]`, each row summing to 2^PRECISION."""
  logits = np.asarray(logits, np.float32)
  levels = logits.shape[-1]
  if levels > 2 ** PRECISION // 2:
    raise ValueError(f'{levels} levels do not fit {PRECISION}-bit probability tables')
  q = np.rint(logits.astype(np.float64) * LOGIT_SCALE).astype(np.int64)
  gap = np.minimum(q.max(-1, keepdims=True) - q, _MAX_GAP)
  weights = EXP_TABLE[gap]
  free = 2 ** PRECISION - levels
  table = 1 + weights * free // weights.sum(-1, keepdims=True)
  rows = np.arange(len(table))
  table[rows, np.argmax(weights, -1)] += 2 ** PRECISION - table.sum(-1)
  return table


def probabilities(logits: np.ndarray) -> np.ndarray:
  """The exact float64 probabilities of `counts(logits)`, as constriction takes them."""
  return counts(logits) / float(2 ** PRECISION)


def table_bits(logits: np.ndarray, symbols: np.ndarray) -> float:
  """Bits the coded symbols cost under the integer tables (what the file pays)."""
  table = counts(logits)
  picked = table[np.arange(len(symbols)), symbols]
  return float(np.sum(PRECISION - np.log2(picked)))
