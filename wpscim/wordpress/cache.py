"""Clearing WordPress's cached copies of what changed, directly in the Redis Object Cache drop-in's
Redis (no PHP in the request path): the same keys WordPress's clean_user_cache() deletes, built the
way the drop-in builds them (`{WP_REDIS_PREFIX}{prefix}:{group}:{key}`, ':' in a part replaced by '-';
see its fast_build_key()), for the user as it was before the change and as it is after (an old login,
e-mail or nicename must stop resolving), and the options a role change touches."""

from __future__ import annotations

import logging
import threading

import redis

from wpscim.wordpress.events import Event
from wpscim.wordpress.installation import RedisSettings
from wpscim.wordpress.site import Site

log = logging.getLogger("wpscim")
_BATCH = 1000  # keys per DEL


class RedisCache:
    def __init__(self, settings: RedisSettings, site: Site):
        self.settings = settings
        self.site = site
        # The drop-in's prefixes: on a single site both are $table_prefix; on a network global groups
        # have none and the others the blog's ID. Trimmed of '_-:$', as the drop-in trims them.
        self._global = "" if site.multisite else site.base_prefix.strip("_-:$")
        self._blog = str(site.blog_id) if site.multisite else site.base_prefix.strip("_-:$")
        self.client = redis.Redis(
            host=settings.host,
            port=settings.port,
            unix_socket_path=settings.path,
            db=settings.database,
            username=settings.username,
            password=settings.password,
            ssl=settings.tls,
            socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout,
        )
        self._held = threading.local()

    def _key(self, group: str, key, global_group: bool = True) -> str:
        prefix = self._global if global_group else self._blog
        return f"{self.settings.prefix}{prefix}:{group.replace(':', '-')}:{str(key).replace(':', '-')}"

    def keys(self, events: list[Event]) -> list[str]:
        """Every cache key the events' changes make stale."""
        keys: dict[str, None] = {}
        for event in events:
            if event.resource_type == "User":
                for snapshot in (event.detail.get("before"), event.detail.get("after")):
                    if snapshot:
                        keys.update(dict.fromkeys(self._user_keys(snapshot.get("ID") or event.resource_id, snapshot)))
                if event.resource_id:
                    keys.update(dict.fromkeys(self._user_keys(event.resource_id, {})))
                keys[self._key("users", "last_changed")] = None
                keys.update(dict.fromkeys(self._reassigned_keys(event.detail)))
            else:
                for option in ("alloptions", "notoptions", f"{self.site.prefix}user_roles"):
                    keys[self._key("options", option, global_group=False)] = None
                for user_id in event.detail.get("users") or ():
                    keys.update(dict.fromkeys(self._user_keys(user_id, {})))
                keys[self._key("users", "last_changed")] = None
        return list(keys)

    def _reassigned_keys(self, detail: dict) -> list[str]:
        """A deleted user's posts and links, now another's: what wp_delete_user()'s clean_post_cache() and
        clean_bookmark_cache() delete of them (each blog's own keys on a network)."""
        keys = []
        for group, listed, last in (("posts", detail.get("posts"), "last_changed"), ("bookmark", detail.get("links"), "get_bookmarks")):
            for blog, ids in (listed or {}).items():
                prefix = blog if self.site.multisite else self._blog
                keys += [f"{self.settings.prefix}{prefix}:{group}:{item}" for item in ids]
                keys.append(f"{self.settings.prefix}{prefix}:{group}:{last}")
        return keys

    def _user_keys(self, user_id, snapshot: dict) -> list[str]:
        keys = []
        if user_id:
            keys += [self._key("users", user_id), self._key("user_meta", user_id)]
        if snapshot.get("user_login"):
            keys.append(self._key("userlogins", snapshot["user_login"]))
        if snapshot.get("user_nicename"):
            keys.append(self._key("userslugs", snapshot["user_nicename"]))
        if snapshot.get("user_email"):
            keys.append(self._key("useremail", snapshot["user_email"]))
        return keys

    def clear(self, events: list[Event]) -> None:
        """Delete the stale keys; raises redis.RedisError when Redis cannot be reached.

        Each thread keeps one connection of the client's pool and sends DEL on it: this runs after every
        commit, and the client's per-command checkout, retry and instrumentation cost about as much CPU
        as the round trip to Redis itself. A connection Redis closed (it restarted) is replaced once."""
        keys = self.keys(events)
        try:
            self._delete(keys)
        except redis.ConnectionError:
            self._delete(keys)

    def _delete(self, keys: list[str]) -> None:
        conn = getattr(self._held, "conn", None)
        if conn is None:
            conn = self._held.conn = self.client.connection_pool.get_connection()
        try:
            for offset in range(0, len(keys), _BATCH):
                conn.send_command("DEL", *keys[offset : offset + _BATCH])
                conn.read_response()
        except BaseException:
            conn.disconnect()  # its answer may still be on the way: the next call connects afresh
            raise

    def reachable(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.client.close()
