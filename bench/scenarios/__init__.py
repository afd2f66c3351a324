"""The scenarios, one module per group, each holding its wpscim (HTTP) side and its raw-SQL reference
side next to each other. A scenario is a function(bench) that runs Bench.compare() (or its own
alternating loop) and leaves its rows in bench.result.rows.

SCENARIOS lists them in run order under the names --only takes:

| name | module | rows |
| --- | --- | --- |
| lookups, lookups_high | lookups.py | lookup by userName / externalId at 4 and at 16 clients |
| page, import | pages.py | one page of 100 users; the full import page by page |
| groups_list, group_stream, membership | groups.py | GET /Groups; one group streamed; group PATCH of 100 members |
| creates | create.py | create without and with password, create vs the uniqueness-checking reference, the hash alone |
| deactivate, put | updates.py | PATCH active=false; PUT |
| changelog, companion, access_log | changelog.py | two wpscim servers compared: creates with the change log and the Redis invalidation vs without (target); creates waiting for the companion in a real WordPress vs without; lookups with the access log on vs off |

scim.py holds the SCIM bodies they share; events.py the change event the raw-SQL references write, as
wpscim writes one in each change's transaction. The report's row order (report.ORDER) is not the run
order.
"""

from __future__ import annotations

from . import changelog, create, groups, lookups, pages, updates

SCENARIOS = {
    "lookups": lookups.lookups,
    "lookups_high": lookups.lookups_high,
    "page": pages.page,
    "groups_list": groups.groups_list,
    "group_stream": groups.group_stream,
    "import": pages.full_import,
    "creates": create.creates,
    "deactivate": updates.deactivate,
    "put": updates.put,
    "membership": groups.membership,
    "changelog": changelog.changelog,
    "companion": changelog.companion,
    "access_log": changelog.access_log,
}
