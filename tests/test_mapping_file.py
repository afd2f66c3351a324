"""A site's mapping file routes SCIM attributes to any users column or usermeta key (issue: attribute mapping)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import Api, database_url

from wpscim.app import create_app
from wpscim.scim.schemas import register_extension, unregister_extension
from wpscim.wordpress.mapping import DEFAULT
from wpscim.wordpress.mapping_file import MappingError, parse_mapping
from wpscim.wordpress.site import check_mapping_against_database
from wpscim.wordpress.tokens import TokenStore

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SHOP = "urn:example:params:scim:schemas:extension:shop:2.0:User"

WOOCOMMERCE = f'''
# WooCommerce keeps billing details in usermeta.
[extension]
urn = "{SHOP}"
name = "ShopUser"
attributes = [{{ name = "loyaltyTier" }}, {{ name = "newsletter", type = "boolean" }}]

[[attribute]]
scim = 'phoneNumbers[type eq "work"].value'
meta = "billing_phone"

[[attribute]]
scim = "{ENTERPRISE}:organization"
meta = "billing_company"

[[attribute]]
scim = "{SHOP}:loyaltyTier"
meta = "shop_loyalty_tier"
transform = "lower"

[[attribute]]
scim = "{SHOP}:newsletter"
meta = "shop_newsletter"

[[attribute]]
scim = "displayName"
column = "display_name"
transform = "join"
from = ["name.givenName", "name.familyName"]

[[attribute]]
scim = "title"
meta = "shop_title_from_wordpress"
direction = "read"
'''


@pytest.fixture
def shop(wp):
    user_mapping, extension = parse_mapping(WOOCOMMERCE, "woocommerce.toml")
    register_extension(extension, "ShopUser")  # process-wide, as `wpscim serve --mapping` does
    token = TokenStore(wp.db, wp.site).create("shop")
    yield wp, Api(create_app(wp.storage(user_mapping=user_mapping)), token)
    unregister_extension(SHOP)


def meta(wp, user_id, key):
    rows = wp.sql("SELECT meta_value FROM wp_usermeta WHERE user_id = %s AND meta_key = %s", (user_id, key))
    return rows[0][0] if rows else None


def test_woocommerce_style_mapping(shop):
    wp, api = shop
    created = api.post(
        "/Users",
        json={
            "userName": "buyer@example.com",
            "name": {"givenName": "Ann", "familyName": "O'Neil & Co"},
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}, {"value": "+1 555 0199", "type": "mobile"}],
            ENTERPRISE: {"organization": "Acme Ltd", "department": "Buying"},
            SHOP: {"loyaltyTier": "GOLD", "newsletter": True},
            "title": "ignored: WordPress owns it",
        },
    )
    assert created.status_code == 201, created.text
    uid = int(created.json["id"])
    # Straight from wp_usermeta …
    assert meta(wp, uid, "billing_phone") == "+1 555 0100"
    assert meta(wp, uid, "billing_company") == "Acme Ltd"
    assert meta(wp, uid, "shop_loyalty_tier") == "gold"
    assert meta(wp, uid, "shop_newsletter") == "1"
    assert meta(wp, uid, "shop_title_from_wordpress") is None  # read-only direction: never written
    assert wp.sql("SELECT display_name FROM wp_users WHERE ID = %s", (uid,))[0][0] == "Ann O'Neil &amp; Co"
    rows = [k for k, _ in wp.oracle.user_meta_rows(uid)["meta"]]
    assert rows.index("billing_phone") < rows.index("wp_capabilities")  # like wp_insert_user's meta_input
    # … and back through SCIM.
    body = api.get(f"/Users/{uid}").json
    assert {"value": "+1 555 0100", "type": "work"} in body["phoneNumbers"]
    assert body[ENTERPRISE] == {"organization": "Acme Ltd", "department": "Buying"}
    assert body[SHOP] == {"loyaltyTier": "gold", "newsletter": True}
    assert body["displayName"] == "Ann O'Neil & Co"
    # WooCommerce changes the billing phone: SCIM reads WordPress's value.
    wp.sql("UPDATE wp_usermeta SET meta_value = '+44 20 7946 0000' WHERE user_id = %s AND meta_key = 'billing_phone'", (uid,))
    wp.sql("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (%s, 'shop_title_from_wordpress', 'VIP')", (uid,))
    body = api.get(f"/Users/{uid}").json
    assert {"value": "+44 20 7946 0000", "type": "work"} in body["phoneNumbers"] and body["title"] == "VIP"
    # Filters and PATCH paths work on mapped attributes as on built-in ones.
    found = api.get("/Users", params={"filter": f'{ENTERPRISE}:organization eq "acme ltd"'}).json
    assert [u["id"] for u in found["Resources"]] == [str(uid)]
    found = api.get("/Users", params={"filter": 'phoneNumbers[type eq "work" and value eq "+44 20 7946 0000"]'}).json
    assert [u["id"] for u in found["Resources"]] == [str(uid)]
    assert api.get("/Users", params={"filter": f'{SHOP}:loyaltyTier eq "silver"'}).json["totalResults"] == 0
    patched = api.patch(
        f"/Users/{uid}",
        json={
            "Operations": [
                {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0111"},
                {"op": "replace", "path": f"{ENTERPRISE}:organization", "value": "Acme Holdings"},
            ]
        },
    )
    assert patched.status_code == 200, patched.text
    assert meta(wp, uid, "billing_phone") == "+1 555 0111" and meta(wp, uid, "billing_company") == "Acme Holdings"


def test_the_site_extension_is_discoverable(shop):
    _, api = shop
    schema = api.get(f"/Schemas/{SHOP}")
    assert schema.status_code == 200
    assert {a["name"]: a["type"] for a in schema.json["attributes"]} == {"loyaltyTier": "string", "newsletter": "boolean"}
    user_type = api.get("/ResourceTypes/User").json
    assert {"schema": SHOP, "required": False} in user_type["schemaExtensions"]


def test_changing_the_mapping_loses_nothing(wp, shop):
    _, shop_api = shop
    plain = wp.client()  # the built-in mapping: organization lives in wpscim's JSON residue
    uid = plain.post("/Users", json={"userName": "early", ENTERPRISE: {"organization": "Old Co"}}).json["id"]
    assert meta(wp, uid, "billing_company") is None
    assert shop_api.get(f"/Users/{uid}").json[ENTERPRISE] == {"organization": "Old Co"}  # still readable
    shop_api.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": f"{ENTERPRISE}:organization", "value": "Old Co"}]})
    assert meta(wp, uid, "billing_company") == "Old Co"  # moved once re-sent


def _wpscim(*args):
    return subprocess.run([sys.executable, "-m", "wpscim", *args], capture_output=True, text=True, timeout=60)


def test_mapping_commands(shop, tmp_path, mysql_server):
    wp, api = shop
    path = tmp_path / "woocommerce.toml"
    path.write_text(WOOCOMMERCE)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[attribute]]\nscim = 'title'\n")
    url = database_url(mysql_server, wp.name)
    refused = _wpscim("serve", "--database-url", url, "--mapping", str(broken), "--port", "1")
    assert refused.returncode != 0 and "broken.toml: line 1: give exactly one of 'column' or 'meta'" in refused.stderr
    shown = _wpscim("mapping", "show", "--mapping", str(path))
    assert shown.returncode == 0 and "billing_phone" in shown.stdout and "join(name.givenName, name.familyName)" in shown.stdout
    api.post(
        "/Users",
        json={
            "userName": "obs",
            "phoneNumbers": [{"value": "1", "type": "work"}],
            "password": "Secret-1",
            "roles": [{"value": "subscriber"}],
            ENTERPRISE: {"organization": "X", "costCenter": "7"},
        },
    )
    observed = _wpscim("mapping", "observed", "--database-url", url, "--mapping", str(path))
    assert observed.returncode == 0, observed.stderr
    lines = observed.stdout.splitlines()
    assert any(l.startswith('phoneNumbers[type eq "work"].value') and "usermeta billing_phone" in l for l in lines)
    assert any(l.startswith(f"{ENTERPRISE}:costCenter") and f"wpscim_{ENTERPRISE} (JSON)" in l for l in lines)
    assert any(l.startswith("password ") for l in lines) and "Secret-1" not in observed.stdout
    assert any(l.startswith("roles.value ") and l.split("-> ")[1].startswith("wp_capabilities ") for l in lines), lines
    checked = _wpscim("mapping", "check", str(path), "--database-url", url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "usermeta billing_phone: already set for 1 users" in checked.stdout
    assert "users.display_name: holds at most 250 characters" in checked.stdout


def test_mapping_check_names_no_length_for_a_date_column(wp):
    lines = check_mapping_against_database(wp.db, wp.site, DEFAULT)
    assert any("users.display_name: holds at most 250 characters; longer values are refused" in line for line in lines)
    assert not any("users.user_registered" in line for line in lines), lines  # a date has no length to report
    # A long userName is not refused: it gets a shortened login and is kept whole in usermeta.
    assert (
        "info: userName -> users.user_login: holds at most 60 characters; a longer userName gets a shortened unique login, the exact value kept in usermeta wpscim_userName"
        in lines
    ), lines


def test_odd_meta_keys_are_refused_and_the_rest_bound_not_formatted(wp):
    # A quote or backslash in a key is refused where the file is read (so is what MySQL's collation
    # ignores: trailing spaces, control characters); the keys it allows are bound, never formatted in.
    with pytest.raises(MappingError, match="o'brien"):
        parse_mapping("[[attribute]]\nscim = 'title'\nmeta = \"o'brien\\\\x\"\n", "odd.toml")
    user_mapping, _ = parse_mapping("[[attribute]]\nscim = 'title'\nmeta = \"o-brien_x\"\n", "odd.toml")
    api = Api(create_app(wp.storage(user_mapping=user_mapping)), TokenStore(wp.db, wp.site).create("odd"))
    for title in ("b", "a"):
        assert api.post("/Users", json={"userName": f"t{title}", "title": title}).status_code == 201
    assert meta(wp, wp.sql("SELECT ID FROM wp_users WHERE user_login = 'ta'")[0][0], "o-brien_x") == "a"
    ordered = api.get("/Users", params={"sortBy": "title", "filter": "title pr"}).json["Resources"]
    assert [u["title"] for u in ordered] == ["a", "b"]
    assert api.get("/Users", params={"filter": 'title eq "b"'}).json["totalResults"] == 1
