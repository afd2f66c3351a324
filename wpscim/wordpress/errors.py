"""What storage answers when it cannot do what was asked, in storage terms. `wpscim.http.errors`
decides what each means to a SCIM client; nothing below `http/` knows HTTP statuses or SCIM error types."""

from __future__ import annotations


class StorageError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(StorageError):
    """The user or role does not exist."""


class Conflict(StorageError):
    """Another resource holds a value that must be unique (`uniqueness`), or the site's state does not
    allow the change now (`uniqueness=False`: e.g. the user receives deleted users' posts)."""

    def __init__(self, detail: str, uniqueness: bool = True):
        super().__init__(detail)
        self.uniqueness = uniqueness


class Invalid(StorageError):
    """A value WordPress cannot hold, or a change the site's policy refuses."""

    def __init__(self, detail: str, immutable: bool = False):
        super().__init__(detail)
        self.immutable = immutable  # the attribute or resource may not be changed this way at all


class Forbidden(StorageError):
    """The site's policy does not let a provisioning token make this change at all (e.g. the sign-in of
    an administrator)."""


class Unavailable(StorageError):
    """The database cannot answer now. `rerun_safe`: nothing of the transaction was committed, so the
    whole unit of work may be run again at once (a deadlock victim, a lock wait that timed out, a
    connection lost before COMMIT was sent)."""

    def __init__(self, detail: str, retry_after: int = 5, rerun_safe: bool = False):
        super().__init__(detail)
        self.retry_after = retry_after
        self.rerun_safe = rerun_safe


class OutcomeUnknown(Unavailable):
    """The connection was lost while COMMIT was under way and the database could not be asked since
    whether it committed."""
