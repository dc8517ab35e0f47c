"""Named fields: one item's, one image's or one frame's values by name (``boxes``, ``labels``, ``keypoints``,
``scores``, ``track_ids``, ``image_id``, ...), the currency between readers, heads, trackers and results."""

from __future__ import annotations

from typing import Any

#: Values by name; each producer documents the names and shapes it writes.
Fields = dict[str, Any]

#: The names of an image's own fields (not annotations): what a reader knows of the image itself and decoding may
#: use — its id, original size, video and frame, and a camera matrix ``calib`` ``[3, 4]`` in its pixels.
IMAGE_FIELDS = ("image_id", "orig_size", "video", "frame_id", "calib")


def image_fields(item: Fields) -> Fields:
    """The image's own fields of a reader's ``item`` (:data:`IMAGE_FIELDS` it has)."""
    return {name: item[name] for name in IMAGE_FIELDS if name in item}
