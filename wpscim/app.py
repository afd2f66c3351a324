"""Builds the Falcon WSGI app: middleware, routes, error handlers."""

from __future__ import annotations

import falcon

from wpscim.http import errors
from wpscim.http.media import SCIM_JSON
from wpscim.http.middleware import BASE, BearerAuth, CanonicalPath
from wpscim.http.groups import GroupItem, GroupsCollection
from wpscim.http.users import UserItem, UsersCollection
from wpscim.wordpress.db import Database
from wpscim.wordpress.roles import RolePolicy, RoleStore
from wpscim.wordpress.site import Site
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy, UserStore


def create_app(db: Database, site: Site, policy: Policy = Policy(), role_policy: RolePolicy = RolePolicy()) -> falcon.App:
    app = falcon.App(media_type=SCIM_JSON, middleware=[CanonicalPath(), BearerAuth(TokenStore(db, site))])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.keep_blank_qs_values = False
    roles = RoleStore(site, role_policy)
    users = UserStore(db, site, policy, roles)
    app.add_route(f"{BASE}/Users", UsersCollection(users))
    app.add_route(f"{BASE}/Users/{{user_id}}", UserItem(users))
    app.add_route(f"{BASE}/Groups", GroupsCollection(db, roles))
    app.add_route(f"{BASE}/Groups/{{group_id}}", GroupItem(db, roles))
    errors.register(app)
    return app
