"""docs/quickstart.ipynb runs top to bottom in a fresh kernel (at smoke sizes)."""
import os

import conftest
import nbclient
import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
  notebook = nbformat.read(os.path.join(ROOT, 'docs', 'quickstart.ipynb'), as_version=4)
  # The kernel inherits these: small sizes, a scratch workdir and one CPU device; it runs
  # outside the repository and imports the installed package (it may assume no path of
  # this repository, as in Colab).
  monkeypatch.setenv('CVISION_NOTEBOOK_SMOKE', '1')
  monkeypatch.setenv('CVISION_WORKDIR', str(tmp_path / 'work'))
  monkeypatch.setenv('XLA_FLAGS', conftest.FAST_COMPILE)
  client = nbclient.NotebookClient(notebook, timeout=600, kernel_name='python3',
                                   resources={'metadata': {'path': str(tmp_path)}})
  client.execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == 'code' for o in cell.outputs]
  text = ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')
  assert 'smaller than raw RGB' in text and 'PSNR of these frames' in text
  assert 'past/future accuracy' in text
  images = [o for o in outputs if 'image/png' in o.get('data', {})]
  assert len(images) == 2  # the reconstruction grid and the accuracy along the tour
  assert os.path.exists(tmp_path / 'work' / 'pastfuture' / 'results.md')
