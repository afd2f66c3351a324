"""The admin page at /wpscim/admin/: site owners manage provisioning signed in with their WordPress login
(or a one-time link from `wpscim admin link`). HTTP and HTML only: it calls the storage façade, the site's
settings and the sign-in checks of wpscim.wordpress, never SQL."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from wpscim.admin.auth import PREFIX, AdminAuth
from wpscim.admin.pages import Activity, Admin, Connection, Health, MappingPage, NotFound, SignInLink, SignOut, Static
from wpscim.wordpress.admin_access import AdminAccess
from wpscim.wordpress.login_cookie import LoginCookies
from wpscim.wordpress.settings import EDITABLE, SiteSettings


def install(app: falcon.App, storage, *, wp_constants: dict | None, health: Callable[[], dict]) -> None:
    """Add the admin page's routes. `wp_constants`: wp-config.php's define()s (None without --wp-config: no
    sign-in with WordPress's cookie then, only with a one-time link)."""
    settings = storage.settings
    if settings is None:  # an app built without the site's settings: the page shows the policies as fixed
        settings = SiteSettings(storage.db, storage.site, storage.users.policy, storage.roles.policy, fixed=frozenset(EDITABLE))
    auth = AdminAuth(LoginCookies(storage.db, storage.site, wp_constants, storage.roles), AdminAccess(storage.db, storage.site))
    admin = Admin(storage, auth, settings, health)
    app.add_route(PREFIX, Connection(admin))
    app.add_route(f"{PREFIX}/mapping", MappingPage(admin))
    app.add_route(f"{PREFIX}/activity", Activity(admin))
    app.add_route(f"{PREFIX}/health", Health(admin))
    app.add_route(f"{PREFIX}/link", SignInLink(admin))
    app.add_route(f"{PREFIX}/signout", SignOut(admin))
    app.add_route(f"{PREFIX}/static/{{name}}", Static())
    app.add_sink(NotFound(admin), PREFIX + "/")
