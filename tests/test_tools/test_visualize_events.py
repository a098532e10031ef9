import shutil

import numpy as np
import pytest
from PIL import Image

from sparkpose.structures.body_model import mirror_symmetric
from sparkpose.visualization import OFF_COLOR, ON_COLOR, OUTLINE_COLOR


@pytest.fixture(scope='module')
def visualize_events(load_tool):
    return load_tool('analysis_tools/visualize_events.py')


def count_color(image: np.ndarray, color) -> int:
    return int(np.all(image == np.asarray(color, np.uint8), axis=-1).sum())


def test_picture_shows_events_and_outline(visualize_events, synthetic_root, tmp_path):
    out = visualize_events.main([str(synthetic_root / 'RT000.h5'), '--index', '3',
                                 '--out', str(tmp_path / 'window.png')])
    image = np.asarray(Image.open(out))
    assert image.shape == (720, 1280, 3)
    assert count_color(image, ON_COLOR) > 1000 and count_color(image, OFF_COLOR) > 1000
    outline = np.argwhere(np.all(image == np.asarray(OUTLINE_COLOR, np.uint8), axis=-1))
    assert len(outline) > 100
    # The outline sits on the event cloud: its centre is near the events' median position.
    events = np.argwhere(np.all(image == np.asarray(ON_COLOR, np.uint8), axis=-1)
                         | np.all(image == np.asarray(OFF_COLOR, np.uint8), axis=-1))
    busy = events[(np.abs(events - np.median(outline, 0)) < 200).all(1)]
    assert len(busy) > 0.3 * len(events)


def test_bad_index_and_missing_file_are_reported(visualize_events, synthetic_root, tmp_path):
    with pytest.raises(SystemExit, match='--index 999 outside'):
        visualize_events.main([str(synthetic_root / 'RT000.h5'), '--index', '999',
                               '--out', str(tmp_path / 'x.png')])
    with pytest.raises(SystemExit, match='no such trajectory file'):
        visualize_events.main([str(synthetic_root / 'RT999.h5'), '--out', str(tmp_path / 'x.png')])


def test_outline_is_the_body_beside_the_file(visualize_events, synthetic_root, tmp_path):
    # The same window drawn with the data's own body.json and with another body beside it.
    for name in ('RT000.h5', 'camera.json'):
        shutil.copy(synthetic_root / name, tmp_path / name)
    mirror_symmetric().save(tmp_path / 'body.json')
    own = visualize_events.main([str(synthetic_root / 'RT000.h5'), '--index', '3',
                                 '--out', str(tmp_path / 'own.png')])
    other = visualize_events.main([str(tmp_path / 'RT000.h5'), '--index', '3',
                                   '--out', str(tmp_path / 'other.png')])
    outline = [np.all(np.asarray(Image.open(p)) == np.asarray(OUTLINE_COLOR, np.uint8), -1)
               for p in (own, other)]
    assert (outline[0] != outline[1]).sum() > 100
