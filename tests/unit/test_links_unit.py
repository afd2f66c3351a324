"""The SCIM base URL every absolute URL wpscim writes starts with (http/discovery.scim_base): the
client's view of wpscim, through the documented proxy (X-Forwarded-Proto and Host, as
deploy/nginx-wpscim.conf sends them; X-Forwarded-Host; RFC 7239 Forwarded) or without one."""

from __future__ import annotations

import falcon.testing
import pytest

from wpscim.http.discovery import scim_base


@pytest.mark.parametrize(
    ("headers", "base"),
    [
        ({"Host": "sso.example.org:8080"}, "http://sso.example.org:8080/scim/v2"),
        ({"Host": "sso.example.org", "X-Forwarded-Proto": "https"}, "https://sso.example.org/scim/v2"),
        ({"Host": "sso.example.org", "X-Forwarded-Proto": "HTTPS"}, "https://sso.example.org/scim/v2"),
        (
            {"Host": "127.0.0.1:8080", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.org"},
            "https://idp.example.org/scim/v2",
        ),
        ({"Host": "127.0.0.1:8080", "Forwarded": 'for=192.0.2.1;proto=https;host="sso.example.org"'}, "https://sso.example.org/scim/v2"),
    ],
)
def test_scim_base_follows_the_proxy(headers, base):
    req = falcon.testing.create_req(path="/scim/v2/Users", headers=headers)
    assert scim_base(req) == base


def test_scim_base_keeps_the_root_path_a_wsgi_server_mounts_wpscim_under():
    req = falcon.testing.create_req(path="/scim/v2/Users", root_path="/sso", headers={"Host": "a.example", "X-Forwarded-Proto": "https"})
    assert scim_base(req) == "https://a.example/sso/scim/v2"
