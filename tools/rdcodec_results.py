"""Collects what the RD codec commands wrote into docs/results/rdcodec.json.

python tools/rdcodec_results.py [--runs=runs] [--out=docs/results/rdcodec.json]

Reads, under --runs: `rdcodec_sweep/rdcodec.json` (the β curve, the ablation, x264 /
x265 over CRF, BD-rates, round trips), `fuzz_cvz.json` (tools/fuzz_cvz.py --out=...) and
`benchmark_rdcodec/benchmark.json`. A missing file leaves its entry out, named in the
output's `missing`.
"""
import os

from results_files import header, main, read  # tools/, beside this script

COMMANDS = [
    'python -m cvision.main --config=experiments/rdcodec_sweep.py --workdir=runs/rdcodec_sweep',
    'python tools/fuzz_cvz.py --cases=10000 --out=runs/fuzz_cvz.json',
    'python -m cvision.main --config=experiments/benchmark_rdcodec.py '
    '--workdir=runs/benchmark_rdcodec',
    'python tools/rdcodec_results.py']
POINT_KEYS = ('codec', 'beta', 'crf', 'bpp_actual', 'bpp_estimated', 'ms_ssim', 'psnr')



def collect(runs: str) -> dict:
  missing = []
  out = header(COMMANDS)
  sweep = read(os.path.join(runs, 'rdcodec_sweep', 'rdcodec.json'), missing)
  if sweep:
    out['points'] = [{k: p[k] for k in POINT_KEYS if k in p} for p in sweep['points']]
    out['best'] = sweep.get('best')
    out['bd_rate'] = sweep.get('bd_rate')
    out['bd_rate_psnr'] = sweep.get('bd_rate_psnr')
    out['beats_at_equal_bpp'] = sweep.get('beats_at_equal_bpp')
    out['ablation'] = sweep.get('ablation')
    r = sweep['roundtrip_exact']
    out['roundtrip_exact'] = dict(checked=r['checked'], equal=r['equal'],
                                  all_equal=r['checked'] == r['equal'])
    out['payload_over_estimate_max'] = sweep.get('payload_over_estimate_max')
  fuzz = read(os.path.join(runs, 'fuzz_cvz.json'), missing)
  if fuzz:
    out['fuzz'] = {k: fuzz[k] for k in ('cases', 'failures', 'decoded', 'refused',
                                          'slowest_s', 'peak_rss_mb')}
  bench = read(os.path.join(runs, 'benchmark_rdcodec', 'benchmark.json'), missing)
  if bench:
    out['speed'] = {k: bench.get(k) for k in (
        'compress_fps', 'compress_verified_fps', 'decompress_fps', 'x264_encode_fps',
        'x264_decode_fps', 'x265_encode_fps', 'x265_decode_fps', 'decompress_split')}
  out['missing'] = missing
  return out


if __name__ == '__main__':
  main(collect, __doc__, 'rdcodec')
