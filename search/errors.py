"""The engine's one family of user errors: what an operator or a reader can act on.

The CLI maps them to one line and exit code 1, the web app to 503 (the index)
with ``public``, a message that names no server path.
"""

from __future__ import annotations


class IndexProblem(Exception):
    """A problem with the index a user can act on (missing, damaged, locked, cannot be written).

    ``str(exc)`` is for the operator (the CLI, the log) and may name paths;
    ``exc.public`` is what a web reader is told, without server paths, and ``exc.public_ar`` the same
    in Arabic (what to expect, not what the operator must do: a server down is no index to rebuild).
    """

    def __init__(
        self,
        message: str,
        public: str = "the search index is not available right now",
        public_ar: str = "فهرس البحث غير متاح حاليا؛ أعد المحاولة بعد قليل",
    ) -> None:
        super().__init__(message)
        self.public = public
        self.public_ar = public_ar


class IndexMissing(IndexProblem):
    def __init__(self, message: str) -> None:
        super().__init__(message, public="no search index has been built yet",
                         public_ar="لم يُبنَ فهرس البحث بعد: على المشرف بناؤه")


class IndexBusy(IndexProblem):
    """Another writer holds the index."""


class NothingToIndex(IndexProblem):
    """A reindex found no document to index: the live index was left as it was."""
