"""The command line prints the package's own errors on one line and lets a real bug show its traceback."""

from __future__ import annotations

import pytest

from autograder import cli
from autograder.core.errors import UserError
from autograder.course.directory import CourseError


@pytest.mark.parametrize("error", [CourseError("no such course; run init"), UserError("fix this")])
def test_a_user_error_is_one_line(monkeypatch, capsys, error):
    monkeypatch.setattr(cli, "_run", lambda args: (_ for _ in ()).throw(error))
    assert cli.main(["export"]) == 2
    assert capsys.readouterr().err == f"error: {error}\n"


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_keeps_its_traceback(monkeypatch, error):
    monkeypatch.setattr(cli, "_run", lambda args: (_ for _ in ()).throw(error))
    with pytest.raises(type(error)):
        cli.main(["export"])


def test_a_bad_setting_is_a_user_error(monkeypatch):
    from autograder.sandbox import Limits, SandboxConfigError

    monkeypatch.setenv("AUTOGRADER_RUN_TIMEOUT", "soon")
    with pytest.raises(SandboxConfigError, match="AUTOGRADER_RUN_TIMEOUT='soon' is not a number"):
        Limits()
    assert issubclass(SandboxConfigError, UserError)
