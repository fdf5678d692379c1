"""The whole flow (init, grade, export) with the gradebook on a real PostgreSQL server.

The test starts its own server from Debian's binaries (``/usr/lib/postgresql/*/bin``): ``initdb``
into a temporary directory, ``pg_ctl start`` listening only on a Unix socket in that directory,
as the ``postgres`` user when the tests run as root (the server refuses to run as root). Without
the binaries the test is skipped, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import cli

from autograder.course import demo
from autograder.course import store as results

STEM = "02-convolution"
STUDENTS = 4
PORT = 5432  # only names the socket file: the server listens on no TCP port


def _skip_or_fail(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run this test (.ci/run installs Debian's postgresql)")
    pytest.skip(reason)


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _skip_or_fail("PostgreSQL server binaries not found (install Debian's postgresql)")
    return Path(found[-1]).parent


@pytest.fixture(scope="module")
def server():
    """A private PostgreSQL server; yields (socket directory, run-as prefix)."""
    bin_dir = _binaries()
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            _skip_or_fail("running as root and there is no `postgres` user to run the server as")
        os.chown(root, account.pw_uid, account.pw_gid)
        root.chmod(0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *command], capture_output=True, text=True, check=False)

    init = run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    assert init.returncode == 0, init.stdout + init.stderr
    options = f"-k {root} -c listen_addresses='' -p {PORT} -c fsync=off"
    start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    assert start.returncode == 0, start.stdout + start.stderr + (log.read_text() if log.exists() else "")
    try:
        created = run(str(bin_dir / "createdb"), "-h", str(root), "-p", str(PORT), "-U", "postgres", "gradebook")
        assert created.returncode == 0, created.stderr
        yield root
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _sql(socket_dir: Path, query: str) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(host=str(socket_dir), port=PORT, user="postgres", dbname="gradebook")
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()
    finally:
        connection.close()


def test_init_grade_export_on_postgresql(server, tmp_path):
    url = f"postgresql+psycopg2://postgres@/gradebook?host={server}&port={PORT}"
    course = tmp_path / "course"
    result = cli("init", str(course), "--assignment", STEM, "--db", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _sql(server, "SELECT name FROM assignment") == [(STEM,)]  # nbgrader generate_assignment wrote here
    manifest = dict(demo.make_submissions(course, STUDENTS, attacks=False))

    result = cli("grade", STEM, "--course", str(course), "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"graded {STUDENTS} of {STUDENTS}" in result.stdout
    assert not (course / "gradebook.db").exists()  # nothing went to SQLite

    totals = dict(_sql(server, """
        SELECT sa.student_id, SUM(g.auto_score) FROM grade g
        JOIN submitted_notebook sn ON g.notebook_id = sn.id
        JOIN submitted_assignment sa ON sn.assignment_id = sa.id GROUP BY sa.student_id"""))
    stored = results.load(course, STEM)
    assert set(totals) == set(manifest) == set(stored)
    for student, data in stored.items():
        assert float(totals[student]) == pytest.approx(data["score"]), student

    result = cli("export", "--course", str(course))
    assert result.returncode == 0, result.stderr
    with (course / "exports" / "grades.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["student_id"] for row in rows} == set(manifest)
    for row in rows:
        assert row["status"] == "graded"
        assert float(row["score"]) == pytest.approx(float(totals[row["student_id"]]))
        exercises = [value for key, value in row.items() if key.startswith(f"{STEM}.")]
        assert len(exercises) == 8 and sum(map(float, exercises)) == pytest.approx(float(row["score"]))

    # a second run against the same server skips everything: the results and the rows are there
    again = cli("grade", STEM, "--course", str(course), "--no-progress")
    assert again.returncode == 0 and f"graded 0 of {STUDENTS}" in again.stdout, again.stdout + again.stderr
    assert _sql(server, "SELECT COUNT(*) FROM submitted_assignment") == [(STUDENTS,)]
