"""The WordPress site beyond its database: its URL, its wp-content folder and its object cache, found
from wp-config.php (when given), the site's options and the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wpscim.wordpress.wpconfig import WordPressConfig

REDIS_DROP_IN_MARK = "Plugin Name: Redis Object Cache"  # the Redis Object Cache plugin's drop-in (rhubarbgroup/redis-cache)
# With these the drop-in spreads keys over several servers: wpscim leaves such a cache to the companion.
_REDIS_SEVERAL_SERVERS = ("WP_REDIS_CLUSTER", "WP_REDIS_SHARDS", "WP_REDIS_SERVERS", "WP_REDIS_SENTINEL")
# Debian's packaged WordPress: /etc/wordpress/config-<host>.php holds the site's settings, and the loader
# that requires it defines WP_CONTENT_DIR afterwards (/var/lib/wordpress/wp-content), not beside it.
DEBIAN_LOADER = Path("/usr/share/wordpress/wp-config.php")
_DEBIAN_SITE_FILE = re.compile(r"config-.+\.php")
_CONTENT_DIR_DEFINE = re.compile(r"""define\(\s*['"]WP_CONTENT_DIR['"]\s*,\s*(['"])([^'"$]+)\1\s*\)""")


@dataclass(frozen=True)
class RedisSettings:
    """Where the Redis Object Cache drop-in keeps WordPress's cache, and how it names keys."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a Unix socket
    database: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    prefix: str = ""  # WP_REDIS_PREFIX (or WP_CACHE_KEY_SALT)
    timeout: float = 1.0

    @classmethod
    def from_constants(cls, constants: dict) -> RedisSettings:
        password = constants.get("WP_REDIS_PASSWORD")
        username = constants.get("WP_REDIS_USERNAME")
        if isinstance(password, (list, tuple)):  # ['username', 'password']
            username, password = password[0], password[1]
        prefix = constants.get("WP_REDIS_PREFIX", constants.get("WP_CACHE_KEY_SALT", ""))
        return cls(
            host=str(constants.get("WP_REDIS_HOST", "127.0.0.1")),
            port=int(constants.get("WP_REDIS_PORT", 6379)),
            path=constants.get("WP_REDIS_PATH") or None,
            database=int(constants.get("WP_REDIS_DATABASE", 0)),
            username=username or None,
            password=password or None,
            tls=str(constants.get("WP_REDIS_SCHEME", "tcp")).lower() in ("tls", "rediss"),
            prefix=str(prefix or "").strip(),
            timeout=float(constants.get("WP_REDIS_TIMEOUT", 1)),
        )

    def url(self) -> str:
        """For messages: where, without the password."""
        return f"unix://{self.path}" if self.path else f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class Installation:
    url: str | None = None  # the site's home URL (where the companion answers)
    content_dir: Path | None = None  # wp-content
    object_cache: str = "none"  # "none", "redis" (the Redis Object Cache drop-in, cleared by wpscim) or "other"
    redis: RedisSettings | None = None

    @property
    def mu_plugins(self) -> Path | None:
        return self.content_dir / "mu-plugins" if self.content_dir else None

    @property
    def companion_file(self) -> Path | None:
        return self.mu_plugins / "wpscim-companion.php" if self.mu_plugins else None


def discover(
    config: WordPressConfig | None,
    home_option: str | None,
    *,
    url: str | None = None,
    redis_url: str | None = None,
    redis_prefix: str | None = None,
    object_cache: str = "auto",
) -> Installation:
    """What wp-config.php, the site's `home` option and the command line say about the site.
    `object_cache`: "auto" (found from wp-content's drop-in), or the operator's word: "none", or
    "companion" (a persistent cache only WordPress can clear)."""
    constants = config.constants if config else {}
    home = url or constants.get("WP_HOME") or home_option or constants.get("WP_SITEURL")
    content = content_dir(config) if config is not None else None
    home = str(home).rstrip("/") if home else None
    if redis_url:
        return Installation(home, content, "redis", _from_url(redis_url, redis_prefix or ""))
    if object_cache != "auto":
        return Installation(home, content, "other" if object_cache == "companion" else "none")
    found, redis = "none", None
    drop_in = content / "object-cache.php" if content else None
    if drop_in is not None and drop_in.is_file():
        head = drop_in.read_text(encoding="utf-8", errors="replace")[:2000]
        if (
            REDIS_DROP_IN_MARK in head
            and not any(name in constants for name in _REDIS_SEVERAL_SERVERS)
            and not constants.get("WP_REDIS_DISABLED")
        ):
            found, redis = "redis", RedisSettings.from_constants(constants)
        else:
            found = "other"
    return Installation(home, content, found, redis)


def content_dir(config: WordPressConfig) -> Path | None:
    """wp-content: WP_CONTENT_DIR, else the folder beside wp-config.php, else, for a Debian site file
    (config-<host>.php) with no wp-content beside it, the one Debian's loader defines."""
    given = config.constants.get("WP_CONTENT_DIR")
    if isinstance(given, str) and given:
        return Path(given)
    if config.path is None:
        return None
    beside = config.path.parent / "wp-content"
    if not beside.is_dir() and _DEBIAN_SITE_FILE.fullmatch(config.path.name) and DEBIAN_LOADER.is_file():
        found = _CONTENT_DIR_DEFINE.search(DEBIAN_LOADER.read_text(encoding="utf-8", errors="replace"))
        if found:
            return Path(found.group(2))
    return beside


def _from_url(url: str, prefix: str) -> RedisSettings:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    if parsed.scheme == "unix":
        return RedisSettings(path=parsed.path, prefix=prefix)
    return RedisSettings(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 6379,
        database=int(parsed.path.lstrip("/") or 0),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        tls=parsed.scheme == "rediss",
        prefix=prefix,
    )
