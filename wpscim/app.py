"""Builds the Falcon WSGI app: media handlers, middleware, routes, error handlers."""

from __future__ import annotations

import falcon

from wpscim.http import errors, media
from wpscim.http.bulk import Bulk
from wpscim.http.discovery import OpenApi, ResourceTypes, Schemas, ServiceProviderConfig
from wpscim.http.groups import GroupItem, GroupsCollection
from wpscim.http.middleware import BASE, BearerAuth, CanonicalPath, RequestId
from wpscim.http.search import RootSearch
from wpscim.http.users import UserItem, UsersCollection
from wpscim.wordpress.storage import Storage


def create_app(storage: Storage) -> falcon.App:
    app = falcon.App(media_type=media.SCIM_JSON, middleware=[RequestId(), CanonicalPath(), BearerAuth(storage.tokens)])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.keep_blank_qs_values = False
    media.install(app)
    users, user = UsersCollection(storage), UserItem(storage)
    groups, group = GroupsCollection(storage), GroupItem(storage)
    app.add_route(f"{BASE}/Users", users)
    app.add_route(f"{BASE}/Users/.search", users, suffix="search")
    app.add_route(f"{BASE}/Users/{{user_id}}", user)
    app.add_route(f"{BASE}/Groups", groups)
    app.add_route(f"{BASE}/Groups/.search", groups, suffix="search")
    app.add_route(f"{BASE}/Groups/{{group_id}}", group)
    app.add_route(f"{BASE}/.search", RootSearch(storage, groups))
    app.add_route(f"{BASE}/Bulk", Bulk({"Users": (users, user), "Groups": (groups, group)}))
    app.add_route(f"{BASE}/ServiceProviderConfig", ServiceProviderConfig())
    app.add_route(f"{BASE}/ResourceTypes", ResourceTypes())
    app.add_route(f"{BASE}/ResourceTypes/{{item_id}}", ResourceTypes(), suffix="item")
    app.add_route(f"{BASE}/Schemas", Schemas())
    app.add_route(f"{BASE}/Schemas/{{item_id}}", Schemas(), suffix="item")
    app.add_route(f"{BASE}/openapi.json", OpenApi())
    errors.register(app)
    return app
