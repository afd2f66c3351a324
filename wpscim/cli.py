"""Command line: `wpscim serve`, `token create|list|revoke`, `check`, `upgrade`, `events`, `companion install`,
`index create|drop|status`, `mapping show|observed|check`, `admin link`. Options are declared with click: each names its environment variable,
and values are checked (ranges, choices, switches) before anything runs."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from wpscim import __version__
from wpscim.scim.schemas import register_extension
from wpscim.wordpress import companion as companion_module
from wpscim.wordpress.cache import RedisCache
from wpscim.wordpress.companion import Companion, CompanionUnreachable, ensure_key, home_url
from wpscim.wordpress.db import Database, ensure_database
from wpscim.wordpress.errors import StorageError
from wpscim.wordpress.events import GROUP_ACTIONS, USER_ACTIONS, ChangeLog
from wpscim.wordpress.installation import Installation, discover
from wpscim.wordpress.mapping import DEFAULT as DEFAULT_MAPPING
from wpscim.wordpress.mapping import lands
from wpscim.wordpress.mapping_file import MappingError, load_mapping, parse_entries
from wpscim.wordpress.notifier import WordPressNotifier
from wpscim.wordpress.observed import ObservedPaths
from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.settings import SiteSettings
from wpscim.wordpress.site import NoWordPressTables, Site, check_mapping_against_database, detect, init_schema, lookup_index, missing_tables
from wpscim.wordpress.site import upgrade as upgrade_site
from wpscim.wordpress.storage import Storage
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy
from wpscim.wordpress.wpconfig import ConfigError, WordPressConfig, read_wp_config, resolve_database

_POSITIVE, _PORT = click.IntRange(min=1), click.IntRange(1, 65535)
_option = functools.partial(click.option, show_envvar=True)  # --help names each variable


def _database_options(command):
    """Where WordPress's database is (first found wins), and which site."""
    for option in reversed(
        [
            _option("--database-url", envvar="WPSCIM_DATABASE_URL", help="mysql://user:pass@host:port/db"),
            _option("--wp-config", envvar="WPSCIM_WP_CONFIG", help="path to WordPress's wp-config.php"),
            _option("--table-prefix", envvar="WPSCIM_TABLE_PREFIX", help="override $table_prefix (default wp_)"),
            _option(
                "--blog-id",
                type=_POSITIVE,
                default=1,
                envvar="WPSCIM_BLOG_ID",
                show_default=True,
                help="multisite: the site whose roles are used",
            ),
            click.option(
                "--init-schema",
                is_flag=True,
                help="create the database, WordPress's tables and default roles, and wpscim's change log when absent",
            ),
        ]
    ):
        command = option(command)
    return command


def _wordpress_options(command):
    """Where the site answers and caches, beyond its database (see wpscim.wordpress.installation)."""
    for option in reversed(
        [
            _option(
                "--wp-url",
                envvar="WPSCIM_WP_URL",
                help="the site's URL, where the companion plugin answers [default: WP_HOME in wp-config.php, else the home option]",
            ),
            _option(
                "--redis-url",
                envvar="WPSCIM_REDIS_URL",
                help="redis://host:port/db of the Redis Object Cache drop-in [default: WP_REDIS_* in wp-config.php, when the "
                "drop-in is there]",
            ),
            _option("--redis-prefix", default="", envvar="WPSCIM_REDIS_PREFIX", help="WP_REDIS_PREFIX, with --redis-url"),
            _option(
                "--object-cache",
                type=click.Choice(["auto", "none", "companion"]),
                default="auto",
                envvar="WPSCIM_OBJECT_CACHE",
                show_default=True,
                help="WordPress's persistent object cache: found in wp-content (auto), none, or one only "
                "WordPress can clear (companion: requests wait for it)",
            ),
        ]
    ):
        command = option(command)
    return command


@dataclass
class _Opened:
    db: Database
    site: Site
    created_site: bool  # --init-schema created WordPress's tables: a brand-new site
    config: WordPressConfig | None  # wp-config.php, when given


def _open(params: dict, pool_size: int = 4) -> _Opened:
    address, prefix = resolve_database(params["database_url"], params["wp_config"], params["table_prefix"])
    config = read_wp_config(params["wp_config"]) if params["wp_config"] else None
    if params["init_schema"] and ensure_database(address):
        click.echo(f"created database {address.without_password()}", err=True)
    db = Database(address, max_connections=pool_size, fast_path=params.get("fast_path"))
    created = bool(params["init_schema"] and init_schema(db, prefix))
    if created:
        click.echo(f"created WordPress tables with prefix '{prefix}' in {address.without_password()}", err=True)
    return _Opened(db, detect(db, prefix, params["blog_id"]), created, config)


def _opened(params: dict, pool_size: int = 4) -> _Opened:
    """_open, with every problem a person can fix reported as one line, not a traceback."""
    try:
        return _open(params, pool_size)
    except (ConfigError, NoWordPressTables, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except StorageError as exc:
        raise click.ClickException(f"cannot use the database: {exc.detail}") from None


def _mapping(path: str | None):
    """The effective mapping (and the site's extension schema, registered for /Schemas)."""
    if not path:
        return DEFAULT_MAPPING
    try:
        user_mapping, extension = load_mapping(path)
    except MappingError as exc:
        raise click.ClickException(str(exc)) from None
    if extension is not None:
        register_extension(extension, extension.description)
    return user_mapping


_LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
LOG_MESSAGE_MAX = 4000


def _one_line(text: str) -> str:
    text = _LINE_BREAKING.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)
    if len(text) > LOG_MESSAGE_MAX:
        text = f"{text[:LOG_MESSAGE_MAX]}… ({len(text) - LOG_MESSAGE_MAX} characters cut)"
    return text


class OneLineFormatter(logging.Formatter):
    """Log lines an operator can trust: a value a client sent (a member id, a path, or quoted in an
    exception's message) can neither start a line of its own, passing for one of wpscim's, nor fill the
    disk. Control characters in a message are written escaped, and a message is cut at LOG_MESSAGE_MAX
    characters; a traceback keeps its lines, each escaped and cut the same way and marked with '| '."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _one_line(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return "\n".join(f"| {_one_line(line)}" for line in super().formatException(ei).splitlines())

    def formatStack(self, stack_info: str) -> str:
        return "\n".join(f"| {_one_line(line)}" for line in super().formatStack(stack_info).splitlines())


def configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


class _Commands(click.Group):
    """Every command: a database that cannot do what was asked is one line on stderr and exit 1, not a
    traceback (the pool and the read-only or full database say what they can)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StorageError as exc:
            raise click.ClickException(f"the database: {exc.detail}") from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wpscim")
def main() -> None:
    """SCIM 2.0 provisioning into WordPress's own tables."""
    configure_logging()


# --- serve ----------------------------------------------------------------------------------------


_METRICS_TOKEN_MIN = 16


def _metrics_token(value: str | None) -> str | None:
    """--metrics-token becomes its SHA-256 as soon as it is read: the token itself is kept nowhere."""
    if not value:
        return None
    if len(value.strip()) < _METRICS_TOKEN_MIN or value != value.strip():
        raise click.BadParameter(
            f"use at least {_METRICS_TOKEN_MIN} characters, without surrounding spaces "
            "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return hashlib.sha256(value.encode("utf-8")).hexdigest()  # as wpscim.http.metrics.Metrics compares it


def _metrics_token_file(path: str | None) -> str | None:
    """--metrics-token-file: the token read from a file (trailing line breaks dropped, as the official
    WordPress image reads its *_FILE secrets), never from the environment."""
    if not path:
        return None
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    return _metrics_token(text.rstrip("\r\n"))


@main.command()
@_database_options
@_option("--host", default="127.0.0.1", envvar="WPSCIM_HOST", show_default=True)
@_option("--port", type=_PORT, default=8080, envvar="WPSCIM_PORT", show_default=True)
@_option(
    "--server",
    type=click.Choice(["granian", "gunicorn"]),
    default="granian",
    envvar="WPSCIM_SERVER",
    show_default=True,
    help="HTTP server: granian (HTTP in Rust) or gunicorn (pure Python); both finish requests in flight on SIGTERM",
)
@_option("--threads", type=_POSITIVE, default=4, envvar="WPSCIM_THREADS", show_default=True, help="request threads per process")
@_option("--processes", type=_POSITIVE, default=1, envvar="WPSCIM_PROCESSES", show_default=True, help="server processes sharing the port")
@_option(
    "--pool-size",
    type=_POSITIVE,
    envvar="WPSCIM_POOL_SIZE",
    help="connections in each of the two pools, writes and reads [default: one per thread]",
)
@_option(
    "--fast-path/--no-fast-path",
    default=True,
    envvar="WPSCIM_FAST_PATH",
    show_default=True,
    help="the driver fast path (wpscim.wordpress.driver); off: PyMySQL as published",
)
@_option(
    "--deprovision",
    type=click.Choice(["deactivate", "delete"]),
    default="deactivate",
    envvar="WPSCIM_DEPROVISION",
    show_default=True,
    help="what active=false does (deactivate: a reversible suspension)",
)
@_option(
    "--reassign-to",
    type=_POSITIVE,
    envvar="WPSCIM_REASSIGN_TO",
    help="user ID receiving a deleted user's posts [default: the lowest-ID administrator]",
)
@_option("--mapping", "mapping_file", envvar="WPSCIM_MAPPING", help="TOML file routing SCIM attributes to users columns or usermeta keys")
@_option(
    "--group-template",
    default="subscriber",
    envvar="WPSCIM_GROUP_TEMPLATE",
    show_default=True,
    help="role whose capabilities a group created by POST /Groups starts with",
)
@_option(
    "--never-grant",
    default="administrator",
    envvar="WPSCIM_NEVER_GRANT",
    show_default=True,
    help="comma-separated roles SCIM may take away but never grant ('' for none); roles that administer the site are never granted, whatever this says",
)
@_option("--never-remove", default="", envvar="WPSCIM_NEVER_REMOVE", help="comma-separated roles SCIM may never take away")
@_option(
    "--unknown-members",
    type=click.Choice(["ignore", "reject"]),
    default="ignore",
    envvar="WPSCIM_UNKNOWN_MEMBERS",
    show_default=True,
    help="member ids that are no WordPress user: ignore them (logged, in the audit trail) or reject the change (400)",
)
@_option(
    "--lean-group-patch",
    is_flag=True,
    envvar="WPSCIM_LEAN_GROUP_PATCH",
    help="PATCH /Groups answers without members unless ?attributes=members (for roles with very many members)",
)
@_option(
    "--max-groups",
    type=click.IntRange(0, 10000),
    default=100,
    envvar="WPSCIM_MAX_GROUPS",
    show_default=True,
    help="roles POST /Groups may create (WordPress loads every role on every page); linking to an existing role is always allowed",
)
@_option(
    "--allow-role-delete",
    is_flag=True,
    envvar="WPSCIM_ALLOW_ROLE_DELETE",
    help="let DELETE /Groups remove built-in roles and roles wpscim did not create",
)
@_option(
    "--allow-administrator-credentials",
    is_flag=True,
    envvar="WPSCIM_ALLOW_ADMINISTRATOR_CREDENTIALS",
    help="let SCIM change the password, e-mail and userName of users who administer the site or its administrators",
)
@_wordpress_options
@_option(
    "--wait-for-wordpress",
    type=click.FloatRange(0, 30),
    default=2.0,
    envvar="WPSCIM_WAIT_FOR_WORDPRESS",
    show_default=True,
    help="seconds a request waits for the companion to clean a cache only WordPress can clean",
)
@_option(
    "--event-retention-days",
    type=click.IntRange(min=0),
    default=90,
    envvar="WPSCIM_EVENT_RETENTION_DAYS",
    show_default=True,
    help="days change events are kept (0: for ever)",
)
@_option(
    "--change-log/--no-change-log",
    default=True,
    envvar="WPSCIM_CHANGE_LOG",
    show_default=True,
    help="record every change (audit trail; clears WordPress's caches, fires its hooks); off only to measure its cost",
)
@_option(
    "--access-log/--no-access-log",
    default=True,
    envvar="WPSCIM_ACCESS_LOG",
    show_default=True,
    help="one JSON line per request on standard error (never a token, password or hash)",
)
@_option(
    "--metrics-token",
    "metrics_token_sha256",
    envvar="WPSCIM_METRICS_TOKEN",
    callback=lambda _ctx, _param, value: _metrics_token(value),
    help=f"serve Prometheus metrics at /metrics to requests bearing this token ({_METRICS_TOKEN_MIN}+ characters; "
    "only its hash is kept) [default: no /metrics]",
)
@_option(
    "--metrics-token-file",
    "metrics_token_file_sha256",
    envvar="WPSCIM_METRICS_TOKEN_FILE",
    callback=lambda _ctx, _param, value: _metrics_token_file(value),
    help="read the metrics token from this file instead (a compose secret, systemd's LoadCredential=)",
)
def serve(**params) -> None:
    """Serve SCIM 2.0 at http://HOST:PORT/scim/v2."""
    from wpscim import serving

    try:
        serving.ensure_port_free(params["host"], params["port"])
    except serving.PortInUse as exc:
        raise click.ClickException(str(exc)) from None
    os.environ.pop("WPSCIM_METRICS_TOKEN", None)  # the workers get its hash in their settings, not the token
    from_file = params.pop("metrics_token_file_sha256")
    if from_file and params["metrics_token_sha256"]:
        raise click.UsageError("give the metrics token once: --metrics-token or --metrics-token-file")
    params["metrics_token_sha256"] = params["metrics_token_sha256"] or from_file
    user_mapping = _mapping(params["mapping_file"])
    params["fixed_settings"] = _given(click.get_current_context(), SETTINGS_ON_PAGE)
    opened = _opened(params, params["pool_size"] or params["threads"])
    _require_tables(opened)
    if opened.created_site:
        # A brand-new site gets its first token once; after that tokens are made only by `wpscim token
        # create`, never because none is left: a revoked token stays revoked.
        token = TokenStore(opened.db, opened.site).create("default")
        click.echo("created token 'default' for this new site (shown once, keep it for your identity provider):")
        click.echo(token)
    site = opened.site
    click.echo(
        f"wpscim serving http://{params['host']}:{params['port']}/scim/v2 for {opened.db.address.without_password()} "
        f"(WordPress db_version {site.db_version}, prefix {site.base_prefix}; {params['server']}, "
        f"{params['processes']} process(es) of {params['threads']} threads)"
    )
    from wpscim.wordpress.status import installed_version

    for line in serving.banner(params, opened.db.address.without_password(), site, installed_version(params["wp_config"])):
        click.echo(line)
    if params["change_log"]:
        installation = _installation(params, opened)
        click.echo(f"  WordPress URL  {installation.url or '(none known: hooks are not fired; --wp-url)'}")
        click.echo(f"  object cache   {_cache_text(installation)}")
        if installation.content_dir is not None and not installation.content_dir.is_dir():
            click.echo(
                f"WARNING: no wp-content folder at {installation.content_dir}: wpscim cannot see whether the site "
                "has a persistent object cache. Define WP_CONTENT_DIR in wp-config.php (or say --object-cache).",
                err=True,
            )
        if installation.object_cache == "other" and not _companion_installed(installation, opened):
            click.echo(
                "WARNING: this site has a persistent object cache only WordPress can clear, and the companion does "
                "not answer: WordPress may keep serving stale users. Run: wpscim companion install --wp-config …",
                err=True,
            )
    sys.stdout.flush()
    serving.metrics_directory(params)
    opened.db.close()  # each worker process opens its own pool
    if params["server"] == "granian":
        serving.granian(params)
    else:
        serving.gunicorn(params, lambda: build_app(params, _opened(params, params["pool_size"] or params["threads"]), user_mapping))


# Settings the admin page may change (wpscim.wordpress.settings); a flag or variable given explicitly wins.
SETTINGS_ON_PAGE = ("deprovision", "reassign_to", "never_grant", "never_remove")


def _given(ctx: click.Context, names) -> list[str]:
    """The parameters among `names` set on the command line or by their environment variable (not defaults)."""
    explicit = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return [name for name in names if ctx.get_parameter_source(name) in explicit]


def _require_tables(opened: _Opened) -> None:
    missing = missing_tables(opened.db, opened.site)
    if missing:
        raise click.ClickException(
            f"this site lacks wpscim's table {', '.join(missing)}: run `wpscim upgrade` with the same "
            "database options (it only adds wpscim's own tables)"
        )


def build_app(params: dict, opened: _Opened, user_mapping):
    """The WSGI app for `serve`'s settings (built in each worker process: its own pool, its own notifier)."""
    from wpscim.app import create_app

    def roles(text: str) -> frozenset:
        return frozenset(r.strip() for r in text.split(",") if r.strip())

    db, site = opened.db, opened.site
    policy = Policy(deprovision=params["deprovision"], reassign_to=params["reassign_to"])
    role_policy = RolePolicy(
        template=params["group_template"],
        never_grant=roles(params["never_grant"]),
        never_remove=roles(params["never_remove"]),
        allow_delete=params["allow_role_delete"],
        unknown_members=params["unknown_members"],
        lean_patch_response=params["lean_group_patch"],
        administrator_credentials=params["allow_administrator_credentials"],
        max_created=params["max_groups"],
    )
    file_fields, extension = _mapping_file_entries(params.get("mapping_file"))
    settings = SiteSettings(
        db,
        site,
        policy,
        role_policy,
        fixed=frozenset(params.get("fixed_settings") or ()),
        file_fields=file_fields,
        file_source=params.get("mapping_file"),
        extension=extension,
    )
    storage = Storage(db, site, policy, role_policy, user_mapping, change_log=params["change_log"], settings=settings)
    installation = _installation(params, opened)
    if params["change_log"]:
        storage.changes.cleared_on_commit = installation.object_cache != "other"
        notifier = WordPressNotifier(
            db,
            storage.changes,
            cache=RedisCache(installation.redis, site) if installation.object_cache == "redis" else None,
            companion=Companion(installation.url, lambda: ensure_key(db, site)) if installation.url else None,
            wait_seconds=params["wait_for_wordpress"],
            retention_days=params["event_retention_days"],
        )
        storage.changes.listeners.append(notifier)
        notifier.start()
    return create_app(
        storage,
        access_log=params.get("access_log", False),
        metrics_token_sha256=params.get("metrics_token_sha256"),
        wp_config=opened.config,
        installation=installation,
        database_requests=max(1, params["threads"] - 1),
    )


def _mapping_file_entries(path: str | None):
    """The --mapping file's own entries and extension (the admin page's entries go beneath them)."""
    if not path:
        return (), None
    try:
        return parse_entries(Path(path).read_text(encoding="utf-8"), path)
    except (MappingError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _installation(params: dict, opened: _Opened) -> Installation:
    return discover(
        opened.config,
        home_url(opened.db, opened.site),
        url=params.get("wp_url"),
        redis_url=params.get("redis_url"),
        redis_prefix=params.get("redis_prefix"),
        object_cache=params.get("object_cache") or "auto",
    )


def _cache_text(installation: Installation) -> str:
    if installation.object_cache == "redis":
        return f"the Redis Object Cache drop-in at {installation.redis.url()}, cleared by wpscim"
    if installation.object_cache == "other":
        return "a persistent object cache, cleared by the companion plugin"
    return "none persistent"


def _companion_installed(installation: Installation, opened: _Opened) -> bool:
    if installation.url is None:
        return False
    try:
        return Companion(installation.url, lambda: ensure_key(opened.db, opened.site)).status().ok
    except CompanionUnreachable:
        return False


# --- tokens ---------------------------------------------------------------------------------------


@main.group()
def token() -> None:
    """Manage bearer tokens (stored as hashes in the site's options)."""


@token.command("create")
@click.option("--name", required=True)
@_database_options
def token_create(name: str, **params) -> None:
    """Create a token; it is printed alone on the last line, once."""
    opened = _opened(params)
    try:
        value = TokenStore(opened.db, opened.site).create(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token '{name}' created; it is shown once, store it in your identity provider:")
    click.echo(value)


@token.command("list")
@_database_options
def token_list(**params) -> None:
    """Token names, creation dates and last uses (noted at most once a minute)."""
    opened = _opened(params)
    for entry in TokenStore(opened.db, opened.site).list():
        click.echo(f"{entry['name']}\t{entry['created']}\t{entry['last_used'] or 'never used'}")


@token.command("revoke")
@click.argument("name")
@_database_options
def token_revoke(name: str, **params) -> None:
    """Revoke a token by name."""
    opened = _opened(params)
    if not TokenStore(opened.db, opened.site).revoke(name):
        raise click.ClickException(f"no token named '{name}'")
    click.echo(f"token '{name}' revoked")


# --- the site -------------------------------------------------------------------------------------


@main.command()
@_database_options
@_wordpress_options
def check(**params) -> None:
    """Connect, detect WordPress, and report what was found: its object cache, the companion, the change log."""
    opened = _opened(params)
    db, site = opened.db, opened.site
    click.echo(f"database:     {db.address.without_password()}")
    click.echo(f"prefix:       {site.base_prefix} (site {site.blog_id}, roles in {site.prefix}user_roles)")
    click.echo(f"multisite:    {'yes' if site.multisite else 'no'}")
    click.echo(f"db_version:   {site.db_version}")
    click.echo(f"tokens:       {len(TokenStore(db, site).list())}")
    missing = missing_tables(db, site)
    click.echo(f"tables:       {'missing ' + ', '.join(missing) + ' (run wpscim upgrade)' if missing else 'wpscim change log present'}")
    installation = _installation(params, opened)
    cache = _cache_text(installation)
    if installation.object_cache == "redis":
        cache += "; reachable" if RedisCache(installation.redis, site).reachable() else "; NOT REACHABLE"
    if installation.content_dir is not None:
        found = installation.content_dir.is_dir()
        click.echo(f"wp-content:   {installation.content_dir}{'' if found else ' NOT FOUND (define WP_CONTENT_DIR in wp-config.php)'}")
    click.echo(f"object cache: {cache}")
    answering, unseen_cache = None, False
    if installation.url is None:
        click.echo("companion:    no site URL known (give --wp-url, or --wp-config with WP_HOME): hooks cannot be fired")
    else:
        try:
            answer = Companion(installation.url, lambda: ensure_key(db, site)).status()
            answering = answer.ok
            unseen_cache = bool(answer.ok and answer.body.get("object_cache") and installation.object_cache == "none")
            click.echo(
                f"companion:    {'answering' if answer.ok else 'refusing'} at {installation.url} "
                f"(version {answer.body.get('companion')}, WordPress {answer.body.get('wp_version')}, "
                f"object cache {'in use' if answer.body.get('object_cache') else 'none'})"
                if answer.ok
                else f"companion:    at {installation.url} it answered HTTP {answer.status}: {answer.body.get('error')}"
            )
        except CompanionUnreachable as exc:
            answering = False
            click.echo(f"companion:    NOT ANSWERING: {exc}")
    if not missing:
        with db.reading() as session:
            status = ChangeLog(site).status(session)
        click.echo(
            f"events:       about {status['events']} in the change log; {status['undelivered']}"
            f"{' or more' if status['undelivered_capped'] else ''} waiting for WordPress's hooks"
            + (f" (the oldest since {status['oldest_undelivered']})" if status["undelivered"] else "")
            + f"; {status['uncleared']} whose caches are not known clean"
        )
    if unseen_cache:
        click.echo(
            "WARNING: WordPress says it uses a persistent object cache, but wpscim found no object-cache.php in "
            f"{installation.content_dir}: nothing clears it, and WordPress keeps serving stale users. Define "
            "WP_CONTENT_DIR in wp-config.php, or serve with --object-cache companion.",
            err=True,
        )
    if installation.object_cache != "none" and not answering:
        click.echo(
            "WARNING: WordPress uses a persistent object cache but the companion does not answer: without it WordPress "
            "hears of no change (no hooks) and, "
            + (
                "for this cache, keeps serving stale users"
                if installation.object_cache == "other"
                else "though wpscim clears Redis itself, a suspended user's reset link is not refused"
            )
            + ". Install it: wpscim companion install --wp-config PATH",
            err=True,
        )


@main.group()
def companion() -> None:
    """The companion WordPress plugin: WordPress's caches and hooks for wpscim's changes."""


@companion.command("install")
@_database_options
@_wordpress_options
@click.option("--mu-plugins", type=click.Path(file_okay=False), help="the site's mu-plugins folder [default: from --wp-config]")
def companion_install(mu_plugins: str | None, **params) -> None:
    """Install or update the companion in the site's wp-content/mu-plugins/ and report what was done."""
    opened = _opened(params)
    installation = _installation(params, opened)
    folder = Path(mu_plugins) if mu_plugins else installation.mu_plugins
    if folder is None:
        raise click.ClickException("say where the site's files are: --wp-config PATH (or --mu-plugins PATH)")
    try:
        click.echo(companion_module.install(folder))
    except OSError as exc:
        raise click.ClickException(f"cannot write {folder}: {exc.strerror}") from None
    try:
        key = ensure_key(opened.db, opened.site)
    except StorageError as exc:
        raise click.ClickException(f"the companion's key could not be stored in the database: {exc.detail}") from None
    if installation.url:
        try:
            answer = Companion(installation.url, key).status()
            click.echo(
                f"the companion answers at {installation.url}"
                if answer.ok
                else f"the site answered HTTP {answer.status}: {answer.body.get('error')}"
            )
        except CompanionUnreachable as exc:
            click.echo(f"not answering yet: {exc}")


@main.command()
@_database_options
@click.option("--user", help="a user's ID: its own events and the group changes that added or removed it")
@click.option("--group", help="a group's ID (role slug)")
@click.option("--action", type=click.Choice(sorted({*USER_ACTIONS, *GROUP_ACTIONS})))
@click.option("--since", help="from when: an ISO date or time (UTC), or an age such as 30m, 12h, 7d")
@click.option("--limit", type=_POSITIVE, default=1000, show_default=True, help="the newest this many, printed oldest first")
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json: one object per line"
)
def events(user, group, action, since, limit, output, **params) -> None:
    """The change log: what the identity provider changed, by whom, when (never a value of a password or hash)."""
    opened = _opened(params)
    if missing_tables(opened.db, opened.site):
        raise click.ClickException("this site has no change log yet: run `wpscim upgrade`")
    with opened.db.reading() as session:
        found = ChangeLog(opened.site).history(
            session, user=user, resource_type="Group" if group else None, resource_id=group, action=action, since=_since(since), limit=limit
        )
    for event in reversed(found):
        if output == "json":
            click.echo(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        else:
            click.echo(
                f"{event['time']}  {event['actor'] or '-':<12} {event['action']:<15} {event['resource_type']} "
                f"{event['resource_id']:<8} {','.join(event['attributes']) or '-'}  request {event['request_id']}"
            )


def _since(text: str | None):
    if not text:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match:
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither an ISO date or time nor an age such as 12h", param_hint="'--since'") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


@main.command()
@_database_options
def upgrade(**params) -> None:
    """Add what this version of wpscim needs beside WordPress's tables (idempotent)."""
    opened = _opened(params)
    created = upgrade_site(opened.db, opened.site)
    click.echo("created " + "; ".join(created) if created else "nothing to do: wpscim's tables are in place")


@main.command()
@click.argument("action", type=click.Choice(["create", "drop", "status"]))
@_database_options
def index(action: str, **params) -> None:
    """The optional usermeta index for fast externalId lookups."""
    opened = _opened(params)
    click.echo(lookup_index(opened.db, opened.site, action))


# --- the admin page -------------------------------------------------------------------------------


@main.group()
def admin() -> None:
    """wpscim's admin page (/wpscim/admin/): sign-in without WordPress's cookie."""


@admin.command("link")
@_database_options
@click.option(
    "--url",
    "base",
    help="the address the page is reached at, e.g. https://your-site.example (scheme, host, "
    "port) [default: where it was last opened, else http://127.0.0.1:8080]",
)
def admin_link(base: str | None, **params) -> None:
    """Print a one-time sign-in link to the admin page (valid 10 minutes, once), for hosts where WordPress's
    login cookie cannot reach wpscim. Only a hash of it is stored."""
    from wpscim.wordpress.admin_access import LINK_SECONDS, AdminAccess

    opened = _opened(params)
    access = AdminAccess(opened.db, opened.site)
    if base:
        if not re.match(r"^https?://[^/\s]+/?$", base):
            raise click.BadParameter("give the scheme, host and port only, e.g. https://your-site.example", param_hint="--url")
        base = base.rstrip("/")
        access.note_admin_url(base + "/wpscim/admin/")  # the companion's menu item links there
    else:
        known = access.admin_url()
        base = known.split("/wpscim/admin", 1)[0] if known else "http://127.0.0.1:8080"
    token = access.create_link()
    click.echo(f"one-time sign-in link (valid {LINK_SECONDS // 60} minutes, once):", err=True)
    click.echo(f"{base}/wpscim/admin/link?token={token}")


# --- mapping --------------------------------------------------------------------------------------


@main.group()
def mapping() -> None:
    """Where SCIM attributes land in WordPress."""


@mapping.command("show")
@_option("--mapping", "mapping_file", envvar="WPSCIM_MAPPING", help="mapping file")
def mapping_show(mapping_file: str | None) -> None:
    """Print the effective mapping."""
    user_mapping = _mapping(mapping_file)
    click.echo(f"# mapping: {user_mapping.source}")
    click.echo(f"{'SCIM attribute':<72} {'WordPress':<34} {'transform':<10} direction")
    for f in user_mapping.fields:
        target = f"users.{f.column}" if f.column else f"usermeta {f.meta_key}"
        transform = f.transform or ""
        if f.transform == "join":
            transform = "join(" + ", ".join(f.sources) + ")"
        click.echo(f"{f.scim:<72} {target:<34} {transform:<10} {f.direction if f.writable else 'read'}")
    click.echo(f"{'userName (when WordPress cannot store it verbatim)':<72} usermeta wpscim_userName")
    click.echo(f"{'password':<72} users.user_pass (hashed as the installed WordPress does)")
    click.echo(f"{'roles, groups':<72} usermeta {{prefix}}capabilities, {{prefix}}user_level")
    click.echo(f"{'every other attribute':<72} usermeta wpscim_<attribute> (JSON)")


@mapping.command("observed")
@_option("--mapping", "mapping_file", envvar="WPSCIM_MAPPING", help="mapping file")
@_database_options
def mapping_observed(mapping_file: str | None, **params) -> None:
    """Attribute paths the IdPs sent (names only), and where each lands."""
    _mapping(mapping_file)
    opened = _opened(params)
    file_fields, extension = _mapping_file_entries(mapping_file)
    user_mapping = (
        SiteSettings(opened.db, opened.site, file_fields=file_fields, file_source=mapping_file, extension=extension).current().mapping
    )  # with the admin page's entries
    seen = ObservedPaths(opened.db, opened.site).all()
    if not seen:
        click.echo("no attribute paths recorded yet: provision a user from your identity provider first")
    for path in sorted(seen, key=str.lower):
        click.echo(f"{path:<72} -> {lands(path, user_mapping, opened.site.capabilities_key)}   (last seen {seen[path]})")


@mapping.command("check")
@click.argument("file")
@_database_options
def mapping_check(file: str, **params) -> None:
    """Validate a mapping file against the live database."""
    user_mapping = _mapping(file)
    opened = _opened(params)
    problems = check_mapping_against_database(opened.db, opened.site, user_mapping)
    for line in problems:
        click.echo(line)
    failed = any(p.startswith("error") for p in problems)
    click.echo(f"{file}: {len(user_mapping.fields)} attributes mapped; {'errors found' if failed else 'ok'}")
    if failed:
        sys.exit(1)


def worker_app():
    """The app of one granian worker process, built from its parent's `wpscim serve` command line
    (a worker is a fresh process: it opens its own connection pool)."""
    from wpscim.serving import SERVE_PARAMS

    # granian installs the worker's own SIGTERM handler only once this returns; until then the worker
    # runs the handler it inherited from its parent, and a SIGTERM (serve stopping while this worker
    # starts) was lost: serve then waited for the worker. Nothing is served yet, so it may just leave.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: os._exit(0))
    configure_logging()  # a worker started afresh (not forked) has none yet
    params = json.loads(os.environ[SERVE_PARAMS])
    user_mapping = _mapping(params["mapping_file"])
    return build_app(params, _opened(params, params["pool_size"] or params["threads"]), user_mapping)
