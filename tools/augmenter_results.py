"""Collects what the augmenter commands wrote into docs/results/augmenter.json.

python tools/augmenter_results.py [--runs=runs] [--out=docs/results/augmenter.json] [--carry]

Reads, under --runs, the workdirs the commands of docs/results.md ("Latent augmenter")
write: `augmenter_cr256/`, `augmenter_cr30/` and their `_bilinear` and `_embeddings`
variants (the augmenter stage's held-out evaluation, `eval/augmentation.json`),
`benchmark_augmenter/benchmark.json` (CV Table 8) and `t4_<cr>_<row>/` (the classify runs
of the Table-4 analogue; rows that share a training keep the first evaluation as
`results_crops4.json` / `results_flips1.json`).
A missing file leaves its entry out, named in the output's `missing`; with `--carry` the
entry is kept from the committed file instead and named in `carried` (a fresh machine
that reran some commands adds its figures to the others').
"""
import os

from results_files import ROOT, header, main, read  # tools/, beside this script

KEYS = ('learned_ssim', 'snapped_ssim', 'identity_ssim', 'ceiling_ssim', 'nn_ssim',
        'bilinear_ssim', 'code_agreement', 'learned_psnr', 'snapped_psnr', 'identity_psnr',
        'ceiling_psnr', 'nn_psnr', 'bilinear_psnr')
# row -> (workdir suffix, results file in it, the test views it must have: crops, flips)
ROWS = dict(central=('central', 'results.json', (1, 1)),
            nn_crop=('nn_crop', 'results.json', (4, 1)),
            learned_crop=('learned_crop', 'results_crops4.json', (4, 1)),
            learned_crop_2_test_crops=('learned_crop', 'results.json', (2, 1)),
            learned_flip_train=('learned_flip', 'results_flips1.json', (4, 1)),
            learned_flip_train_test=('learned_flip', 'results.json', (4, 2)),
            nn_crop_learned_flip=('nn_crop_learned_flip', 'results_flips1.json', (4, 1)),
            nn_crop_learned_flip_test=('nn_crop_learned_flip', 'results.json', (4, 2)))
# Rows run at CR 256 only.
CR256_ROWS = dict(
    # the same training with the bilinear variant's augmenter (augmenter_quick.py:bilinear)
    learned_flip_train_bilinear=('learned_flip_bilinear', 'results_flips1.json', (4, 1)),
    learned_flip_train_test_bilinear=('learned_flip_bilinear', 'results.json', (4, 2)),
    # and with the embeddings variant's (augmenter_quick.py:embeddings), its codes
    learned_flip_train_embeddings=('learned_flip_embeddings', 'results_flips1.json',
                                   (4, 1)),
    learned_flip_train_test_embeddings=('learned_flip_embeddings', 'results.json',
                                        (4, 2)),
    # S3D on codebook vectors (--config.input.codes_as=vectors)
    nn_crop_vectors=('nn_crop_vectors', 'results.json', (4, 1)),
    learned_flip_train_vectors=('learned_flip_vectors', 'results_flips1.json', (4, 1)),
    learned_flip_train_test_vectors=('learned_flip_vectors', 'results.json', (4, 2)),
    learned_flip_train_embeddings_vectors=('learned_flip_embeddings_vectors',
                                           'results_flips1.json', (4, 1)),
    learned_flip_train_test_embeddings_vectors=('learned_flip_embeddings_vectors',
                                                'results.json', (4, 2)),
    # the rows of acceptance item 3 with --config.seed=1 to 9, and on vectors with 1
    **{f'{row}_seed{seed}': (f'{folder}_seed{seed}', 'results.json', (4, 1))
       for row, folder, seeds in (('nn_crop', 'nn_crop', range(1, 10)),
                                  ('learned_flip_train', 'learned_flip', range(1, 10)),
                                  ('nn_crop_vectors', 'nn_crop_vectors', (1,)),
                                  ('learned_flip_train_vectors', 'learned_flip_vectors', (1,)))
       for seed in seeds})
COMMANDS = [
    'python -m cvision.main --config=experiments/augmenter_quick.py --workdir=runs/augmenter_cr256',
    'python -m cvision.main --config=experiments/augmenter_quick.py:cr30 '
    '--workdir=runs/augmenter_cr30',
    'python -m cvision.main --config=experiments/augmenter_quick.py:bilinear '
    '--workdir=runs/augmenter_cr256_bilinear',
    'python -m cvision.main --config=experiments/augmenter_quick.py:cr30_bilinear '
    '--workdir=runs/augmenter_cr30_bilinear',
    'python -m cvision.main --config=experiments/augmenter_quick.py:embeddings '
    '--workdir=runs/augmenter_cr256_embeddings',
    'python -m cvision.main --config=experiments/augmenter_quick.py:cr30_embeddings '
    '--workdir=runs/augmenter_cr30_embeddings',
    'python -m cvision.main --config=experiments/benchmark_augmenter.py '
    '--workdir=runs/benchmark_augmenter',
    'python -m cvision.main --config=experiments/benchmark_augmenter.py '
    '--workdir=runs/benchmark_augmenter_vectors --config.benchmark.codes_as=vectors',
    'python -m cvision.main --config=experiments/classify_codes_<cr>_quick.py:<row> '
    '--workdir=runs/t4_<cr>_<row> (see docs/results.md)',
    'python tools/augmenter_results.py']



def collect(runs: str) -> dict:
  missing = []
  out = header(COMMANDS, short=True)
  for name, folder in (('cr256', 'augmenter_cr256'), ('cr32', 'augmenter_cr30'),
                       ('cr256_bilinear', 'augmenter_cr256_bilinear'),
                       ('cr32_bilinear', 'augmenter_cr30_bilinear'),
                       ('cr256_embeddings', 'augmenter_cr256_embeddings'),
                       ('cr32_embeddings', 'augmenter_cr30_embeddings')):
    evaluation = read(os.path.join(runs, folder, 'eval', 'augmentation.json'), missing)
    if evaluation:
      out[name] = {kind: {k: round(row[k], 4) for k in KEYS if k in row}
                   for kind, row in evaluation['kinds'].items()}
      out[name]['identity_psnr_gap_db'] = round(evaluation['identity_psnr_gap_db'], 3)
  bench = read(os.path.join(runs, 'benchmark_augmenter', 'benchmark.json'), missing)
  if bench:
    out['speedup_vs_decode_augment_encode'] = round(bench['speedup_vs_decode_augment_encode'], 1)
    out['speedup_augment_and_infer'] = round(bench['speedup_augment_and_infer'], 2)
    out['benchmark_seconds'] = {k: round(v, 4) for k, v in bench['seconds'].items()}
    # The paper's models at 256x256 (initialised): measured speed-up and planned FLOPs ratio.
    out['paper_size'] = {os.path.basename(p['codec']): dict(speedup=round(p['speedup'], 1),
                                                            flops_ratio=round(p['flops_ratio']))
                         for p in bench.get('paper_size', [])}
  # Augment & infer with S3D on codebook vectors (the paper-size configs' input).
  vectors = read(os.path.join(runs, 'benchmark_augmenter_vectors', 'benchmark.json'), missing)
  if vectors:
    out['benchmark_vectors'] = dict(
        speedup_augment_and_infer=round(vectors['speedup_augment_and_infer'], 2),
        seconds={k: round(v, 4) for k, v in vectors['seconds'].items()})
  out['table4'] = {}
  for cr in ('cr256', 'cr32'):
    prefix = 'cr30' if cr == 'cr32' else cr
    rows = {}
    rows_run = ROWS | (CR256_ROWS if cr == 'cr256' else {})
    for row, (folder, name, test_views) in rows_run.items():
      path = os.path.join(runs, f't4_{prefix}_{folder}', name)
      result = read(path, missing)
      if result and (result['views']['crops'], result['views']['flips']) != test_views:
        missing.append(f'{os.path.relpath(path, ROOT)} (holds another row\'s test views)')
      elif result:
        rows[row] = round(result['test']['top1'], 1)
    out['table4'][cr] = rows
  out['missing'] = missing
  return out


if __name__ == '__main__':
  main(collect, __doc__, 'augmenter')
