"""The ``matchsim`` command line: argument parsing and rendering only.

Every command calls the public library API. User errors print one line and exit 2;
unexpected failures exit 1 and suggest ``--debug`` for the traceback.

One module per command (:mod:`~matchsim.cli.generate`, :mod:`~matchsim.cli.run`, ...), the
application that lists them and maps errors to exit codes (:mod:`~matchsim.cli.app`), what
they print (:mod:`~matchsim.cli.render`) and what they share (:mod:`~matchsim.cli.options`).
"""

from __future__ import annotations

from matchsim.cli.app import app, main

__all__ = ["app", "main"]
