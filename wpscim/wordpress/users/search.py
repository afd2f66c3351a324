"""Finding users: IdP lookups through indexes, pages in ID order from the primary key, filters
translated to SQL (wpscim.wordpress.query) and checked by the reference evaluator where SQL can
only narrow the candidates."""

from __future__ import annotations

import time

from wpscim.scim import filter as scim_filter
from wpscim.wordpress.query import login_lookup, selective_ids, sort_expression, translate
from wpscim.wordpress.users.reading import UserReader

CANDIDATE_BATCH = 500
COUNT_CACHE_SECONDS = 2.0
# How long a page's end is kept for the import's next page. A delete shifts the pages after it; this
# process forgets on its own deletes, but not on another process's or WordPress's: an end is used once,
# and only by the page that follows within this time (an import asks page after page at once).
PAGE_END_SECONDS = 5.0


class UserSearch:
    def __init__(self, reader: UserReader):
        self.reader = reader
        self.site = reader.site
        self.mapping = reader.mapping
        self._total: tuple[float, int] | None = None
        self._page_ends: dict[int, tuple[float, int]] = {}  # startIndex -> (when, last ID of the page before it)

    def forget_counts(self, ids_shifted: bool = False) -> None:
        """After this process created or deleted a user: the cached total is stale (and after a
        delete, the offsets of the pages after it shift by one)."""
        self._total = None
        if ids_shifted:
            self._page_ends.clear()

    def search(
        self,
        session,
        expr: scim_filter.Filter | None,
        start: int,
        count: int,
        sort_by: scim_filter.AttrPath | None = None,
        descending: bool = False,
    ) -> tuple[int, list[dict]]:
        """One page of users matching `expr` (in ID order unless `sort_by`), and the total."""
        candidates = self._lookup_candidates(session, expr) if expr is not None else None
        if candidates is not None:
            # An IdP lookup: the few candidates are read and checked by the reference evaluator.
            found = [u for u in candidates if scim_filter.matches(expr, u, self.mapping.case_exact)]
            if sort_by is not None:
                found = scim_filter.sorted_resources(found, sort_by, descending, self.mapping.case_exact)
            return len(found), found[start - 1 : start - 1 + count]
        where, params, exact = ("1=1", [], True) if expr is None else translate(expr, self.site, self.mapping)
        ordering = sort_expression(sort_by, self.site, self.mapping) if sort_by else ("u.ID", [])
        if exact and ordering is not None:
            order, order_params = ordering
            ids = []
            if count > 0:
                if sort_by is None:
                    ids = self._page_in_id_order(session, where, params, start, count, keyset=expr is None)
                else:
                    direction = "DESC" if descending else "ASC"
                    # Missing values last, as the in-memory sort does (the expression appears twice).
                    session.execute(
                        f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY (COALESCE({order}, '') = ''), "
                        f"{order} {direction}, u.ID LIMIT {int(count)} OFFSET {int(start) - 1}",
                        [*params, *order_params, *order_params],
                    )
                    ids = [row[0] for row in session.fetchall()]
            if start == 1 and len(ids) < count:
                total = len(ids)  # the whole result is in this page (every IdP lookup): no COUNT needed
            else:
                total = self._count(session, where, params, cacheable=expr is None)
            return total, self.reader.load(session, ids)
        # The SQL is a superset, or the sort key is not in SQL: check and sort each candidate here.
        session.execute(f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY u.ID", params)
        candidates_ids = [row[0] for row in session.fetchall()]
        matched = []
        for offset in range(0, len(candidates_ids), CANDIDATE_BATCH):
            batch = candidates_ids[offset : offset + CANDIDATE_BATCH]
            matched += [
                r for r in self.reader.load(session, batch) if expr is None or scim_filter.matches(expr, r, self.mapping.case_exact)
            ]
        if sort_by is not None:
            matched = scim_filter.sorted_resources(matched, sort_by, descending, self.mapping.case_exact)
        return len(matched), matched[start - 1 : start - 1 + count]

    def _lookup_candidates(self, session, expr: scim_filter.Filter) -> list[dict] | None:
        """The users an IdP lookup (`userName eq`, `externalId eq`, `id eq`, and/or of them) can match,
        found through indexes; None when the filter is not that selective."""
        user_name = login_lookup(expr)
        if user_name is not None:
            return self.reader.by_login(session, user_name)
        ids = selective_ids(expr, session, self.site, self.mapping)
        if ids is None or len(ids) > CANDIDATE_BATCH:
            return None
        return self.reader.load(session, sorted(ids))

    def _page_in_id_order(self, session, where: str, params: list, start: int, count: int, keyset: bool) -> list[int]:
        """A page's IDs in ID order, from the primary key alone. An import paging on from where the
        previous page ended (startIndex = previous + count) seeks to that page's last ID instead of
        counting past every earlier user."""
        after = None
        if keyset and (end := self._page_ends.pop(start, None)) is not None and time.monotonic() - end[0] < PAGE_END_SECONDS:
            after = end[1]
        if after is not None:
            session.execute(f"SELECT u.ID FROM {self.site.users} u WHERE u.ID > %s ORDER BY u.ID LIMIT {int(count)}", [after])
        else:
            session.execute(
                f"SELECT u.ID FROM {self.site.users} u WHERE {where} ORDER BY u.ID LIMIT {int(count)} OFFSET {int(start) - 1}", params
            )
        ids = [row[0] for row in session.fetchall()]
        if keyset and ids:
            if len(self._page_ends) > 64:
                self._page_ends.clear()
            self._page_ends[start + len(ids)] = (time.monotonic(), ids[-1])
        return ids

    def _count(self, session, where: str, params: list, cacheable: bool) -> int:
        """COUNT(*) of a filter; for the unfiltered listing (an IdP import pages through it) at most
        COUNT_CACHE_SECONDS old, and never older than this process's own last create or delete."""
        if cacheable and self._total is not None and time.monotonic() - self._total[0] < COUNT_CACHE_SECONDS:
            return self._total[1]
        session.execute(f"SELECT COUNT(*) FROM {self.site.users} u WHERE {where}", params)
        total = session.fetchone()[0]
        if cacheable:
            self._total = (time.monotonic(), total)
        return total
