"""TensorFlow, for tf.data and tf.io.gfile only, kept off accelerators.

Import `tf` from here, never `tensorflow` directly: TensorFlow would otherwise take the
GPU's memory on first use, which JAX needs. It must happen before TensorFlow starts its
runtime, so this module is imported before any tf.data pipeline is built.
"""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # its C++ INFO lines: not for users
# TF does no arithmetic here, so its oneDNN kernels (and their start-up notice) are moot.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

for _kind in ('GPU', 'TPU'):
  try:
    tf.config.set_visible_devices([], _kind)
  except (RuntimeError, ValueError):  # already initialised, or no such device kind
    pass

gfile = tf.io.gfile
