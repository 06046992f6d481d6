"""Procedural tours: deterministic, lazy, and long open-world tours keep finding new ground."""
import numpy as np

from cvision.data import tours
from cvision.data import sources


def test_any_window_is_the_same_frames_whenever_it_is_made():
  for open_world in (False, True):
    tour = tours.Tour(seed=7, size=32, open_world=open_world)
    late = 25 * 60 * 20  # 20 minutes in: made directly, nothing before it is simulated
    np.testing.assert_array_equal(tour.frames(late, 3)[1], tour.frame(late + 1))
    again = tours.Tour(seed=7, size=32, open_world=open_world).frame(late + 1)
    np.testing.assert_array_equal(again, tour.frame(late + 1))
    assert tour.frame(late).std() > 5  # a scene, not an empty edge


def test_long_open_world_tours_rarely_come_back_where_bounded_ones_often_do():
  for seed in (200_000, 200_001):
    bounded = tours.revisit_fraction(tours.Tour(seed=seed, size=64), 1800)
    open_world = tours.revisit_fraction(tours.Tour(seed=seed, size=64, open_world=True), 1800)
    assert bounded > 0.25 and 0 < open_world < 0.05, (bounded, open_world)
  # Two-minute tours of the default run hardly come back even in the bounded world.
  assert tours.revisit_fraction(tours.Tour(seed=200_001, size=64), 120) < 0.1


def test_open_world_tours_have_their_own_ids():
  (vid, frames, meta), = sources.tour_sources([12], seconds=0.2, size=32, open_world=True)
  (other, _, _), = sources.tour_sources([12], seconds=0.2, size=32)
  assert (vid, other) == ('open_000012', 'tour_000012') and meta['source'] == 'open:12'
  assert len(list(frames)) == meta['frames'] == 5
