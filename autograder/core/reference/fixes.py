"""The menu of fixes that chapter 11's debugging exercise chooses from: one definition, free of torch, so
that the checks (which name it when their module is imported) and :mod:`.debugging` (which applies
each fix to a training run) read the same tuple.

- ``"lower_lr"``: divide the learning rate by :data:`.debugging.LR_FACTOR`;
- ``"higher_lr"``: multiply it by the same factor;
- ``"he_init"``: draw every weight with He's std sqrt(2 / fan_in);
- ``"dropout"``: drop half the hidden units at every step (it fights overfitting, and cures none of
  the failures of :mod:`.debugging`).
"""

FIXES = ("lower_lr", "higher_lr", "he_init", "dropout")
