"""POST /.search (RFC 7644 §3.4.3): one search over Users, then Groups, paged as one list."""

from __future__ import annotations

from dataclasses import replace

from wpscim.http.errors import retrying
from wpscim.http.groups import GroupResources
from wpscim.http.media import read_json, write_streamed_json
from wpscim.http.users import search_users
from wpscim.scim.listing import list_query, list_response
from wpscim.wordpress.storage import Storage


class RootSearch:
    uses_database = True  # see http.middleware.DatabaseGate

    def __init__(self, storage: Storage, groups: GroupResources):
        self.storage = storage
        self.groups = groups

    @retrying
    def on_post(self, req, resp) -> None:
        query = list_query(read_json(req))
        users_total, users = search_users(req, self.storage, query)
        skipped = max(0, query.start - 1 - users_total)
        room = query.count - len(users)
        if room > 0:
            groups_total, groups = self.groups.search(req, replace(query, start=skipped + 1, count=room))
        else:  # no room for groups: only their number is wanted (and no members read)
            groups_total, groups = len(self.groups.matching(req, query)[0]), []
        write_streamed_json(resp, list_response(users + groups, users_total + groups_total, query.start))
