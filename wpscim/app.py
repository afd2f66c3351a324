"""Builds the Falcon WSGI app: media handlers, middleware, routes, error handlers."""

from __future__ import annotations

import falcon
from falcon.routing import CompiledRouter

from wpscim.http import errors, media
from wpscim.http.access_log import AccessLog
from wpscim.http.bulk import Bulk
from wpscim.http.discovery import OpenApi, ResourceTypes, Schemas, ServiceProviderConfig
from wpscim.http.groups import GroupItem, GroupsCollection
from wpscim.http.health import Health
from wpscim.http.middleware import BASE, BearerAuth, CanonicalPath, ChunkedBody, DatabaseGate, RequestId
from wpscim.http.search import RootSearch
from wpscim.http.users import UserItem, UsersCollection
from wpscim.wordpress.status import ServiceStatus, report
from wpscim.wordpress.storage import Storage


def create_app(
    storage: Storage,
    *,
    access_log: bool = False,
    metrics_token_sha256: str | None = None,
    database_requests: int | None = None,
    wp_config=None,
    installation=None,
) -> falcon.App:
    """`access_log`: a JSON line per request on standard error. `metrics_token_sha256`: serve /metrics to
    the token with this SHA-256 (hex); without it there is no /metrics. `database_requests`: at most
    this many requests using the database at once (the server's threads less one; see DatabaseGate).
    `wp_config` (a WordPressConfig: its salts let the admin page accept WordPress's login cookie) and
    `installation` (the site's URL and object cache, for the page's Health) describe the site beyond
    its database."""
    status = ServiceStatus(storage.db, storage.changes)
    router = CompiledRouter()  # also asked for the route of requests refused before routing (metrics, log)
    observers, metrics = [], None
    if access_log:
        observers.append(AccessLog(router))
    if metrics_token_sha256:
        from wpscim.http.metrics import Metrics  # prometheus_client only when metrics are wanted

        metrics = Metrics(status, metrics_token_sha256, router)
        observers.append(metrics.middleware)
    gate = [DatabaseGate(database_requests)] if database_requests else []
    app = falcon.App(
        media_type=media.SCIM_JSON,
        router=router,
        middleware=[RequestId(), *observers, CanonicalPath(), BearerAuth(storage.tokens), ChunkedBody(), *gate],
    )
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
    app.add_route("/healthz", Health(status.ping))  # outside BASE: no token
    if metrics is not None:
        app.add_route("/metrics", metrics.endpoint)  # its own token
    from wpscim import admin  # outside BASE: WordPress's login (or a one-time link), never a bearer token

    admin.install(
        app,
        storage,
        wp_constants=wp_config.constants if wp_config is not None else None,
        health=lambda: report(status, storage.site, installation, str(wp_config.path) if wp_config and wp_config.path else None),
    )
    errors.register(app)
    return app
