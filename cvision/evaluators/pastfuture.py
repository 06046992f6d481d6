"""Past-future results: accuracy overall and by position in the tour, table and plot."""
import numpy as np
from matplotlib.figure import Figure

from cvision import atomic_files

POSITION_BINS = 10


def accuracy_by_step(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
  """Accuracy at each step `[n]` from logits and labels `[tours, n, queries]`."""
  return ((logits > 0) == (labels > 0.5)).mean(axis=(0, 2))


def by_position(step_accuracy: np.ndarray, bins: int = POSITION_BINS) -> list[float]:
  """Mean accuracy in `bins` equal stretches of the tour (first tenth, second, ...); a
  tour of fewer steps than bins gives each bin the step it falls in."""
  if len(step_accuracy) < bins:
    steps = (np.arange(bins) + 0.5) / bins * len(step_accuracy)
    return [float(step_accuracy[int(s)]) for s in steps]
  return [float(part.mean()) for part in np.array_split(step_accuracy, bins)]


def summary_table(results: dict, tours: dict) -> str:
  """One row per memory; `tours` describes the test tours and their sizes."""
  lines = ['| memory | test accuracy | val accuracy | test tours | tour length | chunks/tour | '
           'codes on disk | raw RGB | raw / codes |', '|---|---|---|---|---|---|---|---|---|']
  for memory, r in results.items():
    lines.append(
        f"| {memory} | {100 * r['test']['accuracy']:.1f}% | {100 * r['val']['accuracy']:.1f}% "
        f"| {tours['count']} | {tours['minutes']:.1f} min | {tours['chunks']} | "
        f"{_size(tours['code_bytes'])} | {_size(tours['raw_rgb_bytes'])} | "
        f"{tours['raw_rgb_bytes'] / tours['code_bytes']:.0f}x |")
  return '\n'.join(lines)


def _size(count: int) -> str:
  for unit in ('B', 'KB', 'MB', 'GB'):
    if count < 1000 or unit == 'GB':
      return f'{count:.0f} {unit}' if unit == 'B' else f'{count:.1f} {unit}'
    count /= 1000


def plot_by_position(results: dict, path: str):
  """Test accuracy against position in the tour, one line per memory."""
  fig = Figure(figsize=(6, 4))  # no pyplot: nothing global changes (notebooks keep theirs)
  ax = fig.subplots()
  for memory, r in results.items():
    acc = r['test']['by_position']
    centres = (np.arange(len(acc)) + 0.5) / len(acc)
    ax.plot(centres, 100 * np.asarray(acc), marker='o', label=memory)
  ax.axhline(50, color='grey', linestyle=':', linewidth=1)
  ax.set_xlabel('position of the current step in the tour (fraction observed)')
  ax.set_ylabel('past/future accuracy (%)')
  ax.set_ylim(0, 100)
  ax.grid(True, alpha=0.3)
  ax.legend()
  fig.tight_layout()
  atomic_files.save_figure(fig, path)
