"""Builds the Falcon WSGI app: middleware, routes, error handlers."""

from __future__ import annotations

import falcon

from wpscim.http import errors
from wpscim.http.media import SCIM_JSON
from wpscim.http.middleware import BASE, BearerAuth, CanonicalPath
from wpscim.http.bulk import Bulk
from wpscim.http.discovery import OpenApi, ResourceTypes, Schemas, ServiceProviderConfig
from wpscim.http.groups import GroupItem, GroupsCollection
from wpscim.http.search import RootSearch
from wpscim.http.users import UserItem, UsersCollection
from wpscim.mapping import DEFAULT as DEFAULT_MAPPING
from wpscim.mapping import Mapping
from wpscim.wordpress.db import Database
from wpscim.wordpress.observed import ObservedPaths
from wpscim.wordpress.roles import RolePolicy, RoleStore
from wpscim.wordpress.site import Site
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy, UserStore


def create_app(db: Database, site: Site, policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy(),
               user_mapping: Mapping = DEFAULT_MAPPING) -> falcon.App:
    app = falcon.App(media_type=SCIM_JSON, middleware=[CanonicalPath(), BearerAuth(TokenStore(db, site))])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.keep_blank_qs_values = False
    roles = RoleStore(site, role_policy)
    users = UserStore(db, site, policy, roles, user_mapping)
    observed = ObservedPaths(db, site)
    users_collection, groups_collection = UsersCollection(users, observed), GroupsCollection(db, roles)
    app.add_route(f"{BASE}/Users", users_collection)
    app.add_route(f"{BASE}/Users/.search", users_collection, suffix="search")
    app.add_route(f"{BASE}/Users/{{user_id}}", UserItem(users, observed))
    app.add_route(f"{BASE}/Groups", groups_collection)
    app.add_route(f"{BASE}/Groups/.search", groups_collection, suffix="search")
    app.add_route(f"{BASE}/Groups/{{group_id}}", GroupItem(db, roles))
    app.add_route(f"{BASE}/.search", RootSearch(users, groups_collection))
    bulk = Bulk()
    app.add_route(f"{BASE}/Bulk", bulk)
    app.add_route(f"{BASE}/ServiceProviderConfig", ServiceProviderConfig())
    app.add_route(f"{BASE}/ResourceTypes", ResourceTypes())
    app.add_route(f"{BASE}/ResourceTypes/{{item_id}}", ResourceTypes(), suffix="item")
    app.add_route(f"{BASE}/Schemas", Schemas())
    app.add_route(f"{BASE}/Schemas/{{item_id}}", Schemas(), suffix="item")
    app.add_route(f"{BASE}/openapi.json", OpenApi())
    errors.register(app)
    bulk.app = app
    return app
