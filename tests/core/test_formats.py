import pytest

from shotsmith.formats import frame_size


@pytest.mark.parametrize(("ratio", "res", "size"), [
    ("16:9", "720p", (1280, 720)), ("9:16", "720p", (720, 1280)), ("1:1", "1080p", (1080, 1080)),
    ("4:5", "1080p", (1080, 1350)), ("16:9", "360p", (640, 360)),
])
def test_frame_size(ratio, res, size):
    assert frame_size(ratio, res) == size


def test_unknown_resolution():
    with pytest.raises(ValueError, match="unknown resolution"):
        frame_size("16:9", "8k")
