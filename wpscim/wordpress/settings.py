"""Settings the admin page keeps in the site's database (one option, `wpscim_settings`, JSON), read by every
wpscim process without a restart:

    {"deprovision": "delete", "reassign_to": 1, "never_grant": ["administrator"], "never_remove": [],
     "mapping": [{"scim": "title", "meta": "job_title"}, …]}

What decides, setting by setting: a command-line flag or environment variable that was given explicitly
(`fixed`) wins; else the page's value; else the command line's default. The effective mapping is the
built-in table, then the page's entries, then the `--mapping` file's entries (which win). Each process
re-reads the option at most every CACHE_SECONDS; while the database does not answer, the values last
read still hold."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass

from wpscim.scim import schemas
from wpscim.wordpress.db import Database
from wpscim.wordpress.errors import Invalid, Unavailable
from wpscim.wordpress.mapping import Field, Mapping
from wpscim.wordpress.mapping_file import MappingError, check_entries, overlay
from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.site import Site
from wpscim.wordpress.users import Policy

OPTION = "wpscim_settings"
CACHE_SECONDS = 3.0
DEPROVISION = ("deactivate", "delete")
EDITABLE = ("deprovision", "reassign_to", "never_grant", "never_remove")
PAGE_SOURCE = "admin page"
log = logging.getLogger("wpscim")


@dataclass(frozen=True)
class Effective:
    policy: Policy
    role_policy: RolePolicy
    mapping: Mapping
    mapping_version: str  # changes exactly when the effective mapping does
    stored: dict  # what the page saved (the option's value)
    page_fields: tuple[Field, ...]  # the page's mapping entries in force


class SiteSettings:
    def __init__(
        self,
        db: Database,
        site: Site,
        policy: Policy = Policy(),
        role_policy: RolePolicy = RolePolicy(),
        *,
        fixed: frozenset = frozenset(),
        file_fields: tuple[Field, ...] = (),
        file_source: str | None = None,
        extension: schemas.Attribute | None = None,
    ):
        """`policy`, `role_policy`: the command line's values; `fixed`: the names of EDITABLE settings it was
        given explicitly; `file_fields`: the --mapping file's own entries (`file_source` its name)."""
        self.db = db
        self.site = site
        self.base_policy = policy
        self.base_role_policy = role_policy
        self.fixed = frozenset(fixed)
        self.file_fields = tuple(file_fields)
        self.file_source = file_source
        self.extension = extension
        self._cache: tuple[float, Effective] | None = None
        self._lock = threading.Lock()

    # --- reading ------------------------------------------------------------------------------

    def _read(self, session, for_update: bool = False) -> dict:
        session.execute(
            f"SELECT option_value FROM {self.site.options} WHERE option_name = %s" + (" FOR UPDATE" if for_update else ""), (OPTION,)
        )
        row = session.fetchone()
        try:
            value = json.loads(row[0]) if row else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    def current(self) -> Effective:
        cached = self._cache
        if cached is not None and time.monotonic() - cached[0] <= CACHE_SECONDS:
            return cached[1]
        with self._lock:
            cached = self._cache
            if cached is not None and time.monotonic() - cached[0] <= CACHE_SECONDS:
                return cached[1]
            try:
                with self.db.reading() as session:
                    stored = self._read(session)
            except Unavailable:
                if cached is None:
                    stored = {}  # start with the command line's settings; the next read may see the page's
                else:
                    self._cache = (time.monotonic(), cached[1])
                    return cached[1]
            effective = self._effective(stored, cached[1] if cached else None)
            self._cache = (time.monotonic(), effective)
            return effective

    def forget(self) -> None:
        """Read the option again on next use (after this process saved it)."""
        self._cache = None

    def _effective(self, stored: dict, previous: Effective | None) -> Effective:
        policy, role_policy = self.base_policy, self.base_role_policy
        if "deprovision" not in self.fixed and stored.get("deprovision") in DEPROVISION:
            policy = dataclasses.replace(policy, deprovision=stored["deprovision"])
        if "reassign_to" not in self.fixed and "reassign_to" in stored:
            value = stored["reassign_to"]
            if value is None or (isinstance(value, int) and value > 0):
                policy = dataclasses.replace(policy, reassign_to=value)
        for name in ("never_grant", "never_remove"):
            value = stored.get(name)
            if name not in self.fixed and isinstance(value, list) and all(isinstance(v, str) for v in value):
                role_policy = dataclasses.replace(role_policy, **{name: frozenset(value)})
        entries = stored.get("mapping") or []
        try:
            page_fields = tuple(self.check_mapping(entries)) if isinstance(entries, list) else ()
        except MappingError as exc:  # saved by another version of wpscim: the page's entries are left out
            log.warning("the admin page's attribute mapping is not used: %s", exc)
            page_fields = ()
        text = json.dumps([sorted(e.items()) for e in entries] if page_fields else [], sort_keys=True, default=str)
        version = hashlib.sha256(text.encode()).hexdigest()[:16]
        if previous is not None and previous.mapping_version == version:
            mapping = previous.mapping  # unchanged: the stores built for it stay
        else:
            source = " + ".join(s for s in ("built-in", PAGE_SOURCE if page_fields else None, self.file_source) if s)
            mapping = overlay(page_fields, self.file_fields, source=source)
        return Effective(policy, role_policy, mapping, version, stored, page_fields)

    # --- the mapping's checks -----------------------------------------------------------------

    def file_fixes(self, field_or_path: str) -> Field | None:
        """The --mapping file's entry for a SCIM path or a WordPress target, if it has one."""
        wanted = field_or_path.lower()
        return next((f for f in self.file_fields if f.scim.lower() == wanted or f.target.lower() == wanted), None)

    def check_mapping(self, entries: list) -> list[Field]:
        """The page's entries checked as a mapping file's [[attribute]] tables are (same checks, same
        messages), and against the file, whose entries are fixed."""

        def where(index: int) -> str:
            entry = entries[index]
            scim = entry.get("scim") if isinstance(entry, dict) else None
            return f"{PAGE_SOURCE}: {scim}" if isinstance(scim, str) else f"{PAGE_SOURCE}: entry {index + 1}"

        fields = check_entries(entries, where, self.extension)
        for index, field in enumerate(fields):
            fixed = self.file_fixes(field.scim) or self.file_fixes(field.target)
            if fixed is not None:
                raise MappingError(
                    f"{where(index)}: {fixed.scim} -> {fixed.target} is set by the mapping file {self.file_source} (it wins over the page)"
                )
        return fields

    # --- writing ------------------------------------------------------------------------------

    def _update(self, change) -> dict:
        with self.db.transaction() as tx:
            tx.execute(f"INSERT IGNORE INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, '{{}}', 'no')", (OPTION,))
            stored = self._read(tx, for_update=True)
            change(stored)
            tx.execute(
                f"UPDATE {self.site.options} SET option_value = %s WHERE option_name = %s",
                (json.dumps(stored, sort_keys=True, separators=(",", ":")), OPTION),
            )
        self.forget()
        return stored

    def save_policy(self, values: dict) -> None:
        """Store deprovisioning and role settings (`values`: any of EDITABLE). Invalid values and settings the
        command line fixes are refused (Invalid), nothing stored."""
        clean = {}
        for name, value in values.items():
            if name not in EDITABLE:
                raise Invalid(f"'{name}' is not a setting the page keeps")
            if name in self.fixed:
                raise Invalid(f"'{name}' is set by the command line; change it there")
            if name == "deprovision" and value not in DEPROVISION:
                raise Invalid(f"deprovision must be one of {', '.join(DEPROVISION)}")
            if name == "reassign_to" and value is not None and not (isinstance(value, int) and value > 0):
                raise Invalid("reassign_to must be a user ID (or empty: the lowest-ID administrator)")
            if name in ("never_grant", "never_remove"):
                if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) and v for v in value):
                    raise Invalid(f"{name} must be a list of role slugs")
                value = sorted(set(value))
            clean[name] = value
        if clean.get("reassign_to") is not None:
            with self.db.reading() as session:
                session.execute(f"SELECT 1 FROM {self.site.users} WHERE ID = %s", (clean["reassign_to"],))
                if session.fetchone() is None:
                    raise Invalid(f"there is no user {clean['reassign_to']} to receive deleted users' posts")
        self._update(lambda stored: stored.update(clean))

    def save_mapping(self, entries: list[dict]) -> None:
        """Store the page's mapping entries, checked whole first (MappingError: nothing stored)."""
        self.check_mapping(entries)
        self._update(lambda stored: stored.__setitem__("mapping", entries))
