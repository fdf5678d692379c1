"""The smallest text of every figure, recorded in the figure's own image (legible figures, issue 17).

In the book's page kernels (``autograder/book/execute.py`` runs :func:`measure` before each page)
every PNG that matplotlib writes, inline figures, animation frames and explorer frames alike, carries
a text chunk :data:`KEY`: the font size in pixels *of that image* of the smallest text drawn on it, or
:data:`NO_TEXT` when none is. It is measured while the figure is drawn, from what is drawn: only
visible, non-empty texts (titles, labels, tick labels, legends, annotations, tables), each at its
font size, and in mathtext at the size of its smallest glyph (a subscript is 0.7 times the text);
pixels are the renderer's, so a figure saved at 90 dpi turns 10-point text into 12.5 px.

A browser shows an image scaled by (displayed width / image width); ``tests/test_browser.py`` reads
:data:`KEY` from each figure of each page (:func:`recorded_px`) and requires the text to be at least
9 px as displayed. The book's later steps keep the record: ``autograder/book/images.py`` when it
shrinks a PNG, :mod:`.explorer` in its palette PNG or WebP frames (:func:`save_kwargs`).
"""

from __future__ import annotations

import functools
import io
import os
import re

KEY = "cnn-min-text-px"
TEXT_KEY = "cnn-min-text"  # that text itself (its first 40 characters), to say which text is too small
NO_TEXT = "none"
_XMP = {KEY: re.compile(rb'cnn:minTextPx="([^"]*)"'), TEXT_KEY: re.compile(rb'cnn:minText="([^"]*)"')}
_printing: list[dict] = []  # the metadata of each figure being written (print_figure may nest)


def smallest_points(text) -> float:
    """The font size in points of the smallest glyph of ``text`` (a ``matplotlib.text.Text``)."""
    from matplotlib.mathtext import MathTextParser

    smallest = float(text.get_fontsize())
    for line in text.get_text().split("\n"):
        clean, ismath = text._preprocess_math(line)
        if ismath is True:  # mathtext: sub- and superscripts are smaller than the text
            parsed = MathTextParser("path").parse(clean, 72, text.get_fontproperties())
            smallest = min([smallest, *(float(glyph[1]) for glyph in parsed.glyphs)])
    return smallest


def _note(text, renderer) -> None:
    if not _printing or renderer is None or not text.get_visible() or not text.get_text().strip():
        return
    pixels = float(renderer.points_to_pixels(smallest_points(text)))
    metadata = _printing[-1]
    if metadata[KEY] == NO_TEXT or pixels < float(metadata[KEY]):
        metadata[KEY], metadata[TEXT_KEY] = f"{pixels:.2f}", " ".join(text.get_text().split())[:40]


def _format(canvas, filename, args, kwargs) -> str:
    fmt = kwargs.get("format") or (args[4] if len(args) > 4 else None)
    if fmt is None and isinstance(filename, (str, os.PathLike)):
        fmt = os.path.splitext(os.fspath(filename))[1][1:]
    return str(fmt or canvas.get_default_filetype()).lower()


def measure() -> None:
    """From now on every PNG matplotlib writes in this process records its smallest text (:data:`KEY`).

    The record is written by matplotlib itself: the figure's metadata dictionary, which the PNG writer
    reads after the figure is drawn, is filled in while its texts are drawn. Calling it again does nothing.
    """
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.text import Text

    if getattr(FigureCanvasBase.print_figure, "_cnn_measures", False):
        return
    draw, print_figure = Text.draw, FigureCanvasBase.print_figure

    @functools.wraps(draw)
    def draw_text(self, renderer, *args, **kwargs):
        _note(self, renderer)
        return draw(self, renderer, *args, **kwargs)

    @functools.wraps(print_figure)
    def print_measured(self, filename, *args, **kwargs):
        if _format(self, filename, args, kwargs) != "png":
            return print_figure(self, filename, *args, **kwargs)
        metadata = {**(kwargs.get("metadata") or {}), KEY: NO_TEXT}
        _printing.append(metadata)
        try:
            return print_figure(self, filename, *args, **{**kwargs, "metadata": metadata})
        finally:
            _printing.pop()

    print_measured._cnn_measures = True
    Text.draw, FigureCanvasBase.print_figure = draw_text, print_measured


def save_kwargs(fmt: str, record: dict) -> dict:
    """What ``PIL.Image.save`` needs to keep ``record`` (:func:`recorded`) in a ``fmt`` ("PNG" or "WEBP") image."""
    if not record:
        return {}
    if fmt.upper() == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in record.items():
            info.add_text(key, value)
        return {"pnginfo": info}
    if fmt.upper() == "WEBP":
        import html

        text = html.escape(record.get(TEXT_KEY, ""), quote=True)
        return {"xmp": (f'<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:cnn="cnn" cnn:minTextPx="{record[KEY]}" '
                        f'cnn:minText="{text}"/>').encode()}
    return {}


def recorded(image) -> dict:
    """The record of an opened ``PIL.Image`` (a PNG or a WebP): {KEY: a number or NO_TEXT, TEXT_KEY: the
    text} (TEXT_KEY absent without text); {} when the image has none."""
    if KEY in image.info:
        return {key: str(image.info[key]) for key in (KEY, TEXT_KEY) if key in image.info}
    xmp = image.info.get("xmp") or b""
    xmp = xmp.encode() if isinstance(xmp, str) else xmp
    found = {key: pattern.search(xmp) for key, pattern in _XMP.items()}
    import html

    return {key: html.unescape(match.group(1).decode()) for key, match in found.items() if match}


def recorded_px(data: bytes) -> tuple[str | None, str, int]:
    """(the smallest text's size in px of the image, or NO_TEXT, or None when not recorded; that text;
    the image's width in pixels) of an image file's bytes."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    record = recorded(image)
    return record.get(KEY), record.get(TEXT_KEY, ""), image.width
