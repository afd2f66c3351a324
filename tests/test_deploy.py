"""The deployment files, checked as far as a machine without a Docker engine can: the Dockerfile lints
(hadolint) and its exact command line and environment serve a real WordPress database (the image's
CMD, ENV and HEALTHCHECK read from the Dockerfile, run here); docker/compose.yaml validates (Debian's
docker-compose) and wires wpscim to WordPress's own settings; the systemd unit verifies
(systemd-analyze) and is sandboxed; the nginx snippet passes `nginx -t` and proxies to a live wpscim.
Each check is also shown failing on a broken copy, so none of them can pass by accident."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest
import yaml
from conftest import database_url, free_port
from dockerfile_parse import DockerfileParser
from served import Served, http

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "docker" / "Dockerfile"
COMPOSE = REPO / "docker" / "compose.yaml"
UNIT = REPO / "deploy" / "wpscim.service"
NGINX_SNIPPET = REPO / "deploy" / "nginx-wpscim.conf"
VENV_BIN = Path(sys.executable).parent
IMAGE_VENV = "/opt/wpscim"  # where the Dockerfile installs wpscim; here, this test run's virtualenv
WORDPRESS_DB_VARIABLES = (
    "WORDPRESS_DB_HOST",
    "WORDPRESS_DB_USER",
    "WORDPRESS_DB_PASSWORD_FILE",
    "WORDPRESS_DB_NAME",
    "WORDPRESS_TABLE_PREFIX",
)


def _tool(name: str) -> str:
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")
    assert found, f"{name} is not installed (scripts/test installs it)"
    return found


# --- Dockerfile ------------------------------------------------------------------------------------


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_dockerfile_lints_clean_and_is_built_as_promised(tmp_path):
    linted = _hadolint(DOCKERFILE)
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        DOCKERFILE.read_text().replace("USER 10001:10001", "USER root").replace("RUN groupadd", "RUN apt-get install curl && groupadd", 1)
    )
    failed = _hadolint(broken)
    assert failed.returncode != 0 and "DL3002" in failed.stdout and "DL3008" in failed.stdout, failed.stdout

    parsed = DockerfileParser(str(DOCKERFILE))
    stages = [i for i in parsed.structure if i["instruction"] == "FROM"]
    assert len(stages) == 2
    for stage in stages:  # pinned: an exact Python release by tag, and its digest
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}( AS build)?", stage["value"]), stage["value"]
    final = [i for i in parsed.structure if i["startline"] > stages[-1]["startline"]]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users == ["10001:10001"]  # not root
    assert parsed.cmd == '["wpscim", "serve"]' and not [i for i in final if i["instruction"] == "ENTRYPOINT"]
    healthcheck = next(i["value"] for i in final if i["instruction"] == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "curl" not in healthcheck and "wget" not in healthcheck
    build = " ".join(
        i["value"] for i in parsed.structure if i["instruction"] in ("COPY", "RUN") and i["startline"] < stages[1]["startline"]
    )
    assert "COPY wpscim ./wpscim" in " ".join(f"COPY {i['value']}" for i in parsed.structure if i["instruction"] == "COPY")
    assert "pip install --no-cache-dir --disable-pip-version-check /src" in build  # the package from the repository
    context = (REPO / ".dockerignore").read_text()
    assert "!wpscim/" in context and "!docker/wp-config.php" in context


def _answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=2)[0] == 200
    except OSError:
        return False


def test_a_wheel_built_from_what_the_image_copies_installs_and_serves(mysql_server, tmp_path):
    """The build stage's COPY sources (each let through by .dockerignore) make a wheel; installed alone
    (away from this checkout), it creates a new site's tables, serves SCIM and the admin page with its
    templates, creates the lookup index and carries the companion plugin."""
    parsed = DockerfileParser(str(DOCKERFILE))
    second_stage = [i for i in parsed.structure if i["instruction"] == "FROM"][1]["startline"]
    allowed = (REPO / ".dockerignore").read_text().split()
    source = tmp_path / "src"
    source.mkdir()
    for instruction in parsed.structure:
        if instruction["instruction"] != "COPY" or instruction["startline"] > second_stage:
            continue
        *names, _ = instruction["value"].split()
        for name in names:
            assert f"!{name}" in allowed or f"!{name}/" in allowed, f"COPY {name}: .dockerignore keeps it out of the build context"
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheels"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((tmp_path / "wheels").glob("wpscim-*.whl"))
    site = tmp_path / "site"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The wheel's wpscim, not this checkout's: run away from it, the wheel first on the path (the
    # dependencies come from this test run's environment).
    env = {**os.environ, "PYTHONPATH": str(site)}

    def wpscim(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "wpscim", *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, **kwargs
        )

    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import wpscim, importlib.resources as r; print(wpscim.__file__); "
            "print(r.files('wpscim.companion').joinpath('wpscim-companion.php').is_file())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert where.stdout.split() == [str(site / "wpscim" / "__init__.py"), "True"], where.stdout + where.stderr

    name = f"wpscim_wheel_{secrets.token_hex(4)}"
    with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        url = database_url(mysql_server, name)
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wpscim",
                    "serve",
                    "--init-schema",
                    "--database-url",
                    url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=tmp_path,
                env=env,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while not _answers(base + "/healthz"):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            token = re.search(r"shown once.*\n(\S+)", log.read_text())[1]
            auth = {"Authorization": f"Bearer {token}"}
            status, _, body = http(
                "POST",
                base + "/scim/v2/Users",
                headers={**auth, "Content-Type": "application/scim+json"},
                data=json.dumps({"userName": "wheel@example.com"}).encode(),
            )
            assert status == 201 and json.loads(body)["userName"] == "wheel@example.com", body
            status, _, page = http("GET", base + "/wpscim/admin/")
            assert status == 401 and b"<html" in page, page  # the sign-in prompt, from the wheel's templates
            assert http("GET", base + "/wpscim/admin/static/admin.css")[0] == 200
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        indexed = wpscim("index", "create", "--database-url", url)
        assert indexed.returncode == 0, indexed.stdout + indexed.stderr
        with pymysql.connect(**mysql_server, database=name) as conn, conn.cursor() as cur:
            cur.execute("SHOW TABLES LIKE 'wp_wpscim_events'")
            assert cur.fetchall(), "the change log's table (sql/ in the wheel) was not created"
    finally:
        with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")


def _image_environment(parsed: DockerfileParser) -> dict[str, str]:
    """The final stage's ENV, with the image's paths mapped to this machine: the virtualenv in /opt/wpscim
    is this test run's, and every file the Dockerfile COPYs from the repository is read where it is."""
    final_from = [i for i in parsed.structure if i["instruction"] == "FROM"][-1]["startline"]
    copied = {}
    for instruction in parsed.structure:
        if instruction["instruction"] == "COPY" and instruction["startline"] > final_from and "--from" not in instruction["value"]:
            source, destination = instruction["value"].split()
            copied[destination] = str(REPO / source)
    environment = {}
    for name, value in parsed.envs.items():
        if name == "PATH":
            assert value.startswith(f"{IMAGE_VENV}/bin:"), value
            value = f"{VENV_BIN}:{os.environ['PATH']}"
        environment[name] = copied.get(value, value)
    assert environment["WPSCIM_WP_CONFIG"] == str(REPO / "docker" / "wp-config.php")
    return environment


def _exec_form(value: str) -> list[str]:
    return json.loads(value[value.index("[") :])


@pytest.fixture
def database_user(mysql_server, wp):
    """A MySQL user with a password for `wp`'s database, as the compose file's wordpress user is."""
    user, password = f"wpscim_{secrets.token_hex(4)}", "Db " + secrets.token_hex(10) + " 'quoted'"
    with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{wp.name}`.* TO '{user}'@'%'")
    yield user, password
    with pymysql.connect(**mysql_server, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER '{user}'@'%'")


def test_the_images_command_serves_wordpress_with_composes_settings(wp, mysql_server, database_user, tmp_path):
    """The Dockerfile's CMD, ENV and HEALTHCHECK and the compose file's wpscim settings, run here against
    the local MariaDB: `wpscim upgrade` (the compose one-shot), then the image's command, then /healthz,
    the image's health check, a SCIM request with a token made as the README says, and /metrics."""
    parsed = DockerfileParser(str(DOCKERFILE))
    services = yaml.safe_load(
        subprocess.run(
            [_tool("docker-compose"), "-f", str(COMPOSE), "config"], capture_output=True, text=True, check=True, timeout=120
        ).stdout
    )["services"]
    user, password = database_user
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    (secrets_dir / "db_password").write_text(password + "\n")  # a trailing line break, as `openssl rand > file` leaves
    metrics_token = secrets.token_hex(24)
    (secrets_dir / "metrics_token").write_text(metrics_token + "\n")

    def environment(service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WPSCIM_", "WORDPRESS_"))}
        env.update(_image_environment(parsed))
        for name, value in services[service]["environment"].items():
            env[name] = value.replace("/run/secrets/", f"{secrets_dir}/")  # compose mounts its secrets there
        # The compose network's names are this machine's: the database is the local MariaDB, the port a free one.
        assert env["WORDPRESS_DB_HOST"] == "db" and env["WORDPRESS_DB_NAME"] == "wordpress"
        env.update(
            WORDPRESS_DB_HOST=f"{mysql_server['host']}:{mysql_server['port']}",
            WORDPRESS_DB_USER=user,
            WORDPRESS_DB_NAME=wp.name,
            WPSCIM_PORT=str(port),
        )
        return env

    port = free_port()
    wp.sql("DROP TABLE wp_wpscim_events")  # a WordPress wpscim has never run on
    command = _exec_form(parsed.cmd)
    refused = subprocess.run(command, env=environment("wpscim"), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "wpscim upgrade" in refused.stderr, refused.stderr

    upgrade = services["wpscim-upgrade"]["command"]
    upgraded = subprocess.run(upgrade, env=environment("wpscim-upgrade"), capture_output=True, text=True, timeout=60)
    assert upgraded.returncode == 0 and "created" in upgraded.stdout, upgraded.stdout + upgraded.stderr

    env = environment("wpscim")
    token = subprocess.run(
        ["wpscim", "token", "create", "--name", "okta"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()[-1]  # `docker compose exec wpscim wpscim token create …`
    with Served(command, port, tmp_path, env=env, name="image") as served:
        out = served.stdout()
        assert f"database mysql://{user}@{mysql_server['host']}:{mysql_server['port']}/{wp.name}, table prefix wp_" in out, out
        assert "listening on   0.0.0.0 port" in out and f"SCIM base URL  http://HOST:{port}/scim/v2" in out
        assert password not in out + served.stderr()
        status, _, body = served.get("/healthz")
        assert (status, body) == (200, b'{"status":"ok"}')
        healthcheck = next(i["value"] for i in parsed.structure if i["instruction"] == "HEALTHCHECK")
        probe = _exec_form(healthcheck[healthcheck.index("CMD") :])
        assert subprocess.run(probe, env=env, timeout=30).returncode == 0
        status, _, body = served.get("/scim/v2/Users?filter=userName%20eq%20%22admin%22", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and json.loads(body)["totalResults"] == 1
        created = served.request(
            "POST",
            "/scim/v2/Users",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
            data=json.dumps({"userName": "from.docker", "password": "Docker pw 1"}).encode(),
        )
        assert created[0] == 201
        assert served.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})[0] == 200
    assert wp.sql("SELECT COUNT(*) FROM wp_users WHERE user_login = 'from.docker'") == [(1,)]
    assert subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode != 0  # nothing listens now


# --- compose ---------------------------------------------------------------------------------------


def _compose_config(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("docker-compose"), "-f", str(path), "config"], capture_output=True, text=True, timeout=120)


def test_compose_file_validates_and_gives_wpscim_wordpresss_settings(tmp_path):
    checked = _compose_config(COMPOSE)
    assert checked.returncode == 0, checked.stderr
    config = yaml.safe_load(checked.stdout)
    services = config["services"]
    assert set(services) == {"db", "redis", "wordpress", "wordpress-setup", "wpscim-upgrade", "wpscim"}
    assert services["wordpress"]["image"].startswith("wordpress:") and services["wordpress"]["image"].endswith("-apache")
    assert services["db"]["image"].startswith("mariadb:") and services["redis"]["image"].startswith("redis:")

    wordpress, wpscim, upgrade = services["wordpress"], services["wpscim"], services["wpscim-upgrade"]
    for service in (wpscim, upgrade, services["wordpress-setup"]):
        assert {n: service["environment"][n] for n in WORDPRESS_DB_VARIABLES} == {
            n: wordpress["environment"][n] for n in WORDPRESS_DB_VARIABLES
        }
        assert "db_password" in [s["source"] for s in service["secrets"]]
    assert wordpress["environment"]["WORDPRESS_DB_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert services["db"]["environment"]["MARIADB_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert config["secrets"]["db_password"]["file"] == str(REPO / "docker" / "secrets" / "db_password")
    assert "'WP_REDIS_HOST', 'redis'" in wordpress["environment"]["WORDPRESS_CONFIG_EXTRA"]

    # The companion is installed as a must-use plugin, read-only.
    companion = f"{REPO / 'companion' / 'wpscim-companion.php'}:/var/www/html/wp-content/mu-plugins/wpscim-companion.php:ro"
    assert companion in wordpress["volumes"]
    # WordPress installed, the Redis Object Cache plugin and its drop-in, then wpscim's table, then wpscim.
    setup = services["wordpress-setup"]
    assert setup["image"].startswith("wordpress:cli-") and setup["user"] == "33:33"
    assert "wp redis enable" in setup["command"][0] and "wp plugin install redis-cache" in setup["command"][0]
    assert upgrade["command"] == ["wpscim", "upgrade"] and "command" not in wpscim  # the image's CMD: wpscim serve
    assert upgrade["depends_on"] == {"wordpress-setup": {"condition": "service_completed_successfully"}}
    assert wpscim["depends_on"] == {"wpscim-upgrade": {"condition": "service_completed_successfully"}}
    for service in (wpscim, upgrade):
        assert service["build"] == {"context": str(REPO), "dockerfile": "docker/Dockerfile"} and service["image"] == "wpscim:local"
    assert wpscim["read_only"] is True and wpscim["cap_drop"] == ["ALL"] and "user" not in wpscim
    assert wpscim["environment"]["WPSCIM_METRICS_TOKEN_FILE"] == "/run/secrets/metrics_token"
    assert wpscim["ports"] == ["127.0.0.1:8080:8080/tcp"]

    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_completed_successfully", "condition: service_done"))
    assert _compose_config(broken).returncode != 0


# --- systemd ---------------------------------------------------------------------------------------


def _unit_problems(text: str, directory: Path) -> list[str]:
    """What `systemd-analyze verify` and `systemd-analyze security --offline` find in a unit (its
    /opt/wpscim is this run's virtualenv: verify checks that ExecStart= exists)."""
    directory.mkdir(parents=True, exist_ok=True)
    unit = directory / "wpscim.service"
    unit.write_text(text.replace(f"{IMAGE_VENV}/bin/", f"{VENV_BIN}/"))
    verify = subprocess.run([_tool("systemd-analyze"), "verify", str(unit)], capture_output=True, text=True, timeout=120, cwd=directory)
    problems = [line for line in (verify.stdout + verify.stderr).splitlines() if "wpscim" in line]
    if verify.returncode != 0:
        problems.append(f"systemd-analyze verify exited with {verify.returncode}")
    security = subprocess.run(
        [_tool("systemd-analyze"), "security", "--offline=yes", "--threshold=20", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
    )
    if security.returncode != 0:  # --threshold is in tenths: 20 is an exposure of 2.0 (this unit: 1.5, "OK")
        problems.append(f"exposure above 2.0: {security.stdout.strip().splitlines()[-1:]}")
    return problems


def test_systemd_unit_verifies_and_is_sandboxed(tmp_path):
    text = UNIT.read_text()
    assert _unit_problems(text, tmp_path / "unit") == []
    for directive in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "SupplementaryGroups=www-data",
        "ExecStartPre=/opt/wpscim/bin/wpscim upgrade",
        "ExecStart=/opt/wpscim/bin/wpscim serve",
        "WPSCIM_WP_CONFIG=/var/www/html/wp-config.php",
    ):
        assert re.search(rf"^{re.escape(directive)}", text, re.M) or directive in text, directive
    # Broken copies are caught: an unknown directive, a bad value, a missing program, the sandbox removed.
    assert _unit_problems(text.replace("ProtectSystem=strict", "ProtectSystm=strict"), tmp_path / "typo")
    assert _unit_problems(text.replace("ProtectHome=yes", "ProtectHome=sometimes"), tmp_path / "value")
    assert _unit_problems(text.replace("ExecStart=/opt/wpscim/bin/wpscim", "ExecStart=/opt/wpscim/bin/wpscimd"), tmp_path / "exec")
    unsandboxed = "\n".join(
        line
        for line in text.splitlines()
        if not line.startswith(("Protect", "Private", "Restrict", "SystemCall", "Capability", "DynamicUser"))
    )
    assert _unit_problems(unsandboxed, tmp_path / "open")


# --- nginx -----------------------------------------------------------------------------------------


def _nginx_conf(directory: Path, snippet: Path, port: int) -> Path:
    """A minimal nginx whose one server block (the site: everything else answers "wordpress") includes the snippet."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    temp = " ".join(f"{kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"""worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"};
events {{ worker_connections 64; }}
http {{
    access_log off;
    {temp}
    server {{
        listen 127.0.0.1:{port};
        server_name site.test;
        location / {{ return 200 "wordpress\\n"; }}
        include {snippet};
    }}
}}
""")
    return conf


def _nginx_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("nginx"), "-t", "-q", "-c", str(conf), "-e", str(conf.parent / "error.log")], capture_output=True, text=True, timeout=60
    )


def test_nginx_snippet_passes_nginx_t_and_proxies_scim_to_wpscim(wp, mysql_server, tmp_path):
    checked = _nginx_test(_nginx_conf(tmp_path / "as-is", NGINX_SNIPPET, free_port()))
    assert checked.returncode == 0, checked.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(NGINX_SNIPPET.read_text().replace("proxy_http_version 1.1;", "proxy_http_version 1.1", 1))
    assert _nginx_test(_nginx_conf(tmp_path / "broken", broken, free_port())).returncode != 0

    # Served for real: the snippet, its upstream moved from 127.0.0.1:8080 to a live wpscim's port.
    wpscim_port, nginx_port = free_port(), free_port()
    text = NGINX_SNIPPET.read_text()
    assert text.count("proxy_pass http://127.0.0.1:8080;") == 2
    live = tmp_path / "live.conf"
    live.write_text(text.replace("127.0.0.1:8080", f"127.0.0.1:{wpscim_port}"))
    conf = _nginx_conf(tmp_path / "live", live, nginx_port)
    from wpscim.wordpress.tokens import TokenStore

    token = TokenStore(wp.db, wp.site).create("behind-nginx")
    command = [sys.executable, "-m", "wpscim", "serve", "--database-url", database_url(mysql_server, wp.name), "--port", str(wpscim_port)]
    with Served(command, wpscim_port, tmp_path, name="wpscim"):
        nginx = subprocess.Popen(
            [_tool("nginx"), "-c", str(conf), "-e", str(conf.parent / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            site = f"http://127.0.0.1:{nginx_port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    http("GET", site + "/", timeout=2)
                    break
                except OSError:
                    assert nginx.poll() is None and time.monotonic() < deadline, nginx.stderr.read()
                    time.sleep(0.1)
            status, headers, body = http("GET", site + "/scim/v2/Users?count=1", headers={"Authorization": f"Bearer {token}"})
            assert status == 200 and json.loads(body)["totalResults"] >= 1 and headers["x-request-id"]
            status, _, body = http("GET", site + "/scim/v2/Users")
            assert status == 401 and json.loads(body)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            status, _, body = http("GET", site + "/wpscim/admin/")  # wpscim's admin page: its sign-in prompt (no
            assert status == 401 and b'id="signin"' in body and b"without <code>--wp-config</code>" in body  # salts here)
            for path in ("/healthz", "/metrics", "/", "/wp-login.php"):  # WordPress's, not proxied
                assert http("GET", site + path)[2] == b"wordpress\n", path
            # Bodies sent slowly (here: stopped halfway) wait in nginx, not on wpscim's request threads.
            stalled = []
            for _ in range(6):
                conn = socket.create_connection(("127.0.0.1", nginx_port), timeout=5)
                conn.sendall(
                    b"POST /scim/v2/Users HTTP/1.1\r\nHost: site.test\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
                    b"Content-Type: application/scim+json\r\nContent-Length: 500\r\n\r\n" + b'{"userName": "sl'
                )
                stalled.append(conn)
            time.sleep(0.5)
            for _ in range(8):
                status, _, _ = http("GET", site + "/scim/v2/Users?count=1", headers={"Authorization": f"Bearer {token}"}, timeout=5)
                assert status == 200
            for conn in stalled:
                conn.close()
        finally:
            os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=20)
