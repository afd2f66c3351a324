"""Strict SCIM conformance testers run against wpscim served over a real WordPress database.

Two independent tools, each run as its own process exactly as an operator would run it:

- scim2-tester, through scim2-cli's `scim --url URL test`. It starts from discovery (/ServiceProviderConfig,
  /ResourceTypes, /Schemas: without them it does not start at all), then for every resource type the
  server publishes it creates, reads, lists, searches (`POST /.search` at the root), replaces, deletes and
  PATCHes (add / replace / remove on every writable attribute of the published schemas, with random
  values), comparing what comes back. scim2-cli fails the run on every result that is not SUCCESS,
  including SKIPPED, so a check skipped because a feature is not announced counts as a failure.
- scim-sanity, `scim-sanity probe URL --token T --i-accept-side-effects --json-output` in strict mode
  (its default): discovery, the User and Group lifecycles (POST/GET/PUT/PATCH/DELETE, Location, meta,
  ETag = meta.version, Content-Type), search and paging, and error bodies. The only skips allowed are
  the phases for the optional agent extension (draft-abbey-scim-agent-extension-00: Agent and
  AgenticApplication resource types), which it runs only when /ResourceTypes lists them.

Each test prints the failing checks in its assertion message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.conformance

TIMEOUT = 900  # seconds for one whole tool run

# scim-sanity skips these when /ResourceTypes does not list Agent / AgenticApplication (optional extension).
AGENT_EXTENSION_SKIPS = {"Agent CRUD Lifecycle", "AgenticApplication CRUD Lifecycle", "Agent Rapid Lifecycle"}

# What the issue requires /ServiceProviderConfig to announce as supported.
ANNOUNCED_FEATURES = ("patch", "filter", "sort", "etag", "bulk", "changePassword")

SCIM2_TESTER_STATUSES = ("SUCCESS", "COMPLIANT", "ACCEPTABLE", "DEVIATION", "ERROR", "CRITICAL", "SKIPPED")
_RESULT_LINE = re.compile(rf"^({'|'.join(SCIM2_TESTER_STATUSES)}) (\S+)\s*$")


def _tool(name: str) -> str:
    """The console script installed next to the running interpreter (fails, never skips, when absent)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(
            f"{name} is not installed next to {sys.executable}; the conformance tests need it: "
            f"pip install -e '.[test]' (scim2-cli, scim2-tester, scim-sanity)",
            pytrace=False,
        )
    return str(path)


def _run(argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8", **(env or {})},
    )


def _clip(text: str, limit: int = 700) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} more characters]"


def _get_json(url: str, token: str) -> tuple[int, dict | None]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def parse_scim2_tester_output(stdout: str) -> list[dict]:
    """Results of `scim test -v`: a `STATUS check_name` line, then indented reason and data lines."""
    results: list[dict] = []
    for line in stdout.splitlines():
        match = _RESULT_LINE.match(line)
        if match:
            results.append({"status": match.group(1), "check": match.group(2), "lines": []})
        elif results and line.strip():
            results[-1]["lines"].append(line.strip())
    return results


def test_service_provider_config_announces_the_required_features(live_server):
    base_url, token = live_server
    status, spc = _get_json(f"{base_url}/ServiceProviderConfig", token)
    assert status == 200 and isinstance(spc, dict), f"GET /ServiceProviderConfig answered {status}"
    missing = [name for name in ANNOUNCED_FEATURES if not (spc.get(name) or {}).get("supported")]
    assert not missing, f"/ServiceProviderConfig does not announce as supported: {', '.join(missing)}\n{json.dumps(spc, indent=1)}"


def test_scim2_tester_reports_no_failure(live_server):
    """`scim --url URL test -v` (scim2-cli + scim2-tester): every check SUCCESS, exit code 0."""
    base_url, token = live_server
    scim = _tool("scim")
    # The token goes through the environment, not argv (scim2-cli reads SCIM_CLI_HEADERS, ';'-separated).
    proc = _run([scim, "--url", base_url, "test", "-v"], env={"SCIM_CLI_HEADERS": f"Authorization: Bearer {token}"})
    results = parse_scim2_tester_output(proc.stdout)

    if not results:
        pytest.fail(
            f"scim2-tester ran no check (exit {proc.returncode}); it needs /ServiceProviderConfig, /ResourceTypes "
            f"and /Schemas to start.\nstdout: {_clip(proc.stdout, 3000)}\nstderr: {_clip(proc.stderr, 3000)}",
            pytrace=False,
        )

    failing = [r for r in results if r["status"] != "SUCCESS"]
    report = "\n".join(f"{r['status']} {r['check']}: " + " | ".join(_clip(line) for line in r["lines"]) for r in failing)
    counts = {status: sum(r["status"] == status for r in results) for status in SCIM2_TESTER_STATUSES}
    if failing or proc.returncode != 0:
        pytest.fail(
            f"scim2-tester: {len(failing)} of {len(results)} checks not SUCCESS "
            f"({', '.join(f'{k} {v}' for k, v in counts.items() if v)}; exit {proc.returncode})\n{report}"
            + (f"\nstderr: {_clip(proc.stderr, 2000)}" if proc.stderr.strip() else ""),
            pytrace=False,
        )


def test_scim_sanity_strict_probe_passes(serve):
    """`scim-sanity probe --strict --json-output`, against wpscim with its default settings: every result
    pass, skips only for the agent extension. (scim-sanity adds the member "fake-member-id" to a group
    and requires 200: member ids that are no WordPress user are ignored by default, and recorded.)"""
    base_url, token = serve()
    sanity = _tool("scim-sanity")
    proc = _run([sanity, "probe", base_url, "--token", token, "--strict", "--i-accept-side-effects", "--json-output"])
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"scim-sanity printed no JSON report (exit {proc.returncode})\nstdout: {_clip(proc.stdout, 3000)}\n"
            f"stderr: {_clip(proc.stderr, 3000)}",
            pytrace=False,
        )
    assert report.get("mode") == "strict"
    results = report["results"]

    bad = [
        r for r in results if r["status"] in ("fail", "error", "warn") or (r["status"] == "skip" and r["name"] not in AGENT_EXTENSION_SKIPS)
    ]
    lines = "\n".join(
        f"{r['status'].upper()} [{r.get('phase', '')}] {r['name']}: {_clip(r.get('message', '') + ' ' + r.get('details', ''))}" for r in bad
    )
    issues = "\n".join(f"  {i['priority']} {i['title']}: {i['fix']}" for i in report.get("issues", []))
    if bad or proc.returncode != 0:
        pytest.fail(
            f"scim-sanity (strict): {report['summary']} exit {proc.returncode}\n{lines}"
            + (f"\nscim-sanity's fix summary:\n{issues}" if issues else ""),
            pytrace=False,
        )
    ran = {r["name"] for r in results if r["status"] == "pass"}
    assert {"POST /Users", "POST /Groups", "GET /Users (ListResponse)"} <= ran, f"lifecycles did not run: {sorted(ran)}"
