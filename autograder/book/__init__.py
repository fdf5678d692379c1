"""The book build: from ``solutions/`` to the student notebooks and the published, offline book.

- :mod:`.sources`  the repository's layout; reading a chapter's single source
- :mod:`.derive`   the derived notebooks: student notebook, page to execute, book page, instructor page
- :mod:`.publish`  an executed page made ready for the book (captions, alt text, conventions)
- :mod:`.execute`  executing the pages in fresh kernels, with a cache keyed by folders
- :mod:`.html`     ``build_book``: Jupyter Book, vendored JavaScript, offline checks (``make book``)
- :mod:`.sphinx`   the book's Sphinx extension (launch buttons, figure numbers, scripts)
- :mod:`.chapters` writing ``chapters/`` without ever overwriting a person's edit
- :mod:`.students` the students' repository (``publish``) and a student's working copy (``start``)

Rule (held by ``tests/test_layers.py``): the book imports :mod:`autograder.core` and
:mod:`autograder.kernel` (the pages' kernels run it), never the grader, sandbox, course or CLI.
"""
