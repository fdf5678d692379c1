"""Explorers: a figure with controls, live in Jupyter and precomputed in the book.

A chapter shows an explorer with one call::

    from autograder import explorer

    def show(photo="coffee", row=100):          # draws one matplotlib figure and calls plt.show()
        ...

    explorer.interact(show, alt="the pixel inspector",
                      photo=explorer.Choice(["coffee", "astronaut"], label="photo"),
                      row=explorer.Slider(0, 399, value=100, label="row", book=[0, 100, 200, 399]))

- In Jupyter (a student's kernel) it is ``ipywidgets.interact`` with the matching widgets: every
  value of every control, computed as the controls move.
- When the book's pages execute (``python -m autograder book`` sets ``AUTOGRADER_EXPLORER_FRAMES``
  for their kernels, :data:`ENV`), it calls the function once per combination of each control's
  *book values* (a choice: all its options; a slider: the values in ``book``, or ``points`` values
  spread evenly over its range, always with its initial value), renders each figure as a compact
  image (palette PNG or WebP, whichever is smaller; identical frames stored once) and displays one
  HTML element: ``<div class="cnn-explorer">`` with native ``<select>`` and ``<input
  type="range">`` controls, each with its ``<label>``, and an ``<img>`` of the current frame whose
  alt text names the setting ("pixel inspector: photo coffee, row 100"). The book's own script
  (``autograder/book/static/cnn-explorer.js``, served by the book) switches frames as the controls
  move; there is no kernel and no network. An explorer has at most :data:`MAX_FRAMES` frames and
  :data:`MAX_BYTES` of images, or the cell fails with a message saying what to reduce.

The random state (NumPy's global generator, ``random`` and torch's, where loaded) is the same for
every frame, the chapter's, and after the frames it is what one call with the initial values
leaves, as in Jupyter, so later cells draw the same numbers in both.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import itertools
import json
import math
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ENV = "AUTOGRADER_EXPLORER_FRAMES"  # set by the book build for its page kernels
MAX_FRAMES = 150  # frames of one explorer (combinations of the controls' book values)
MAX_BYTES = 1_300_000  # bytes of images of one explorer (before base64)
DPI = 72  # the frames' resolution: a 10-inch-wide figure is 720 pixels wide and 10-point text 10 px high
WEBP_QUALITY = 72
_counter = itertools.count(1)


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Choice:
    """One of a few options: a drop-down (``slider=True``: a selection slider in Jupyter).

    ``options``: a list of values, a list of ``(text, value)`` pairs, or a dict ``{text: value}``;
    ``value``: the initial value (default the first). In the book every option is precomputed.
    """

    options: Any
    value: Any = None
    label: str = ""
    slider: bool = False
    pairs: list = field(init=False, repr=False)

    def __post_init__(self):
        items = list(self.options.items()) if isinstance(self.options, dict) else list(self.options)
        self.pairs = [(str(item[0]), item[1]) if isinstance(item, tuple) and len(item) == 2 else (_text(item), item)
                      for item in items]
        if not self.pairs:
            raise ValueError("explorer.Choice needs at least one option")
        values = [value for _, value in self.pairs]
        if self.value is None:
            self.value = values[0]
        elif self.value not in values:
            raise ValueError(f"explorer.Choice: the initial value {self.value!r} is not one of the options {values}")

    def widget(self, name: str):
        import ipywidgets as widgets

        kind = widgets.SelectionSlider if self.slider else widgets.Dropdown
        return kind(options=self.pairs, value=self.value, description=self.label or name)

    def book_values(self) -> list[tuple[str, Any]]:
        return list(self.pairs)


@dataclass
class Slider:
    """A number from ``min`` to ``max`` in steps of ``step`` (integers when all three are).

    ``log=True``: a logarithmic slider (``step`` is then in powers of ten). In the book the slider
    stops at the values in ``book``, or at ``points`` values spread evenly over the range (evenly
    in log scale for ``log``); the initial ``value`` is always one of them.
    """

    min: float
    max: float
    step: float = 1
    value: float | None = None
    label: str = ""
    book: list | None = None
    points: int = 5
    log: bool = False

    def __post_init__(self):
        if not self.min < self.max:
            raise ValueError(f"explorer.Slider: min ({self.min}) must be below max ({self.max})")
        if self.log and self.min <= 0:
            raise ValueError("explorer.Slider(log=True) needs a positive min")
        if self.value is None:
            self.value = self.min
        if not self.min <= self.value <= self.max:
            raise ValueError(f"explorer.Slider: the initial value {self.value} is outside [{self.min}, {self.max}]")

    @property
    def integer(self) -> bool:
        return not self.log and all(float(v).is_integer() and not isinstance(v, float)
                                    for v in (self.min, self.max, self.step))

    def widget(self, name: str):
        import ipywidgets as widgets

        description = self.label or name
        if self.log:
            return widgets.FloatLogSlider(value=self.value, base=10, min=math.log10(self.min),
                                          max=math.log10(self.max), step=self.step, description=description)
        if self.integer:
            return widgets.IntSlider(value=self.value, min=self.min, max=self.max, step=self.step,
                                     description=description)
        return widgets.FloatSlider(value=self.value, min=self.min, max=self.max, step=self.step,
                                   description=description)

    def book_values(self) -> list[tuple[str, Any]]:
        if self.book is not None:
            values = list(self.book)
            outside = [v for v in values if not self.min <= v <= self.max]
            if outside:
                raise ValueError(f"explorer.Slider {self.label!r}: book values {outside} are outside "
                                 f"[{self.min}, {self.max}]")
        elif self.log:
            low, high = math.log10(self.min), math.log10(self.max)
            values = [float(f"{10 ** (low + (high - low) * k / (self.points - 1)):.3g}") for k in range(self.points)]
        else:
            values = [self.min + (self.max - self.min) * k / (self.points - 1) for k in range(self.points)]
            values = [round(v) if self.integer else float(f"{v:.4g}") for v in values]
        values = sorted(set(values) | {self.value})
        return [(_text(value), value) for value in values]


def in_book() -> bool:
    """True in the book's page kernels (the build sets :data:`ENV`), where explorers are precomputed."""
    return bool(os.environ.get(ENV))


def interact(function: Callable[..., None], alt: str = "", **controls) -> None:
    """Show an explorer of ``function`` (which draws one matplotlib figure) over ``controls``.

    ``controls``: for each keyword parameter of ``function``, a :class:`Choice` or a :class:`Slider`.
    ``alt``: what the picture is, for its alt text in the book (the control values are added).
    Returns nothing, so a cell that ends with it shows no repr.
    """
    for name, control in controls.items():
        if not isinstance(control, (Choice, Slider)):
            raise TypeError(f"explorer.interact: control {name!r} must be an explorer.Choice or explorer.Slider, "
                            f"not {type(control).__name__}")
    if not in_book():
        import ipywidgets as widgets

        widgets.interact(function, **{name: control.widget(name) for name, control in controls.items()})
        return
    from IPython.display import HTML, display

    display(HTML(render(function, alt=alt, **controls)))


# ---------------------------------------------------------------------- the book's explorer


@contextlib.contextmanager
def _quiet_figures():
    """Calls of ``plt.show()`` do nothing and printed text is dropped; yields the figures drawn."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    drawn: list = []
    show = plt.show
    plt.show = lambda *args, **kwargs: None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield drawn
        drawn += [plt.figure(number) for number in plt.get_fignums() if number not in before]
    finally:
        plt.show = show
        for number in plt.get_fignums():
            if number not in before:
                plt.close(number)


def _random_state():
    state = {"numpy": None, "random": random.getstate(), "torch": None}
    if "numpy" in sys.modules:
        state["numpy"] = sys.modules["numpy"].random.get_state()
    if "torch" in sys.modules:
        state["torch"] = sys.modules["torch"].random.get_rng_state()
    return state


def _set_random_state(state) -> None:
    random.setstate(state["random"])
    if state["numpy"] is not None:
        sys.modules["numpy"].random.set_state(state["numpy"])
    if state["torch"] is not None:
        sys.modules["torch"].random.set_rng_state(state["torch"])


def encode_figure(figure, dpi: int = DPI) -> str:
    """A data URL of ``figure``: a palette PNG or a WebP, whichever is smaller (with the record of its
    smallest text, where the page's kernel measures figures: :mod:`.figures`)."""
    from PIL import Image

    from .figures import recorded, save_kwargs

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    original = Image.open(io.BytesIO(buffer.getvalue()))
    image, record = original.convert("RGB"), recorded(original)  # its smallest text (kernel/figures.py), kept
    palette = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        palette, format="PNG", optimize=True, **save_kwargs("PNG", record))
    candidates = [("image/png", palette.getvalue())]
    with contextlib.suppress(OSError, KeyError):  # a Pillow without WebP
        webp = io.BytesIO()
        image.save(webp, format="WEBP", quality=WEBP_QUALITY, method=4, **save_kwargs("WEBP", record))
        candidates.append(("image/webp", webp.getvalue()))
    mime, data = min(candidates, key=lambda candidate: len(candidate[1]))
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def alt_text(alt: str, labels: list[str], texts: list[str]) -> str:
    """``"<alt>: <label> <value>, ..."``, what the frame shows (the book's script builds the same)."""
    setting = ", ".join(f"{label} {text}" for label, text in zip(labels, texts))
    return f"{alt}: {setting}" if alt else setting


def render(function: Callable[..., None], alt: str = "", max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES,
           dpi: int = DPI, **controls) -> str:
    """The book's explorer: every frame drawn, and the HTML the book's script animates."""
    names = list(controls)
    labels = [controls[name].label or name for name in names]
    choices = [controls[name].book_values() for name in names]
    count = math.prod(len(values) for values in choices)
    what = f"explorer of {getattr(function, '__name__', 'a function')}"
    if count > max_frames:
        sizes = " × ".join(f"{label} {len(values)}" for label, values in zip(labels, choices))
        raise ValueError(f"{what}: {count} frames ({sizes}) is more than {max_frames}: give sliders fewer book "
                         "values (`book=[...]` or `points=`)")
    initial = [next(k for k, (_, value) in enumerate(values) if value == controls[name].value)
               for name, values in zip(names, choices)]
    start = _random_state()
    after_initial = None
    frames: list[str] = []
    seen: dict[str, int] = {}
    index: list[int] = []
    for positions in itertools.product(*(range(len(values)) for values in choices)):
        _set_random_state(start)
        kwargs = {name: values[position][1] for name, values, position in zip(names, choices, positions)}
        with _quiet_figures() as drawn:
            function(**kwargs)
        if list(positions) == initial:
            after_initial = _random_state()
        if len(drawn) != 1:
            raise ValueError(f"{what}: drawing {kwargs} made {len(drawn)} figures; an explorer's function draws "
                             "exactly one matplotlib figure")
        url = encode_figure(drawn[0], dpi)
        index.append(seen.setdefault(url, len(frames)))
        if index[-1] == len(frames):
            frames.append(url)
    _set_random_state(after_initial)
    size = sum(len(url) for url in frames) * 3 // 4
    if size > max_bytes:
        raise ValueError(f"{what}: its {len(frames)} frames take {size / 1e6:.2f} MB, more than "
                         f"{max_bytes / 1e6:.2f} MB: give sliders fewer book values or draw a smaller figure")
    return explorer_html(frames, index, alt, labels, choices, initial,
                         kinds=["range" if isinstance(controls[name], Slider) or controls[name].slider else "select"
                                for name in names],
                         key=hashlib.sha256(f"{what}{next(_counter)}".encode()).hexdigest()[:8])


def explorer_html(frames: list[str], index: list[int], alt: str, labels: list[str], choices: list[list],
                  initial: list[int], kinds: list[str], key: str) -> str:
    """The explorer's element: labelled controls, the initial frame and the data for the script."""
    texts = [[text for text, _ in values] for values in choices]
    rows = []
    for k, (label, values, position, kind) in enumerate(zip(labels, texts, initial, kinds)):
        ident = f"cnn-explorer-{key}-{k}"
        if kind == "range":
            control = (f'<input type="range" id="{ident}" min="0" max="{len(values) - 1}" step="1" '
                       f'value="{position}" aria-valuetext="{html.escape(values[position])}" data-cnn-explorer-control>'
                       f'<output for="{ident}">{html.escape(values[position])}</output>')
        else:
            options = "".join(f'<option value="{v}"{" selected" if v == position else ""}>{html.escape(text)}</option>'
                              for v, text in enumerate(values))
            control = f'<select id="{ident}" data-cnn-explorer-control>{options}</select>'
        rows.append(f'<div class="cnn-explorer-control"><label for="{ident}">{html.escape(label)}</label>'
                    f'{control}</div>')
    flat = sum(p * math.prod(len(v) for v in texts[k + 1:]) for k, p in enumerate(initial))
    first_alt = alt_text(alt, labels, [values[p] for values, p in zip(texts, initial)])
    data = json.dumps({"alt": alt, "labels": labels, "values": texts, "index": index, "frames": frames},
                      separators=(",", ":")).replace("</", "<\\/")
    return (f'<div class="cnn-explorer" id="cnn-explorer-{key}">'
            f'<form class="cnn-explorer-controls" onsubmit="return false">{"".join(rows)}</form>'
            f'<img class="cnn-explorer-frame" src="{frames[index[flat]]}" alt="{html.escape(first_alt)}">'
            f'<script type="application/json" class="cnn-explorer-data">{data}</script></div>')
