"""The fields each config block may have, so a misspelt field in a config file is an error.

(`--config.x=y` typos are already refused by `lock_config`; this catches the file itself,
where a misspelt optional field would otherwise fall back to its default in silence.)
"""
import dataclasses

from cvision.models import pastfuture, s3d, vqvae

_MODEL_FIELDS = {f.name for f in dataclasses.fields(vqvae.VQVAE)} - {'parent', 'name'}
# memory and slots are set by the trainer, not the config.
_PASTFUTURE_FIELDS = ({f.name for f in dataclasses.fields(pastfuture.PastFuture)}
                      - {'parent', 'name', 'memory', 'slots'})
# classes, factors and per_frame are set by the classify stage from its data and input.
_S3D_FIELDS = ({f.name for f in dataclasses.fields(s3d.S3D)}
               - {'parent', 'name', 'classes', 'time_factor', 'space_factor', 'per_frame'})

FIELDS = {
    '': {'stage', 'seed', 'expected_cr', 'mesh', 'data', 'model', 'train', 'eval', 'encode',
         'decode', 'benchmark', 'codec', 'task', 'input'},
    'data': {'source', 'path', 'num_tours', 'tour_seconds', 'frames', 'size', 'crop',
             'batch_size', 'workers', 'frame_stride',
             # pastfuture
             'num_train', 'num_val', 'num_test', 'chunk_seconds', 'store', 'window',
             'seed_offset', 'open_world',
             # classify
             'level', 'clip_frames', 'steps', 'min_step_frames', 'cache_dir', 'labels',
             'tfds_splits', 'tfds_data_dir'},
    'model': _MODEL_FIELDS | _PASTFUTURE_FIELDS | _S3D_FIELDS,
    'codec': {'workdir', 'config', 'store'},
    'input': {'kind', 'codes_as', 'shifted_copies'},
    'task': {'memories', 'crop', 'queries_per_update', 'batch_tours', 'chunks_per_update',
             'eval_queries', 'chunk_jitter', 'train_chunks', 'window_updates'},
    'train': {'steps', 'lr', 'warmup_steps', 'final_lr_fraction', 'weight_decay', 'grad_clip',
              'log_every', 'ckpt_every', 'preview_every', 'ms_ssim_weight', 'mse_weight'},
    'eval': {'videos', 'frames', 'after_training', 'classic_codecs', 'codec_workdir',
             'clips', 'crops', 'batch_size'},
    'encode': {'videos', 'codec_workdir', 'codec_config', 'store', 'window', 'chunk_frames',
               'frame_stride', 'skip_existing', 'num_tours', 'tour_seconds', 'tour_seed'},
    'decode': {'codec_workdir', 'store', 'videos', 'start', 'stop'},
    'benchmark': {'codec_workdir', 'videos', 'frames', 'repeats', 'crf', 'epochs', 'clips',
                  'batch_size', 'seed', 'memory_sizes', 'probe_frames'},
}


def check(config):
  """Raises ValueError naming every unknown field of `config`."""
  unknown = [k for k in config.keys() if k not in FIELDS['']]
  for block, allowed in FIELDS.items():
    if block and block in config:
      unknown += [f'{block}.{k}' for k in config[block].keys() if k not in allowed]
  if unknown:
    raise ValueError(f'unknown config field(s) {unknown}: misspelt? (known fields are in '
                     f'cvision/config_schema.py)')
