"""The published book: builds with warnings as errors, never shows a solution or a hidden test,
loads nothing from the web, launches the student notebooks; the instructor edition shows both."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
import yaml
from conftest import ASSIGNMENTS, ROOT, solution_notebook
from test_build import solution_lines

from autograder.book import clean, derive, execute, html, images, sources
from autograder.grader.spec import read_spec

HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def built(book_build):
    """The book as `make book` builds it (conftest's ``book_build``)."""
    assert "execution cache:" in book_build.stdout
    return HTML


def _all_text(html_dir):
    for path in html_dir.rglob("*"):
        if path.is_file() and path.suffix not in {".png", ".jpg", ".woff", ".woff2", ".ttf", ".ico", ".gif"}:
            yield path, path.read_text(errors="ignore")


def test_book_has_every_page(built):
    for source in sources.sources():
        assert (built / "book" / f"{source.stem}.html").exists()
    assert (built / "index.html").exists()


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_no_solution_line_under_build_html(built, stem):
    lines = solution_lines(stem)
    assert lines
    for path, text in _all_text(built):
        for line in lines:
            assert line not in text, f"solution line in {path.relative_to(ROOT)}: {line}"
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, path


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_download_gives_the_student_notebook(built, stem):
    downloaded = built / "_sources" / "book" / f"{stem}.ipynb"
    assert downloaded.read_text() == (sources.CHAPTERS / f"{stem}.ipynb").read_text()
    assert f"_sources/book/{stem}.ipynb" in (built / "book" / f"{stem}.html").read_text()


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_pages_show_the_reference_passing_every_visible_check(built, stem):
    page = nbformat.read(sources.PAGES / f"{stem}.ipynb", as_version=4)
    tests = [c for c in page.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        text = str(cell.outputs)
        assert "Passed" in text and "Not yet" not in text, cell.source


# ---------------------------------------------------------------------- offline: nothing from the web

class _Refs(HTMLParser):
    """Every (tag, attribute, value) of a page that names another resource."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data", "poster", "srcset") and value:
                self.refs.append((tag, name, value))


def _pages(html_dir):
    """The book's pages (not the theme's Jinja macro files that Sphinx copies into _static/)."""
    return sorted(path for path in html_dir.rglob("*.html")
                  if not {"_vendor", "_static"} & set(path.relative_to(html_dir).parts))


@pytest.mark.parametrize("edition", ["html", "instructor"])
def test_no_page_loads_anything_from_outside_the_book(built, instructor_built, edition):
    """Only ordinary outbound links (<a href>) may leave the book; everything else must be in it."""
    html_dir = built if edition == "html" else instructor_built
    pages = _pages(html_dir)
    assert len(pages) >= len(sources.sources()) + 3
    problems = []
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text())
        for tag, name, value in parser.refs:
            parsed = urlsplit(value)
            if tag == "a" and parsed.scheme in ("http", "https", "mailto"):
                continue  # a link the reader may follow, not something the page loads
            if parsed.scheme == "data" or value.startswith("#"):
                continue
            if parsed.scheme or value.startswith("//"):
                problems.append(f"{page.relative_to(html_dir)}: <{tag} {name}={value[:80]}>")
                continue
            target = (page.parent / unquote(parsed.path)).resolve()
            if not target.is_relative_to(html_dir.resolve()) or not target.exists():
                problems.append(f"{page.relative_to(html_dir)}: <{tag} {name}={value[:80]}> is not in the book")
    assert not problems, "\n".join(problems[:30])


def test_stylesheets_fetch_no_fonts_or_imports_from_the_web(built):
    remote = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"']?)(?:https?:)?//", re.IGNORECASE)
    offenders = [str(path.relative_to(built)) for path in built.rglob("*.css") if remote.search(path.read_text())]
    assert not offenders, offenders


def test_vendored_javascript_is_where_the_pages_point(built):
    """MathJax comes from _vendor/, outside _static/ (Jupyter Book would add every .js under _static/ to
    every page), on the pages with formulas only; no page loads a widget manager (none embeds widget state)."""
    for component in ("startup.js", "core.js", "input/tex.js", "output/chtml.js", "a11y/assistive-mml.js"):
        assert (built / "_vendor/mathjax" / component).stat().st_size > 1000, component
    assert not list((built / "_static").rglob("startup.js")) and not list((built / "_vendor").rglob("menu.js"))
    assert sorted(path.name for path in (built / "_vendor").iterdir()) == ["mathjax"]
    for page in sources.PAGES.glob("*.ipynb"):
        assert "widgets" not in nbformat.read(page, as_version=4).metadata, f"{page.name} embeds widget state"
    for page in _pages(built):
        text = page.read_text()
        for name in ("require.js", "embed-amd.js", "html-manager", "@jupyter-widgets"):
            assert name not in text, f"{page.relative_to(built)} loads the widget manager ({name})"
        assert ("_vendor/mathjax/startup.js" in text) == ('class="math' in text), page.relative_to(built)
    assert 'src="../_static/../_vendor/mathjax/startup.js' in (built / "book" / "02-convolution.html").read_text()
    pinned = json.loads((ROOT / "vendor" / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "vendor" / "package-lock.json").read_text())["packages"]
    assert set(pinned) == {"mathjax"} and set(locked) == {"", "node_modules/mathjax"}
    for name, version in pinned.items():
        assert locked[f"node_modules/{name}"]["version"] == version, name
        assert json.loads(_shipped_package_json(built, name).read_text())["version"] == version, name


def _shipped_package_json(built, name: str) -> Path:
    """The package.json copied next to the package's files in _vendor/ (name, version, licence)."""
    target = next(target for target, (package, _) in html.VENDOR_FILES.items() if package == name)
    return built / "_vendor" / target / "package.json"


# ---------------------------------------------------------------------- launch buttons and Binder

def _launch_links(page: Path) -> list[str]:
    parser = _Refs()
    parser.feed(page.read_text())
    return [value for tag, name, value in parser.refs
            if tag == "a" and any(host in value for host in ("binder", "colab", "git-pull"))]


def test_launch_buttons_open_the_student_notebook_of_the_configured_repository(built):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config["repository"]["url"].rstrip("/")
    org, repo = repository.split("github.com/")[1].split("/")[:2]
    branch = config["repository"]["branch"]
    hub = config["launch_buttons"]["jupyterhub_url"].rstrip("/")
    for stem in ASSIGNMENTS:
        links = _launch_links(built / "book" / f"{stem}.html")
        notebook = f"chapters/{stem}.ipynb"
        binder = config["launch_buttons"]["binderhub_url"]
        assert f"{binder}/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{notebook}" in links
        assert f"https://colab.research.google.com/github/{org}/{repo}/blob/{branch}/{notebook}" in links
        hub_links = [link for link in links if link.startswith(f"{hub}/hub/user-redirect/git-pull?")]
        assert len(hub_links) == 1, links
        query = parse_qs(urlsplit(hub_links[0]).query)
        assert query == {"repo": [repository], "urlpath": [f"lab/tree/{repo}/{notebook}"], "branch": [branch]}
        assert len(links) == 3 and all(notebook in unquote(link) for link in links), links
    # a page without a student notebook has nothing to launch
    assert _launch_links(built / "book" / "00-why-cnns.html") == []


def test_the_repository_is_a_binder_repository():
    """repo2docker reads binder/ (and then ignores the root): the same pinned requirements, the CPU
    build of torch, Python 3.11, and the course's package installed so that `from autograder import
    check` works in every chapter."""
    requirements = (ROOT / "binder" / "requirements.txt").read_text().split("\n")
    assert "-r ../requirements.txt" in requirements
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    assert re.search(r"^pip install .*--no-deps -e \.$", post_build.read_text(), re.MULTILINE)


# ---------------------------------------------------------------------- the instructor edition

@pytest.fixture(scope="module")
def instructor_built():
    """`make book-instructor`: the same pages (cached execution) with solutions and hidden tests."""
    result = subprocess.run([sys.executable, "-m", "autograder", "book", "--instructor"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return html.INSTRUCTOR_HTML


class _Text(HTMLParser):
    """The text of a page, and the classes of its <details> elements with whether they start open."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.details: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            attributes = dict(attrs)
            self.details.append((attributes.get("class") or "", "open" in attributes))

    def handle_data(self, data):
        self.parts.append(data)


def _text(page: Path) -> _Text:
    parser = _Text()
    parser.feed(page.read_text())
    return parser


@pytest.mark.parametrize("stem", ASSIGNMENTS)
def test_instructor_edition_shows_every_solution_and_hidden_test_collapsed(instructor_built, stem):
    page = _text(instructor_built / "book" / f"{stem}.html")
    text = "".join(page.parts)
    for line in solution_lines(stem):
        assert line in text, f"solution line missing from the instructor edition: {line}"
    hidden = [line.strip() for cell in solution_notebook(stem).cells for line in cell.source.splitlines()
              if "hidden=True" in line]
    assert hidden and all(line in text for line in hidden)
    spec = read_spec(solution_notebook(stem), stem)
    solutions = [c for c, is_open in page.details if "instructor-solution" in c]
    tests = [c for c, is_open in page.details if "instructor-hidden-tests" in c]
    assert len(solutions) == len(spec.solutions) and len(tests) == len(spec.tests)
    assert not any(is_open for c, is_open in page.details if "instructor-" in c), "dropdowns start collapsed"
    downloaded = instructor_built / "_sources" / "book" / f"{stem}.ipynb"
    assert downloaded.read_text() == sources.dumps(solution_notebook(stem))


def test_instructor_edition_is_labelled_and_the_student_edition_is_not(built, instructor_built):
    for html_dir, labelled in ((instructor_built, True), (built, False)):
        page = (html_dir / "book" / "02-convolution.html").read_text()
        assert ("Instructor edition" in page) is labelled
        assert ("instructor-solution" in page) is labelled
    for path, text in _all_text(built):
        assert "instructor-solution" not in text and "instructor-hidden-tests" not in text, path


def test_the_student_book_sends_students_to_the_students_repository(built, instructor_built):
    """Students read where to get the notebooks (the configured students' repository, also on Colab),
    and never about solutions/; only the instructor edition explains the two repositories."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url, branch = config["repository"]["url"].rstrip("/"), config["repository"]["branch"]
    intro = "".join(_text(built / "book" / "00-why-cnns.html").parts)
    assert f"%pip install -q git+{url}@{branch}" in intro and url in intro
    assert "python -m autograder start" in intro
    for path, text in _all_text(built):
        if path.suffix == ".html":
            assert "solutions/" not in "".join(_text(path).parts), path
    assert "Two repositories" not in intro
    instructor = "".join(_text(instructor_built / "book" / "00-why-cnns.html").parts)
    assert "two repositories, one source" in instructor and "autograder publish" in instructor
    assert "{{" not in intro and "{{" not in instructor, "a substitution was left unreplaced"


# ---------------------------------------------------------------------- the execution cache


def test_editing_prose_reuses_the_execution_cache():
    """The cache key covers the code cells and the kernel-side code, not the prose or cell metadata."""
    page = derive.page_input(solution_notebook("02-convolution"))
    key = execute.cache_key(page, "fingerprint")
    prose = copy.deepcopy(page)
    markdown = next(cell for cell in prose.cells if cell.cell_type == "markdown")
    markdown.source += "\n\nOne more sentence."
    next(cell for cell in prose.cells if cell.cell_type == "code").metadata["tags"] = ["hide-input"]
    assert execute.cache_key(prose, "fingerprint") == key
    code = copy.deepcopy(page)
    next(cell for cell in code.cells if cell.cell_type == "code").source += "\nx = 1"
    assert execute.cache_key(code, "fingerprint") != key
    assert execute.cache_key(page, "another fingerprint") != key


def test_cached_outputs_go_with_the_current_prose():
    page = derive.page_input(solution_notebook("02-convolution"))
    executed = copy.deepcopy(page)
    for number, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.outputs = [nbformat.v4.new_output("stream", text=f"output {number}\n")]
    executed.metadata["widgets"] = {"state": "kept"}
    edited = copy.deepcopy(page)
    edited.cells[0].source = "# A new title"
    merged = execute.with_outputs(edited, executed)
    assert merged.cells[0].source == "# A new title" and merged.metadata["widgets"] == {"state": "kept"}
    assert [c.outputs[0]["text"] for c in merged.cells if c.cell_type == "code"][:2] == ["output 0\n", "output 1\n"]
    edited.cells[[c.cell_type for c in edited.cells].index("code")].source = "changed()"
    with pytest.raises(sources.BuildError):
        execute.with_outputs(edited, executed)


# ---------------------------------------------------------------------- explorers


def test_every_explorer_page_loads_the_books_own_explorer_script(built):
    """The book serves its explorer script and stylesheet itself; every page with an explorer loads them."""
    assert "cnn-explorer" in (built / "_static" / "cnn-explorer.js").read_text()
    assert (built / "_static" / "cnn-explorer.css").is_file()
    pages = [path for path in (built / "book").glob("*.html") if 'class="cnn-explorer"' in path.read_text()]
    assert len(pages) >= 8, [path.name for path in pages]
    for page in pages:
        text = page.read_text()
        assert 'src="../_static/cnn-explorer.js' in text and "cnn-explorer.css" in text, page.name


def test_the_book_serves_its_own_fixes_and_the_search_page_alone_loads_the_pages_text(built):
    """Every page loads the book's script and stylesheet (static/cnn-book.*, as they are in the package,
    not an older copy); only the search page loads the pages' text for its snippets, which holds
    every chapter's words and no script or image."""
    from autograder.book import sphinx

    for name in ("cnn-book.js", "cnn-book.css", "cnn-search.js"):
        assert (built / "_static" / name).read_bytes() == (sphinx.STATIC / name).read_bytes(), name
    # the theme's 1.5 MB Font Awesome script is left out: its stylesheet's webfont draws the icons
    assert (built / "_static" / sphinx.FONTAWESOME_JS).read_text() == sphinx.NO_ICON_SCRIPT
    assert list((built / "_static").rglob("fa-solid-900.woff2"))
    for page in [*(built / "book").glob("*.html"), built / "genindex.html"]:
        text = page.read_text()
        assert "_static/cnn-book.js" in text and "_static/cnn-book.css" in text, page.name
        assert sphinx.SEARCH_PAGES not in text and "cnn-search.js" not in text, page.name
    search = (built / "search.html").read_text()
    assert f'src="_static/{sphinx.SEARCH_PAGES}' in search and 'src="_static/cnn-search.js' in search
    script = (built / "_static" / sphinx.SEARCH_PAGES).read_text()
    assert script.startswith("window.CNN_SEARCH_PAGES = ")
    pages = json.loads(script.removeprefix("window.CNN_SEARCH_PAGES = ").rstrip().rstrip(";"))
    assert {f"book/{path.stem}" for path in sources.sources()} <= set(pages)
    assert "receptive field" in pages["book/02-convolution"].lower()
    assert not any(tag in text for text in pages.values() for tag in ("<script", "<img", "<style"))


def test_page_text_keeps_sections_and_drops_every_other_tag():
    from autograder.book.sphinx import page_text_html

    page = ('<html><body><article><section id="a"><h1>Title<a class="headerlink">#</a></h1><p>Some <b>bold</b>'
            '</p><script>x()</script><img src="f.png" alt="figure"></section></article></body></html>')
    assert page_text_html(page) == '<div role="main"><section id="a">TitleSome bold</section></div>'
    assert page_text_html("<html><body><p>no article</p></body></html>") == ""


def test_png_width_reads_the_header_and_nothing_else(tmp_path):
    from autograder.book.sphinx import png_width

    png = tmp_path / "f.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1234).to_bytes(4, "big") + (5).to_bytes(4, "big"))
    assert png_width(png) == 1234
    (tmp_path / "f.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 30)
    assert png_width(tmp_path / "f.jpg") == 0 and png_width(tmp_path / "missing.png") == 0


def _draw(kind="square", size=1, noise=False):
    """A tiny explorer function: one small figure; with ``noise``, a random title."""
    import matplotlib.pyplot as plt
    import numpy as np

    _, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, size], [0, size] if kind == "square" else [size, 0])
    ax.set_title(f"{np.random.rand():.6f}" if noise else "")
    plt.show()


def test_an_explorer_precomputes_every_setting_with_the_same_random_state():
    import matplotlib
    import numpy as np

    from autograder.kernel import explorer

    matplotlib.use("agg")
    np.random.seed(3)
    after_one_call = (np.random.rand(), np.random.get_state())[1]  # what one call with the initial values leaves
    np.random.seed(3)
    markup = explorer.render(_draw, alt="a line", kind=explorer.Choice(["square", "other"], label="kind"),
                             size=explorer.Slider(1, 9, value=2, label="size", points=3), noise=explorer.Choice(
                                 [("with noise", True), ("plain", False)], label="title"))
    assert np.array_equal(np.random.get_state()[1], after_one_call[1])
    data = json.loads(re.search(r'<script type="application/json" class="cnn-explorer-data">(.*?)</script>',
                                markup).group(1))
    assert data["values"] == [["square", "other"], ["1", "2", "5", "9"], ["with noise", "plain"]]
    assert len(data["index"]) == 2 * 4 * 2 and len(data["frames"]) == len(set(data["frames"])) == 16
    assert all(frame.startswith(("data:image/png;base64,", "data:image/webp;base64,")) for frame in data["frames"])
    # The first frame is the initial setting (size 2), and says so in its alt text.
    assert 'alt="a line: kind square, size 2, title with noise"' in markup
    assert f'src="{data["frames"][data["index"][1 * 2 + 0]]}"' in markup
    assert markup.count("<label for=") == 3 and '<input type="range"' in markup and "<select" in markup
    # The same seed for every frame: the noisy title is the same at every size.
    again = explorer.render(_draw, kind=explorer.Choice(["square"]), size=explorer.Slider(1, 2, value=1, points=2),
                            noise=explorer.Choice([True]))
    frames = json.loads(re.search(r'class="cnn-explorer-data">(.*?)</script>', again).group(1))["frames"]
    assert len(frames) == 2  # two sizes: two pictures, with the same title


def test_an_explorer_that_cannot_be_precomputed_says_what_to_change():
    from autograder.kernel import explorer

    with pytest.raises(ValueError, match="frames .* is more than 150: give sliders fewer book values"):
        explorer.render(_draw, size=explorer.Slider(0, 1000, points=200))
    with pytest.raises(ValueError, match="made 0 figures"):
        explorer.render(lambda size=1: None, size=explorer.Slider(0, 1, points=2))
    with pytest.raises(ValueError, match="more than 0.00 MB"):
        explorer.render(_draw, size=explorer.Slider(0, 1, points=2), max_bytes=10)
    with pytest.raises(ValueError, match="not one of the options"):
        explorer.Choice(["a", "b"], value="c")
    with pytest.raises(TypeError, match="must be an explorer.Choice or explorer.Slider"):
        explorer.interact(_draw, size=[1, 2])


EXPLORER_IN_A_KERNEL = """
import json, os
import ipywidgets
from autograder import explorer
calls = []

def draw(size=1):
    import matplotlib.pyplot as plt
    calls.append(size)
    plt.figure(figsize=(1, 1))
    plt.plot([0, size])
    plt.show()

explorer.interact(draw, alt="a line", size=explorer.Slider(1, 5, value=2, label="size"))
slider = next(w for w in ipywidgets.widgets.widget._instances.values() if isinstance(w, ipywidgets.IntSlider))
slider.value = 4  # a student moves the slider: the live explorer draws again
os.environ[explorer.ENV] = "1"  # as in the book's page kernels
explorer.interact(draw, alt="a line", size=explorer.Slider(1, 5, value=2, label="size", book=[1, 5]))
print(json.dumps({"calls": calls, "description": slider.description, "range": [slider.min, slider.max]}))
"""


def test_students_get_a_live_explorer_and_the_book_a_precomputed_one():
    """In a real kernel: without the book's variable, explorer.interact is a live ipywidgets explorer
    (moving its slider draws again); with it, one HTML explorer of precomputed frames."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT))
    messages = []
    try:
        reply = client.execute_interactive(EXPLORER_IN_A_KERNEL, timeout=300,
                                           output_hook=lambda message: messages.append(message))
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    shown = [message["content"]["data"] for message in messages
             if message["msg_type"] in ("display_data", "execute_result")]
    views = [data for data in shown if "application/vnd.jupyter.widget-view+json" in data]
    assert len(views) == 1, [data.keys() for data in shown]
    html_out = [data["text/html"] for data in shown if 'class="cnn-explorer"' in data.get("text/html", "")]
    assert len(html_out) == 1 and 'alt="a line: size 2"' in html_out[0]
    printed = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
    report = json.loads(printed.strip().splitlines()[-1])
    assert report["calls"][:2] == [2, 4], report  # drawn at 2, then again at 4 when the slider moved
    assert sorted(report["calls"][2:]) == [1, 2, 5]  # the book's frames: its values and the initial one
    assert report["description"] == "size" and report["range"] == [1, 5]


# ---------------------------------------------------------------------- clean and light pages


def _stray_page() -> nbformat.NotebookNode:
    """A page whose cells show, in order, each kind of stray output, then three clean cells."""
    new_cell, out = nbformat.v4.new_code_cell, nbformat.v4.new_output
    stream = lambda text, name="stdout": out("stream", name=name, text=text)
    result = lambda data: out("execute_result", data=data, execution_count=1)
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0}}
    cells = [
        new_cell("# a title\nnp.mean", outputs=[result({"text/plain": "<function mean at 0x7f3a2c1e8b80>"})]),
        new_cell("model.apply", outputs=[result({"text/plain": "<bound method Net.forward of Net()>"})]),
        new_cell("x = torch.tensor(1.0)", outputs=[stream("/home/u/x.py:3: UserWarning: something\n", "stderr")]),
        new_cell("print(path)", outputs=[stream("saved to /tmp/tmpa1b2c3/figure.png\n")]),
        new_cell("print(path)", outputs=[stream("cache in /var/folders/xy/T/abc\n")]),
        new_cell("for i in tqdm(range(15)): pass", outputs=[stream("100%|##########| 15/15 [00:02<00:00, 7.01it/s]\n")]),
        new_cell("for i in tqdm(range(15)): pass", outputs=[out("display_data", data={
            **widget, "text/plain": "NumPy CNN:   0%|          | 0/15 [00:00<?, ?it/s]"})]),
        new_cell("train()", outputs=[stream("trained in 7.0 s; test accuracy 0.973\n")]),
        new_cell("run()", outputs=[stream("Cell executed in 1.25 s\n")]),
        new_cell("run()", outputs=[stream("the epoch took 1.2 s\n")]),
        new_cell("slider", outputs=[out("display_data", data={**widget, "text/plain": "IntSlider(value=3)"})]),
        new_cell("obj", outputs=[result({"text/plain": "<__main__.Net object at 0x7f3a2c1e8b80>"})]),
        new_cell("import warnings; warnings.warn('careful')", outputs=[stream("careful\n", "stderr")]),
        # clean: a timing that is the lesson (milliseconds of each method), a figure, an HTML table
        new_cell("for name, value in seconds.items(): ...", outputs=[stream("im2col + matmul     1.92 ms\n")]),
        new_cell("plt.show()", outputs=[out("display_data", data={"image/png": "iVBORw0KGgo=",
                                                                     "text/plain": "<Figure size 640x480 with 1 Axes>"})]),
        new_cell("HTML(table)", outputs=[result({"text/html": '<table><tr><td><img src="data:image/png;base64,'
                                                 'ab/tmp/it/s"></td><td>0.97</td></tr></table>',
                                                 "text/plain": "<IPython.core.display.HTML object>"})]),
    ]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Page"), *cells])


def test_the_scan_names_the_page_and_the_cell_of_every_stray_output():
    found = clean.stray_outputs(_stray_page(), "05-going-deeper")
    expected = [(2, "# a title", "a function's repr"), (3, "model.apply", "a function's repr"),
                (4, "x = torch.tensor(1.0)", "a warning"), (5, "print(path)", "a temporary path"),
                (6, "print(path)", "a temporary path"), (7, "for i in tqdm", "a progress bar"),
                (8, "for i in tqdm", "a progress bar (a Jupyter widget)"), (9, "train()", "a timing of the build"),
                (10, "run()", "a timing of the build"), (11, "run()", "a timing of the build"),
                (12, "slider", "a Jupyter widget"), (13, "obj", "an object's repr"),
                (14, "import warnings", "output on stderr")]
    assert len(found) == len(expected), "\n".join(found)
    for line, (number, first_line, what) in zip(found, expected):
        assert "\n" not in line
        assert line.startswith(f"05-going-deeper, code cell {number} ({first_line}"), line
        assert f"shows {what}" in line, line


def test_a_page_with_a_stray_output_stops_the_build(monkeypatch, tmp_path):
    """build_pages scans every executed page and stops with one line per cell (here, from the cache)."""
    page = derive.page_input(solution_notebook("00-why-cnns"))
    executed = copy.deepcopy(page)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    code[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="x.py:1: DeprecationWarning: old\n")]
    monkeypatch.setattr(execute, "CACHE", tmp_path)
    monkeypatch.setattr(execute, "sources", lambda: [sources.SOLUTIONS / "00-why-cnns.md"])
    monkeypatch.setattr(execute, "write_student_notebooks", lambda *args, **kwargs: None)
    monkeypatch.setattr(execute, "write_expected", lambda *args, **kwargs: None)
    monkeypatch.setattr(execute, "write_if_changed", lambda *args: None)
    key = execute.cache_key(page, execute._code_fingerprint())
    (tmp_path / f"00-why-cnns.{key}.ipynb").write_text(sources.dumps(executed))
    with pytest.raises(sources.BuildError) as error:
        execute.build_pages(log=lambda message: None)
    index = executed.cells.index(code[0])
    assert str(error.value).startswith(f"00-why-cnns, code cell {index + 1} (")
    assert "shows a warning: 'x.py:1: DeprecationWarning: old'" in str(error.value)


def test_the_built_pages_show_nothing_stray(built):
    pages = sorted(sources.PAGES.glob("*.ipynb"))
    assert len(pages) == len(sources.sources())
    found = [line for page in pages for line in clean.stray_outputs(nbformat.read(page, as_version=4), page.stem)]
    assert not found, "\n".join(found)


def test_figures_are_stored_smaller_only_when_they_look_the_same():
    import base64
    import io

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    matplotlib.use("agg")
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.sin(np.linspace(0, 6, 50)), color="tab:red")
    ax.set_title("a plot")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    plot = buffer.getvalue()
    smaller = images.smaller_png(plot)
    assert len(smaller) < 0.8 * len(plot) and Image.open(io.BytesIO(smaller)).mode == "P"
    assert images.close_enough(Image.open(io.BytesIO(smaller)).convert("RGB"), Image.open(io.BytesIO(plot)).convert("RGB"))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    kept = images.smaller_png(_png_bytes(noise.convert("RGBA")))  # too many colours: RGB, lossless
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(kept)).convert("RGB")), np.asarray(noise))
    clear = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert images.smaller_png(_png_bytes(clear)) == _png_bytes(clear)  # transparency: kept as it is
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plt.show()", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(plot).decode()})])])
    assert images.shrink_figures(notebook) == len(plot) - len(smaller)
    assert base64.b64decode(notebook.cells[0].outputs[0]["data"]["image/png"]) == smaller


def _png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------- legible figures: the smallest text

# Cells a page kernel of the book runs (autograder/book/execute.KERNEL_SETUP measures every figure).
MEASURED_CELLS = [
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 90",
    # 5-point fine print among 10-point ticks: 5 * 90 / 72 = 6.25 px of the image
    ("fig, ax = plt.subplots(figsize=(4, 3)); ax.plot([0, 1]); ax.set_title('a plot', fontsize=12)\n"
    "ax.text(0.1, 0.5, 'fine print', fontsize=5); plt.show()"),
    # hidden and empty texts are not drawn: the ticks' 10 points are the smallest, 12.5 px
    ("fig, ax = plt.subplots(figsize=(4, 3)); ax.plot([0, 1]); ax.text(0.1, 0.5, 'hidden', fontsize=5).set_visible(False)\n"
    "ax.text(0.2, 0.2, ' ', fontsize=3); plt.show()"),
    # a subscript is 0.7 of its 12 points: 8.4 points, 10.5 px; the axes are off, so no tick label counts
    ("fig, ax = plt.subplots(figsize=(4, 3)); ax.imshow([[0, 1]]); ax.axis('off'); ax.set_title('$w_{ij}$', fontsize=12)\n"
    "plt.show()"),
    "fig, ax = plt.subplots(figsize=(2, 2)); ax.imshow([[0, 1]]); ax.axis('off'); plt.show()",  # no text at all
    # an explorer's frame (a palette PNG or a WebP) keeps the record: 8 points at its 72 dpi, 8 px
    ("from autograder.kernel.explorer import encode_figure\nfig, ax = plt.subplots(figsize=(4, 3))\n"
    "ax.set_title('frame', fontsize=8); ax.set_xticks([]); ax.set_yticks([]); print(encode_figure(fig)); plt.close(fig)"),
]


@pytest.fixture(scope="module")
def measured_figures() -> list[bytes]:
    """The images the cells above show, executed as the book executes a page (and shrunk as it stores them)."""
    import base64

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in MEASURED_CELLS])
    executed = execute.execute(notebook, "figures-test", timeout=300)
    images.shrink_figures(executed)
    found = []
    for cell in executed.cells[1:]:
        for output in cell.outputs:
            if "image/png" in output.get("data", {}):
                found.append(base64.b64decode(output["data"]["image/png"]))
            elif output.get("name") == "stdout":
                found.append(base64.b64decode(output["text"].strip().split(",", 1)[1]))
    return found


def test_every_figure_records_the_size_of_its_smallest_text(measured_figures):
    """The book's page kernels write in each figure the smallest drawn text in pixels of its image (what
    tests/test_browser.py checks as displayed): fine print counts, hidden text does not, a subscript
    counts at its size, a figure without text says so; the shrunk PNG and an explorer's frame keep it."""
    from autograder.kernel.figures import NO_TEXT, recorded_px

    records = [recorded_px(data)[:2] for data in measured_figures]
    assert records == [("6.25", "fine print"), ("12.50", "0.0"), ("10.50", "$w_{ij}$"), (NO_TEXT, ""),
                       ("8.00", "frame")], records
    assert all(data.startswith(b"\x89PNG") for data in measured_figures[:4])


def test_a_figure_drawn_outside_the_books_kernels_records_nothing():
    """Only the book's page kernels measure (a student's figure is not changed): without the hook, no record."""
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    from autograder.kernel.figures import recorded_px

    matplotlib.use("agg")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_title("title")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    assert recorded_px(buffer.getvalue())[0] is None
