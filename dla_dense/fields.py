"""Named fields: one item's, one image's or one frame's values by name (``boxes``, ``labels``, ``keypoints``,
``scores``, ``track_ids``, ``image_id``, ...), the currency between readers, heads, trackers and results."""

from __future__ import annotations

from typing import Any

#: Values by name; each producer documents the names and shapes it writes.
Fields = dict[str, Any]
