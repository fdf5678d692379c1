"""Banks of known-wrong implementations, one module per chapter (``chNN_title.py``).

Each module defines ``WRONG``: a list of :class:`Wrong`. The tests grade each one through the
real sandbox and assert its score and its diagnosis.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    check_id: str  # e.g. "02-convolution.conv_forward_naive"
    name: str  # what the mistake is, for the test id
    source: str  # the full replacement source of the exercise's solution cell
    score: float  # the exact score the test cell must get (out of its nbgrader points)
    diagnosis: str = ""  # a substring the feedback must contain ("" when none is expected)
