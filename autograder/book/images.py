"""Figures as small as they can be without a visible difference (the book's page weight).

matplotlib writes RGBA PNGs; the book's figures are opaque, and most use few enough colours for
a 256-colour palette. :func:`smaller_png` returns an opaque RGB PNG, or a palette PNG when the
palette version is close enough to the original (:data:`MEAN_ERROR`, :data:`FAR_OFF`), whichever
is smaller; a figure with transparency is kept as it is. The record of the figure's smallest text
(``autograder/kernel/figures.py``) is kept; matplotlib's other text chunks are dropped. :func:`shrink_figures` does it to every
PNG output of an executed page (``autograder/book/execute.py``, before the page is cached).
"""

from __future__ import annotations

import base64
import io

from ..kernel.figures import recorded, save_kwargs

MEAN_ERROR = 1.0  # the palette version may differ from the original by this much on average (0-255)...
FAR_OFF, FAR_SHARE = 24, 0.001  # ...and by more than FAR_OFF in at most this share of the pixels


def close_enough(candidate, original) -> bool:
    """Whether two RGB images of the same size look the same (see :data:`MEAN_ERROR`, :data:`FAR_OFF`)."""
    import numpy as np

    error = np.abs(np.asarray(candidate, dtype=np.int16) - np.asarray(original, dtype=np.int16)).max(axis=2)
    return float(error.mean()) <= MEAN_ERROR and float((error > FAR_OFF).mean()) <= FAR_SHARE


def _png(image, record: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, **save_kwargs("PNG", record or {}))
    return buffer.getvalue()


def smaller_png(data: bytes) -> bytes:
    """``data`` (a PNG) as a smaller PNG that looks the same, or ``data`` itself."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("RGBA", "LA", "P") and image.convert("RGBA").getextrema()[3][0] < 255:
        return data  # transparency: kept
    rgb, record = image.convert("RGB"), recorded(image)  # the smallest text's size is kept
    candidates = [data, _png(rgb, record)]
    palette = rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE, kmeans=1)
    if close_enough(palette.convert("RGB"), rgb):
        candidates.append(_png(palette, record))
    return min(candidates, key=len)


def shrink_figures(notebook) -> int:
    """Replace every PNG output of ``notebook`` by :func:`smaller_png`; return the bytes saved."""
    saved = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            encoded = output.get("data", {}).get("image/png")
            if not encoded:
                continue
            data = base64.b64decode("".join(encoded) if isinstance(encoded, list) else encoded)
            smaller = smaller_png(data)
            if len(smaller) < len(data):
                output["data"]["image/png"] = base64.b64encode(smaller).decode("ascii")
                saved += len(data) - len(smaller)
    return saved
