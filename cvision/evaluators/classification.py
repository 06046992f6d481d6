"""Classification metrics: top-k, multi-view averaging, per-frame accuracy (CV §4.3-4.4)."""
import numpy as np


def topk_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
  """Whether each label is among its row's `k` highest logits: `[...]` bool."""
  top = np.argsort(-logits, axis=-1)[..., :k]
  return (top == labels[..., None]).any(-1)


def average_views(logits: np.ndarray, views: int) -> np.ndarray:
  """`[N * views, ...]` logits of consecutive views of each video -> their mean `[N, ...]`."""
  if logits.shape[0] % views:
    raise ValueError(f'{logits.shape[0]} rows are not {views} views per video')
  return logits.reshape(logits.shape[0] // views, views, *logits.shape[1:]).mean(1)


def frame_logits(step_logits: np.ndarray, frames: int) -> np.ndarray:
  """Per-step logits `[..., T', C]` of a clip of `frames` frames -> per frame `[..., frames, C]`:
  output step i covers frames `[i * frames / T', (i + 1) * frames / T')`."""
  steps = step_logits.shape[-2]
  if frames % steps:
    raise ValueError(f'{frames} frames do not split into {steps} output steps')
  return np.repeat(step_logits, frames // steps, axis=-2)


def confusion(logits: np.ndarray, labels: np.ndarray) -> list:
  """Counts `[C][C]`: row = true class, column = the top-1 prediction (all leading axes
  of `logits [..., C]` and `labels [...]` are pooled)."""
  classes = logits.shape[-1]
  counts = np.zeros((classes, classes), np.int64)
  np.add.at(counts, (labels.reshape(-1), logits.reshape(-1, classes).argmax(-1)), 1)
  return counts.tolist()


def video_level(logits: np.ndarray, labels: np.ndarray) -> dict:
  """Top-1/top-5 (%) over videos from `[N, C]` logits, and the confusion counts."""
  k5 = min(5, logits.shape[-1])
  return dict(top1=100 * float(topk_correct(logits, labels, 1).mean()),
              top5=100 * float(topk_correct(logits, labels, k5).mean()), videos=len(labels),
              confusion=confusion(logits, labels))


def frame_level(logits: list, labels: list) -> dict:
  """Per-frame top-1/top-5 (%) of each video, then mean and std over the videos (Table 3),
  and the confusion counts over all frames.

  logits: per video `[T, C]`; labels: per video `[T]`."""
  k5 = min(5, logits[0].shape[-1])
  top1 = [100 * topk_correct(l, y, 1).mean() for l, y in zip(logits, labels)]
  top5 = [100 * topk_correct(l, y, k5).mean() for l, y in zip(logits, labels)]
  return dict(top1=float(np.mean(top1)), top1_std=float(np.std(top1)),
              top5=float(np.mean(top5)), top5_std=float(np.std(top5)), videos=len(labels),
              confusion=confusion(np.concatenate(logits), np.concatenate(labels)))


def results_table(rows: list[dict]) -> str:
  """Markdown: one row per run (input, CR, input shape, top-1/top-5 on the test set)."""
  lines = ['| input | CR | S3D input | test top-1 (%) | test top-5 (%) | test videos |',
           '|---|---|---|---|---|---|']
  for r in rows:
    t = r['test']
    std = lambda k, t=t: f" ± {t[k + '_std']:.1f}" if k + '_std' in t else ''
    lines.append(f"| {r['input']} | {r['cr']:.0f} | {'x'.join(map(str, r['input_shape']))} | "
                 f"{t['top1']:.1f}{std('top1')} | {t['top5']:.1f}{std('top5')} | "
                 f"{t['videos']} |")
  return '\n'.join(lines)


def confusion_table(counts: list, classes) -> str:
  """Markdown confusion counts: a row per true class, a column per predicted class
  (numbered; the header names them), with each class's recall."""
  names = ' '.join(f'{i}={name}' for i, name in enumerate(classes))
  lines = [f'Confusion (rows: true class, columns: predicted; {names})', '',
           '| true | ' + ' | '.join(map(str, range(len(classes)))) + ' | recall (%) |',
           '|---' * (len(classes) + 2) + '|']
  for i, row in enumerate(counts):
    recall = 100 * row[i] / max(sum(row), 1)
    lines.append(f'| {i} | ' + ' | '.join(map(str, row)) + f' | {recall:.1f} |')
  return '\n'.join(lines)
