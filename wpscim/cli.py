"""Command line: `wpscim serve`, `wpscim token create|list|revoke`, `wpscim check`, `wpscim index create|drop|status`,
`wpscim mapping show|observed|check`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import socket
import sys

import pymysql

from wpscim.config import ConfigError, resolve_database
from wpscim.mapping import DEFAULT as DEFAULT_MAPPING
from wpscim.mapping_file import MappingError, load_mapping
from wpscim.scim.schemas import register_extension
from wpscim.wordpress.db import Database, ensure_database
from wpscim.wordpress.observed import ObservedPaths
from wpscim.wordpress.site import check_mapping_against_database, lookup_index
from wpscim.wordpress.roles import RolePolicy
from wpscim.wordpress.site import NoWordPressTables, detect, init_schema
from wpscim.wordpress.tokens import TokenStore
from wpscim.wordpress.users import Policy


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _switch(text: str) -> bool:
    """`WPSCIM_X=0` or `=false` must mean off, not "set, so on"."""
    value = text.strip().lower()
    if value not in _ON + _OFF:
        raise argparse.ArgumentTypeError(f"use {'/'.join(_ON)} or {'/'.join(_OFF)}")
    return value in _ON


def _whole(low: int, high: int | None = None):
    """An argparse type: a whole number from `low` (to `high`)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is not {low} to {high}" if high else f"{value} is below {low}")
        return value
    return parse


_POSITIVE, _PORT = _whole(1), _whole(1, 65535)


def _one_of(*choices: str):
    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"use one of {', '.join(choices)}")
        return text
    return parse


def _from_env(name: str, default, parse):
    """A setting's default from the environment, checked as its command-line option would be."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return parse(value)
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"wpscim: {name}={os.environ[name]!r}: {exc}") from None


def _database_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("database (first found wins)")
    group.add_argument("--database-url", help="mysql://user:pass@host:port/db (env WPSCIM_DATABASE_URL)")
    group.add_argument("--wp-config", help="path to WordPress's wp-config.php (env WPSCIM_WP_CONFIG)")
    group.add_argument("--table-prefix", help="override $table_prefix (env WPSCIM_TABLE_PREFIX; default wp_)")
    group.add_argument("--blog-id", type=_POSITIVE, default=_from_env("WPSCIM_BLOG_ID", 1, _POSITIVE),
                       help="multisite: the site whose roles are used (env WPSCIM_BLOG_ID; default 1)")
    group.add_argument("--init-schema", action="store_true",
                       help="create WordPress's tables and default roles if the database has none")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wpscim", description="SCIM 2.0 provisioning into WordPress's own tables")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve SCIM 2.0 at http://HOST:PORT/scim/v2")
    _database_options(serve)
    serve.add_argument("--host", default=os.environ.get("WPSCIM_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=_PORT, default=_from_env("WPSCIM_PORT", 8080, _PORT))
    serve.add_argument("--server", choices=["granian", "waitress"],
                       default=_from_env("WPSCIM_SERVER", "granian", _one_of("granian", "waitress")),
                       help="HTTP server: granian (HTTP in Rust, default) or waitress (pure Python)")
    serve.add_argument("--threads", type=_POSITIVE, default=_from_env("WPSCIM_THREADS", 4, _POSITIVE),
                       help="request threads per process (default 4)")
    serve.add_argument("--processes", type=_POSITIVE, default=_from_env("WPSCIM_PROCESSES", 1, _POSITIVE),
                       help="server processes sharing the port (default 1)")
    serve.add_argument("--pool-size", type=_POSITIVE, default=_from_env("WPSCIM_POOL_SIZE", None, _POSITIVE),
                       help="connections in each of the two pools, writes and reads (default: one per thread)")
    serve.add_argument("--deprovision", choices=["deactivate", "delete"],
                       default=_from_env("WPSCIM_DEPROVISION", "deactivate", _one_of("deactivate", "delete")),
                       help="what active=false does (default deactivate: reversible suspension)")
    serve.add_argument("--reassign-to", type=_POSITIVE,
                       default=_from_env("WPSCIM_REASSIGN_TO", None, _POSITIVE),
                       help="user ID receiving a deleted user's posts (default: the lowest-ID administrator)")

    serve.add_argument("--mapping", default=os.environ.get("WPSCIM_MAPPING"),
                       help="TOML file routing SCIM attributes to users columns or usermeta keys (env WPSCIM_MAPPING)")
    roles = serve.add_argument_group("groups (WordPress roles)")
    roles.add_argument("--group-template", default=os.environ.get("WPSCIM_GROUP_TEMPLATE", "subscriber"),
                       help="role whose capabilities a group created by POST /Groups starts with (default subscriber)")
    roles.add_argument("--never-grant", default=os.environ.get("WPSCIM_NEVER_GRANT", "administrator"),
                       help="comma-separated roles SCIM may take away but never grant (default administrator; '' for none)")
    roles.add_argument("--never-remove", default=os.environ.get("WPSCIM_NEVER_REMOVE", ""),
                       help="comma-separated roles SCIM may never take away")
    roles.add_argument("--unknown-members", choices=["reject", "ignore"],
                       default=_from_env("WPSCIM_UNKNOWN_MEMBERS", "reject", _one_of("reject", "ignore")),
                       help="member ids that are no WordPress user: reject the change (400, default) or ignore them")
    roles.add_argument("--lean-group-patch", action="store_true", default=_from_env("WPSCIM_LEAN_GROUP_PATCH", False, _switch),
                       help="PATCH /Groups answers without members unless ?attributes=members (for roles with very many members)")
    roles.add_argument("--allow-role-delete", action="store_true", default=_from_env("WPSCIM_ALLOW_ROLE_DELETE", False, _switch),
                       help="let DELETE /Groups remove built-in roles and roles wpscim did not create")

    token = commands.add_parser("token", help="manage bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints it alone on the last line")
    create.add_argument("--name", required=True)
    _database_options(create)
    listing = token_commands.add_parser("list", help="list token names")
    _database_options(listing)
    revoke = token_commands.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    _database_options(revoke)

    check = commands.add_parser("check", help="connect, detect WordPress, and report what was found")
    _database_options(check)

    index = commands.add_parser("index", help="the optional usermeta index for fast externalId lookups")
    index.add_argument("action", choices=["create", "drop", "status"])
    _database_options(index)

    mapping = commands.add_parser("mapping", help="where SCIM attributes land in WordPress")
    mapping_commands = mapping.add_subparsers(dest="mapping_command", required=True)
    show = mapping_commands.add_parser("show", help="print the effective mapping")
    show.add_argument("--mapping", default=os.environ.get("WPSCIM_MAPPING"), help="mapping file (env WPSCIM_MAPPING)")
    observed = mapping_commands.add_parser("observed", help="attribute paths the IdPs sent, and where each lands")
    observed.add_argument("--mapping", default=os.environ.get("WPSCIM_MAPPING"), help="mapping file (env WPSCIM_MAPPING)")
    _database_options(observed)
    check_file = mapping_commands.add_parser("check", help="validate a mapping file against the live database")
    check_file.add_argument("file")
    _database_options(check_file)
    return parser


def _open(args) -> tuple[Database, object]:
    address, prefix = resolve_database(args.database_url, args.wp_config, args.table_prefix)
    if args.init_schema and ensure_database(address):
        print(f"created database {address.without_password()}", file=sys.stderr)
    db = Database(address, max_connections=getattr(args, "pool_size", None) or getattr(args, "threads", 4) or 4)
    if args.init_schema and init_schema(db, prefix):
        print(f"created WordPress tables with prefix '{prefix}' in {address.without_password()}", file=sys.stderr)
    return db, detect(db, prefix, args.blog_id)


def _mapping(path: str | None):
    """The effective mapping (and the site's extension schema, registered for /Schemas)."""
    if not path:
        return DEFAULT_MAPPING, None
    user_mapping, extension = load_mapping(path)
    if extension is not None:
        register_extension(extension, extension.description)
    return user_mapping, extension


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "mapping":
            target = args.file if args.mapping_command == "check" else args.mapping
            user_mapping, _ = _mapping(target)
            if args.mapping_command == "show":
                return _show_mapping(user_mapping)
        elif args.command == "serve":
            user_mapping, _ = _mapping(args.mapping)
    except MappingError as exc:
        sys.exit(f"wpscim: {exc}")
    try:
        db, site = _open(args)
    except (ConfigError, NoWordPressTables, ValueError) as exc:
        sys.exit(f"wpscim: {exc}")
    except pymysql.err.OperationalError as exc:
        sys.exit(f"wpscim: cannot connect to the database: {exc.args[-1]}")
    tokens = TokenStore(db, site)
    try:
        if args.command == "token":
            _token(args, tokens)
        elif args.command == "mapping":
            _mapping_command(args, db, site, user_mapping)
        elif args.command == "index":
            print(lookup_index(db, site, args.action))
        elif args.command == "check":
            print(f"database:   {db.address.without_password()}")
            print(f"prefix:     {site.base_prefix} (site {site.blog_id}, roles in {site.prefix}user_roles)")
            print(f"multisite:  {'yes' if site.multisite else 'no'}")
            print(f"db_version: {site.db_version}")
            print(f"tokens:     {len(tokens.list())}")
        else:
            _serve(args, argv, db, site, tokens, user_mapping)
    except ValueError as exc:
        sys.exit(f"wpscim: {exc}")


def _token(args, tokens: TokenStore) -> None:
    if args.token_command == "create":
        token = tokens.create(args.name)
        print(f"token '{args.name}' created; it is shown once, store it in your identity provider:")
        print(token)
    elif args.token_command == "list":
        for entry in tokens.list():
            print(f"{entry['name']}\t{entry['created']}")
    elif not tokens.revoke(args.name):
        sys.exit(f"wpscim: no token named '{args.name}'")
    else:
        print(f"token '{args.name}' revoked")


def _show_mapping(user_mapping) -> None:
    print(f"# mapping: {user_mapping.source}")
    print(f"{'SCIM attribute':<72} {'WordPress':<34} {'transform':<10} direction")
    for f in user_mapping.fields:
        target = f"users.{f.column}" if f.column else f"usermeta {f.meta_key}"
        transform = f.transform or ""
        if f.transform == "join":
            transform = "join(" + ", ".join(f.sources) + ")"
        print(f"{f.scim:<72} {target:<34} {transform:<10} {f.direction if f.writable else 'read'}")
    print(f"{'userName (when WordPress cannot store it verbatim)':<72} usermeta wpscim_userName")
    print(f"{'password':<72} users.user_pass (hashed as the installed WordPress does)")
    print(f"{'roles, groups':<72} usermeta {{prefix}}capabilities, {{prefix}}user_level")
    print(f"{'every other attribute':<72} usermeta wpscim_<attribute> (JSON)")


def _lands(path: str, user_mapping) -> str:
    fixed = {"username": "users.user_login", "password": "users.user_pass (hashed)", "active": "suspension (wpscim__suspended_pass)",
             "roles": "{prefix}capabilities", "emails.value": "users.user_email (primary) + usermeta wpscim_emails"}
    lowered = path.lower()
    found = user_mapping.by_path.get(lowered)
    if found is not None:
        return f"users.{found.column}" if found.column else f"usermeta {found.meta_key}"
    if lowered.startswith("emails"):
        return fixed["emails.value"]
    if lowered in fixed or lowered.split(".")[0] in fixed:
        return fixed.get(lowered) or fixed[lowered.split(".")[0]]
    top = path.rsplit(":", 1)[0] if lowered.startswith("urn:") else re.split(r"[.\[]", path)[0]
    return f"usermeta wpscim_{top} (JSON)"


def _mapping_command(args, db: Database, site, user_mapping) -> None:
    if args.mapping_command == "observed":
        seen = ObservedPaths(db, site).all()
        if not seen:
            print("no attribute paths recorded yet: provision a user from your identity provider first")
        for path in sorted(seen, key=str.lower):
            print(f"{path:<72} -> {_lands(path, user_mapping)}   (last seen {seen[path]})")
        return
    problems = check_mapping_against_database(db, site, user_mapping)
    for line in problems:
        print(line)
    print(f"{args.file}: {len(user_mapping.fields)} attributes mapped; {'ok' if not any(p.startswith('error') for p in problems) else 'errors found'}")
    if any(p.startswith("error") for p in problems):
        sys.exit(1)


_SERVE_ARGV = "WPSCIM_SERVE_ARGV"


def _app(args, db: Database, site, user_mapping):
    from wpscim.app import create_app

    policy = Policy(deprovision=args.deprovision, reassign_to=args.reassign_to)
    role_policy = RolePolicy(
        template=args.group_template,
        never_grant=frozenset(r.strip() for r in args.never_grant.split(",") if r.strip()),
        never_remove=frozenset(r.strip() for r in args.never_remove.split(",") if r.strip()),
        allow_delete=args.allow_role_delete,
        unknown_members=args.unknown_members,
        lean_patch_response=args.lean_group_patch,
    )
    return create_app(db, site, policy, role_policy, user_mapping)


def worker_app():
    """The app of one granian worker process, built from its parent's `wpscim serve` command line
    (a worker is a fresh process: it opens its own connection pool)."""
    args = _parser().parse_args(json.loads(os.environ[_SERVE_ARGV]))
    user_mapping, _ = _mapping(args.mapping)
    db, site = _open(args)
    return _app(args, db, site, user_mapping)


def _serve(args, argv: list[str], db: Database, site, tokens: TokenStore, user_mapping) -> None:
    if not tokens.list():
        token = tokens.create("default")
        print("no token existed; created token 'default' (shown once, keep it for your identity provider):")
        print(token, flush=True)
    print(f"wpscim serving http://{args.host}:{args.port}/scim/v2 for {db.address.without_password()} "
          f"(WordPress db_version {site.db_version}, prefix {site.base_prefix}; {args.server}, "
          f"{args.processes} process(es) of {args.threads} threads)", flush=True)
    if args.server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        db.close()  # each worker opens its own pool
        os.environ[_SERVE_ARGV] = json.dumps(argv)
        # Requests run on `threads` Python threads per worker; the Rust side parses HTTP, so a request costs
        # the interpreter only the app's own work. Streamed bodies (a role's members) are sent as produced.
        Granian("wpscim.cli:worker_app", factory=True, interface=Interfaces.WSGI, address=args.host, port=args.port,
                workers=args.processes, blocking_threads=args.threads, websockets=False, log_access=False).serve()
        return
    _serve_waitress(args, db, site, user_mapping)


def _serve_waitress(args, db: Database, site, user_mapping) -> None:
    import waitress

    options = dict(threads=args.threads, ident="wpscim",
                   # A streamed response (a role's members) is buffered by waitress up to
                   # outbuf_high_watermark: 1 MiB instead of 16 keeps memory flat whatever the group's size.
                   outbuf_high_watermark=1 << 20)
    if args.processes <= 1:
        waitress.serve(_app(args, db, site, user_mapping), host=args.host, port=args.port, **options)
        return
    # Several processes share the port (SO_REUSEPORT: the kernel spreads connections): Python runs one
    # thread at a time per process, and wpscim keeps all its state in MySQL.
    pool_size = args.pool_size or args.threads
    db.close()
    workers = []
    for _ in range(args.processes):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            worker_db = Database(db.address, max_connections=pool_size)
            listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind((args.host, args.port))
            listener.listen(1024)
            waitress.serve(_app(args, worker_db, site, user_mapping), sockets=[listener], **options)
            os._exit(0)
        workers.append(pid)

    def stop(signum, frame):
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.wait()  # one worker gone: stop the others too, and let a supervisor restart the service
    stop(None, None)


def _die_with_parent() -> None:
    """A worker process ends when the `wpscim serve` that started it ends (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
