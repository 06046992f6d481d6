"""Batches made ahead of the step that needs them, in a background thread.

While the device runs step t, the thread builds and places the batches of steps t + 1
and t + 2 (numpy work and the host-to-device copy both release the GIL), so input never
waits on compute nor compute on input.
"""
import queue
import threading

_DONE = object()


class _Failure:

  def __init__(self, error: BaseException):
    self.error = error


def prefetch(items, transform=lambda item: item, size: int = 2):
  """Yields `transform(item)` for each of `items`, computed up to `size` items ahead.

  An exception in the thread is raised here, at the item it happened on. Closing the
  generator (or leaving a `with contextlib.closing(...)` block) stops the thread.
  """
  buffer = queue.Queue(maxsize=size)
  stop = threading.Event()

  def offer(value) -> bool:
    while not stop.is_set():
      try:
        buffer.put(value, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def produce():
    try:
      for item in items:
        if not offer(transform(item)):
          return
      offer(_DONE)
    except BaseException as e:  # pylint: disable=broad-except
      offer(_Failure(e))

  thread = threading.Thread(target=produce, daemon=True, name='prefetch')
  thread.start()
  try:
    while True:
      value = buffer.get()
      if value is _DONE:
        return
      if isinstance(value, _Failure):
        raise value.error
      yield value
  finally:
    stop.set()
