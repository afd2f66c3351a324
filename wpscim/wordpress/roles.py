"""WordPress roles as SCIM groups: role definitions (`{prefix}user_roles`), each user's
`{prefix}capabilities` and `{prefix}user_level`, and wpscim's own notes on groups (`wpscim_groups`).

Membership edits change one role in a user's capabilities, keep the user's other roles and per-user
caps, and recompute user_level as WP_User::update_user_level_from_caps() does.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wpscim.scim.resource import user_number
from wpscim.wordpress import naming
from wpscim.wordpress.errors import Conflict, Forbidden, Invalid, NotFound
from wpscim.wordpress.events import Event
from wpscim.wordpress.site import Site, serialize, unserialize

log = logging.getLogger("wpscim")
BUILT_IN = ("administrator", "editor", "author", "contributor", "subscriber")
GROUPS_OPTION = "wpscim_groups"
_LEVEL = re.compile(r"^level_(\d+)$")

# WordPress puts a user's roles and own capabilities in one array and merges that array into the user's
# capabilities (WP_User::get_role_caps()), so a role whose slug is a capability grants it: a group named
# "manage_options" would make its members administrators. These are the capabilities WordPress 6.1
# checks (populate_roles() and map_meta_cap(); tests/test_least_power.py compares them with its source);
# capabilities of the site's own roles (a plugin's) count too (capability_names).
CORE_CAPABILITIES = frozenset(
    """
    activate_plugin activate_plugins add_comment_meta add_post_meta add_term_meta add_user_meta add_users
    assign_categories assign_post_tags assign_term create_app_password create_sites create_users customize
    deactivate_plugin deactivate_plugins delete_app_password delete_app_passwords delete_categories
    delete_comment_meta delete_others_pages delete_others_posts delete_page delete_pages delete_plugins
    delete_post delete_post_meta delete_post_tags delete_posts delete_private_pages delete_private_posts
    delete_published_pages delete_published_posts delete_site delete_sites delete_term delete_term_meta
    delete_themes delete_user delete_user_meta delete_users do_not_allow edit_app_password edit_categories
    edit_comment edit_comment_meta edit_css edit_dashboard edit_files edit_others_pages edit_others_posts
    edit_page edit_pages edit_plugins edit_post edit_post_meta edit_post_tags edit_posts edit_private_pages
    edit_private_posts edit_published_pages edit_published_posts edit_term edit_term_meta edit_theme_options
    edit_themes edit_user edit_user_meta edit_users erase_others_personal_data exist export
    export_others_personal_data import install_languages install_plugins install_themes list_app_passwords
    list_users manage_categories manage_links manage_network manage_network_options manage_network_plugins
    manage_network_themes manage_network_users manage_options manage_post_tags manage_privacy_options
    manage_sites moderate_comments promote_user promote_users publish_pages publish_post publish_posts read
    read_app_password read_page read_post read_private_pages read_private_posts remove_user remove_users
    resume_plugin resume_plugins resume_theme resume_themes setup_network switch_themes unfiltered_html
    unfiltered_upload update_core update_https update_languages update_php update_plugins update_themes
    upgrade_network upload_files upload_plugins upload_themes view_site_health_checks
    """.split()
)


@dataclass(frozen=True)
class RolePolicy:
    template: str = "subscriber"  # whose capabilities a role created by POST /Groups starts with
    never_grant: frozenset = frozenset({"administrator"})  # a group push may remove these, never grant them
    never_remove: frozenset = frozenset()
    allow_delete: bool = False  # allow DELETE of built-in roles and roles wpscim did not create
    unknown_members: str = "ignore"  # member ids that are no user: "ignore" (logged, in the audit trail) or "reject" (400)
    lean_patch_response: bool = False  # PATCH /Groups answers without members unless ?attributes=members
    administrator_credentials: bool = False  # SCIM may change the password, e-mail and userName of administrators
    # Roles POST /Groups may create: WordPress loads every role on every page (the roles option is
    # autoloaded), so a token must not be able to grow it without bound.
    max_created: int = 100


@dataclass
class Roles:
    definitions: dict  # slug -> {"name": …, "capabilities": {cap: bool}}, in WordPress's order
    default_role: str
    notes: dict = field(default_factory=dict)  # slug -> {"externalId", "managed", "created", "lastModified"}
    _levels: dict = field(default_factory=dict, compare=False, repr=False)  # user_level() per capabilities array

    def name(self, slug: str) -> str:
        """The role's name as stored (HTML-escaped when wpscim wrote it: WordPress prints it unescaped)."""
        return str((self.definitions.get(slug) or {}).get("name") or slug)

    def display(self, slug: str) -> str:
        """The role's name as a person reads it (SCIM's displayName)."""
        return naming.read_name(self.name(slug))

    def revision(self, slug: str) -> int | None:
        """The role's change counter in wpscim's notes, advanced by every change through SCIM (None before
        the first): a group's version follows it, since meta.lastModified has one-second resolution and a
        version is answered without reading the members."""
        value = (self.notes.get(slug) or {}).get("revision")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def made_by_wpscim(self, slug: str) -> bool:
        """The role was created by POST /Groups (not linked to, not a plugin's or WordPress's own)."""
        return bool((self.notes.get(slug) or {}).get("managed"))

    def changed(self, slug: str) -> None:
        """Note a change of the role: its lastModified and its change counter (saved with the notes)."""
        note = self.notes.setdefault(slug, {"managed": False})
        note["lastModified"] = _now()
        note["revision"] = (self.revision(slug) or 0) + 1

    def held(self, caps: dict) -> list[str]:
        """The roles a capabilities array grants (keys that are roles, with a true value)."""
        return [key for key, granted in caps.items() if granted and isinstance(key, str) and key in self.definitions]

    def user_level(self, caps: dict) -> int:
        """Highest level_N among the caps of the user's roles and the user's own caps (allcaps)."""
        try:
            key = tuple(caps.items())
            level = self._levels.get(key)
        except TypeError:  # an unhashable value in a capabilities array someone else wrote
            key = level = None
        if level is None:
            level = self._user_level(caps)
            if key is not None:
                if len(self._levels) > 256:
                    self._levels.clear()
                self._levels[key] = level
        return level

    def _user_level(self, caps: dict) -> int:
        levels = [int(m.group(1)) for cap, value in granted(caps, self).items() if value and (m := _LEVEL.match(str(cap)))]
        return max(levels, default=0)


ADMIN_CAPABILITY = "manage_options"

# A role with one of these is never granted through SCIM: its holders administer the site
# (manage_options) or can make administrators, take over their accounts or delete them (WordPress lets
# promote_users give any role, edit_users set any user's password and e-mail, delete_users delete any
# user), or can run code of their choosing on the server (plugins, themes, their editors, unfiltered
# uploads), which is administering it too. Such a role may still be taken away.
ADMINISTERING_CAPABILITIES = (
    "manage_options",
    "promote_users",
    "edit_users",
    "delete_users",
    "install_plugins",
    "upload_plugins",
    "edit_plugins",
    "install_themes",
    "upload_themes",
    "edit_themes",
    "edit_files",
    "unfiltered_upload",
)

# Role names are stored in an autoloaded option that WordPress reads on every page, and a group's notes
# in another option: without a bound one request could make either megabytes long.
NAME_MAX = 100
EXTERNAL_ID_MAX = 255


def administrator_roles(roles: Roles) -> set[str]:
    """The roles that make their holders administrators of the site."""
    return {
        slug
        for slug, definition in roles.definitions.items()
        if (definition.get("capabilities") or {}).get(ADMIN_CAPABILITY) or slug == "administrator"
    }


def administering_capabilities(roles: Roles, slug: str) -> list[str]:
    """The capabilities of role `slug` that let its holders administer the site or its administrators."""
    capabilities = (roles.definitions.get(slug) or {}).get("capabilities") or {}
    return [cap for cap in ADMINISTERING_CAPABILITIES if capabilities.get(cap)]


def granted(caps: dict, roles: Roles) -> dict:
    """The capabilities a capabilities array gives its user, merged as WP_User::get_role_caps() merges
    them: those of every role it names, whatever value is stored with the role, then the user's own."""
    merged: dict = {}
    for key in caps:
        if isinstance(key, str) and key in roles.definitions:
            merged.update(roles.definitions[key].get("capabilities") or {})
    merged.update(caps)
    return merged


def administers(caps: dict, roles: Roles) -> bool:
    """Whether a capabilities array makes its user an administrator of the site, as WordPress decides it
    (`manage_options` among the capabilities granted: a user's own `manage_options: false` outweighs its
    roles'). Counting who can still administer relies on it being exact."""
    return bool(granted(caps, roles).get(ADMIN_CAPABILITY))


def administers_or_manages_administrators(caps: dict, roles: Roles) -> bool:
    """Whether a capabilities array gives its user one of ADMINISTERING_CAPABILITIES, through a role or
    its own, or names an administrator role at all: such a user can (or may be about to) take over an
    administrator's account, so SCIM does not take over theirs."""
    merged = granted(caps, roles)
    return any(slug in caps for slug in administrator_roles(roles)) or any(merged.get(cap) for cap in ADMINISTERING_CAPABILITIES)


def capability_names(roles: Roles) -> set[str]:
    """Every capability WordPress or one of the site's roles knows: no role wpscim creates or grants may
    have one as its slug."""
    names = set(CORE_CAPABILITIES)
    for definition in roles.definitions.values():
        names.update(str(cap) for cap in (definition.get("capabilities") or {}))
    return names


def is_capability(slug: str, roles: Roles) -> bool:
    return bool(_LEVEL.match(slug)) or slug in capability_names(roles)


# Characters a browser draws as nothing. Unicode's Default_Ignorable_Code_Point outside the format
# characters (Cf, checked with unicodedata, which holds the zero-width and bidi controls: U+200B–200F,
# U+202A–202E, U+2060–206F, U+FEFF …): the combining grapheme joiner, the Hangul fillers, Khmer's
# inherent vowels, Mongolian's and the other variation selectors, noncharacters kept for them; and
# the Braille blank, which is no ignorable but shows as a space that no whitespace rule removes. A
# name holding them could read as another role's (or, with a right-to-left override, as a reversed
# one) in WordPress's role lists.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u2800\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8\U000e0000-\U000e0fff]"
)


def visible(display_name: str) -> str:
    """`display_name` without the characters a browser draws as nothing (see _IGNORABLE)."""
    if display_name.isascii():
        return display_name.strip()
    text = _IGNORABLE.sub("", display_name)
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def name_key(display_name: str) -> str:
    """How two role names are compared: as a person reads them, in any case, in any Unicode form, with
    invisible characters (zero-width spaces, direction marks, fillers) gone and spaces collapsed — so
    that no role can be given a name that reads like another's."""
    text = unicodedata.normalize("NFKC", visible(display_name))
    return " ".join(text.casefold().split())


# Letters of other scripts drawn as Latin ones (a subset of Unicode's confusables, UTS #39), each mapped
# to the Latin letter it copies, in the same case; Latin's small capitals; 'I', drawn as 'l' by
# sans-serif fonts; and the digits drawn as letters ("Administrat0r").
_LOOKALIKE = str.maketrans(
    "АВЕЅІЈКМНОРСТХУҮԚԜӀаеіјорсѕухүԁԛԝһӏ"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹͿοϲνρϳᴦ"  # Greek
    "ᎠᎡᎢᎥᎩᎪᎫᎬᎳᎷᎻᎽᏀᏂᏃᏏᏒᏔᏕᏙᏚᏞᏟᏢᏦᏧᏳᏴꭵꮁꮃꮓꮩꮪꮯ"  # Cherokee
    "ɢɪɴʀʏʙʜʟᴀᴄᴅᴇᴊᴋᴍᴏᴘᴛᴜᴠᴡᴢꜰꜱꞯ"  # Latin's small capitals
    "ıIǀ01",  # Latin's own, digits
    "ABESlJKMHOPCTXYYQWlaeijopcsyxydqwhlABEZHlKMNOPTYXCJocvpjrDRTiYAJEWMHYGhZbRWSVSLCPKdGBirwzvscginrybhlacdejkmoptuvwzfsqillOl",
)
# Pairs of Latin letters drawn as one (UTS #39): "Adrninistrator" reads as "Administrator".
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


def name_skeleton(display_name: str) -> str:
    """A name as it looks: name_key with look-alike letters (other scripts' copies of Latin letters, 'rn'
    for 'm' …) made one. Two names with one skeleton read alike to a person."""
    text = unicodedata.normalize("NFKC", visible(display_name)).translate(_LOOKALIKE)
    for pair, letter in _DIGRAPHS:
        text = text.replace(pair, letter)
    return " ".join(text.casefold().split())


# Scripts whose letters copy Latin ones: a name mixing them with Latin letters ("Аdministrator" with a
# Cyrillic А) is a disguise, not a name. Latin mixed with other scripts (Han, Kana, Hangul …) is fine.
_LATIN_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "COPTIC", "ARMENIAN", "CHEROKEE", "LISU"})


def mixed_scripts(display_name: str) -> list[str]:
    """The scripts of look-alike letters a word of `display_name` mixes with Latin ones (empty if no word
    does: "Sales Россия" names two things, "Аdministrator" disguises one)."""
    mixed: set[str] = set()
    for word in re.split(r"[\W\d_]+", unicodedata.normalize("NFKC", display_name)):
        scripts = {unicodedata.name(c, "").split(" ", 1)[0] for c in word if c.isalpha()}
        scripts &= _LATIN_LOOKALIKE_SCRIPTS | {"LATIN"}
        if "LATIN" in scripts:
            mixed |= scripts - {"LATIN"}
    return sorted(mixed)


def parse_caps(value: str | None) -> dict:
    """A user's capabilities array (a fresh dict the caller may change)."""
    return dict(_parsed_caps(value)) if value else {}


@functools.lru_cache(maxsize=4096)
def _parsed_caps(value: str) -> tuple:
    # Most users share one of a few capability strings: parse each once.
    try:
        caps = unserialize(value)
    except (ValueError, TypeError):
        return ()
    return tuple(caps.items()) if isinstance(caps, dict) else ()


def role_name(display_name: str) -> str:
    """A group's displayName as a role name WordPress can print: plain text, HTML-escaped. WordPress never
    sanitizes role names (only code adds roles) and wp_dropdown_roles() prints them unescaped into
    <option>s on Users → Add New, user-edit and Settings → General; so a name is stored as WordPress
    stores a user's display name (sanitize_text_field, wp_filter_kses, escaped): markup is gone."""
    stored = naming.store_name(visible(display_name))
    if not stored.strip():
        raise Invalid("'displayName' holds no text WordPress can show as a role name")
    return stored


def _caps_needle(slug: str) -> str:
    """The entry a serialized capabilities array has for a granted `slug`."""
    return f's:{len(slug.encode("utf-8"))}:"{slug}";b:1;'


def _caps_like(slug: str) -> str:
    """A LIKE pattern matching a serialized capabilities array that grants `slug`."""
    return "%" + _caps_needle(slug).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


READ_CACHE_SECONDS = 2.0  # how stale role *names* in a user's `groups` may be; writes always read fresh


class RoleStore:
    def __init__(self, site: Site, policy: RolePolicy = RolePolicy(), guard=None, policy_source=None):
        """`policy_source`: a callable answering the RolePolicy in force (the admin page's settings, read
        per request); without it `policy` holds."""
        self.site = site
        self._policy = policy
        self._policy_source = policy_source
        self.guard = guard  # administrators.AdministratorGuard: no change leaves the site without an administrator
        self._recent: tuple[float, Roles] | None = None
        self._parsed: tuple[str, dict] | None = None

    @property
    def policy(self) -> RolePolicy:
        return self._policy_source() if self._policy_source is not None else self._policy

    def recent(self, tx) -> Roles:
        """Role definitions for reading users: parsed at most every READ_CACHE_SECONDS (the option is a
        large PHP-serialized array, and every user read needs it)."""
        cached = self._recent
        if cached is None or time.monotonic() - cached[0] > READ_CACHE_SECONDS:
            cached = self._recent = (time.monotonic(), self.load(tx))
        return cached[1]

    # --- options ------------------------------------------------------------------------------

    def load(self, tx, for_update: bool = False) -> Roles:
        lock = " FOR UPDATE" if for_update else ""
        tx.execute(
            f"SELECT option_name, option_value FROM {self.site.options} WHERE option_name IN (%s, 'default_role', %s){lock}",
            (f"{self.site.prefix}user_roles", GROUPS_OPTION),
        )
        values = dict(tx.fetchall())
        definitions = self._definitions(values.get(f"{self.site.prefix}user_roles"))
        try:
            notes = json.loads(values.get(GROUPS_OPTION) or "{}")
        except ValueError:
            notes = {}
        return Roles(definitions if isinstance(definitions, dict) else {}, values.get("default_role") or "subscriber", notes)

    def _definitions(self, raw: str | None) -> dict:
        """Unserialized role definitions; the last parse is reused while the option text is unchanged
        (it is a large PHP-serialized array and unserializing it in Python is the costly part)."""
        if not raw:
            return {}
        cached = self._parsed
        if cached is None or cached[0] != raw:
            parsed = unserialize(raw)
            cached = self._parsed = (raw, parsed if isinstance(parsed, dict) else {})
        return copy.deepcopy(cached[1])

    def _save_option(self, tx, name: str, value: str, autoload: str) -> None:
        tx.execute(
            f"INSERT INTO {self.site.options} (option_name, option_value, autoload) VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
            (name, value, autoload),
        )

    def _save(self, tx, roles: Roles, definitions: bool = True) -> None:
        """Write the notes, and the role definitions unless only notes changed."""
        self._recent = None
        if definitions:
            self._save_option(tx, f"{self.site.prefix}user_roles", serialize(roles.definitions), "yes")
        self._save_option(tx, GROUPS_OPTION, json.dumps(roles.notes, separators=(",", ":")), "no")

    # --- role definitions ---------------------------------------------------------------------

    def find_by_name(self, roles: Roles, display_name: str) -> str | None:
        """The role named `display_name` in any case or Unicode form, invisible characters aside. A name
        that only looks like one (look-alike letters, see named_alike) names no role: granting or linking
        to it would give one group's members another role's capabilities."""
        key = name_key(naming.read_name(role_name(display_name)))
        return next((slug for slug in roles.definitions if name_key(roles.display(slug)) == key), None)

    @staticmethod
    def named_alike(roles: Roles, display_name: str) -> list[str]:
        """The roles whose names read as `display_name`, as it would be stored: first those of the same
        name in any case or Unicode form, then those whose names differ from it only in look-alike
        letters (name_skeleton)."""
        shown = naming.read_name(role_name(display_name))
        key, skeleton = name_key(shown), name_skeleton(shown)
        same = [slug for slug in roles.definitions if name_key(roles.display(slug)) == key]
        return same + [slug for slug in roles.definitions if slug not in same and name_skeleton(roles.display(slug)) == skeleton]

    @staticmethod
    def refuse_long_name(display_name: str) -> None:
        # Asked before the name is sanitized, whose cost grows with its length.
        if len(display_name.strip()) > NAME_MAX:
            raise Invalid(f"'displayName' is longer than {NAME_MAX} characters, the longest role name wpscim stores")

    @staticmethod
    def refuse_mixed_scripts(display_name: str) -> None:
        """Invalid if `display_name` mixes Latin letters with letters drawn like them: no new role name
        may (an existing role's name is matched before this is asked)."""
        if scripts := mixed_scripts(visible(display_name)):
            raise Invalid(
                f"'displayName' mixes Latin letters with {' and '.join(s.title() for s in scripts)} ones that look like them; "
                "a role name is written in one script"
            )

    @staticmethod
    def refuse_external_id(external_id: str | None) -> None:
        if external_id is not None and len(external_id) > EXTERNAL_ID_MAX:
            raise Invalid(f"a group's 'externalId' is longer than {EXTERNAL_ID_MAX} characters")

    def refuse_beyond_limit(self, roles: Roles) -> None:
        limit = self.policy.max_created
        made = sum(1 for slug in roles.definitions if roles.made_by_wpscim(slug))
        if made >= limit:
            raise Forbidden(
                f"this site lets SCIM create at most {limit} roles (--max-groups) and {made} exist; link the group "
                "to an existing role by its name, delete a group SCIM created, or raise the limit"
            )

    def create(self, tx, display_name: str, external_id: str | None) -> tuple[str, bool]:
        """A role for a new group, or the existing role of that name (enhanced group push links Okta
        groups to WordPress roles). Returns (slug, created)."""
        self.refuse_long_name(display_name)
        self.refuse_external_id(external_id)
        display_name = visible(display_name)
        stored_name = role_name(display_name)
        roles = self.load(tx, for_update=True)
        slug = self.find_by_name(roles, display_name)
        if slug is None:
            self.refuse_mixed_scripts(display_name)
            if alike := self.named_alike(roles, display_name):
                raise Conflict(
                    f"role '{alike[0]}' is already named '{roles.display(alike[0])}', which reads as "
                    f"'{naming.read_name(stored_name)}'; give the group a name of its own"
                )
        created = slug is None
        if created:
            self.refuse_beyond_limit(roles)
            base = re.sub(r"[^a-z0-9]+", "_", naming.remove_accents(display_name).lower()).strip("_")[:60] or "group"
            slug, n = base, 2
            while slug in roles.definitions or is_capability(slug, roles):
                slug, n = f"{base}_{n}", n + 1
            template = roles.definitions.get(self.policy.template) or {"capabilities": {"read": True, "level_0": True}}
            roles.definitions[slug] = {"name": stored_name, "capabilities": dict(template.get("capabilities") or {})}
            roles._levels.clear()  # a new role changes what its slug in a capabilities array grants
        before = None if created else {"slug": slug, "name": roles.name(slug)}
        note = roles.notes.setdefault(slug, {"managed": created, "created": _now()})
        external_before = note.get("externalId")
        if external_id:
            note["externalId"] = external_id
        roles.changed(slug)  # also when linking: the members the request adds change the group's version
        self._save(tx, roles)
        if created or note.get("externalId") != external_before:  # linking to a role as it is records nothing
            tx.record(
                Event(
                    "create" if created else "update",
                    "Group",
                    slug,
                    ("displayName", *(("externalId",) if external_id else ())) if created else ("externalId",),
                    {"before": before, "after": {"slug": slug, "name": roles.name(slug)}},
                )
            )
        return slug, created

    def update(
        self, tx, slug: str, display_name: str | None, external_id: str | None, roles: Roles | None = None, clear_external_id: bool = False
    ) -> None:
        """Rename the role and note its externalId. `roles`: the definitions this transaction read
        FOR UPDATE already (changed in place as saved)."""
        if roles is None:
            roles = self.load(tx, for_update=True)
        if slug not in roles.definitions:
            raise NotFound(f"no group (WordPress role) with id '{slug}'")
        before = {"slug": slug, "name": roles.name(slug)}
        note = roles.notes.setdefault(slug, {"managed": False})
        external_before = note.get("externalId")
        if external_id != external_before:
            self.refuse_external_id(external_id)
        if display_name is not None and display_name.strip() != roles.display(slug):
            self.refuse_long_name(display_name)  # a longer name the role has (a plugin's, an older wpscim's) stays
        stored_name = role_name(display_name) if display_name is not None else None
        renamed = stored_name is not None and stored_name != roles.name(slug)
        if renamed:
            if slug in administrator_roles(roles):
                raise Invalid(
                    f"role '{slug}' makes its members administrators of the site, so it is not renamed through SCIM",
                    immutable=True,
                )
            shown = naming.read_name(stored_name)
            if name_key(shown) != name_key(roles.display(slug)):  # a new name, not the one it has in another case
                self.refuse_mixed_scripts(shown)
            others = [other for other in self.named_alike(roles, display_name) if other != slug]
            if others:
                raise Conflict(f"role '{others[0]}' is already named '{roles.display(others[0])}', which reads as '{shown}'")
            roles.definitions[slug]["name"] = stored_name
        if external_id:
            note["externalId"] = external_id
        elif clear_external_id:
            note.pop("externalId", None)
        roles.changed(slug)
        self._save(tx, roles, definitions=renamed)
        changed = (*(("displayName",) if renamed else ()), *(("externalId",) if note.get("externalId") != external_before else ()))
        if changed:
            tx.record(Event("update", "Group", slug, changed, {"before": before, "after": {"slug": slug, "name": roles.name(slug)}}))

    def delete(self, tx, slug: str) -> None:
        roles = self.load(tx, for_update=True)
        if slug not in roles.definitions:
            raise NotFound(f"no group (WordPress role) with id '{slug}'")
        if not self.policy.allow_delete and (slug in BUILT_IN or not roles.made_by_wpscim(slug)):
            kind = "built into WordPress" if slug in BUILT_IN else "not created by wpscim"
            raise Invalid(
                f"role '{slug}' is {kind}, so it is not deleted through SCIM (start wpscim with --allow-role-delete to permit it)",
                immutable=True,
            )
        if slug == roles.default_role:
            raise Conflict(f"role '{slug}' is the site's default role for new users; change default_role first", uniqueness=False)
        self.change_members(tx, slug, add=[], remove=self.member_ids(tx, slug), roles=roles, check_policy=False)
        before = {"slug": slug, "name": roles.name(slug)}
        del roles.definitions[slug]
        roles.notes.pop(slug, None)
        self._save(tx, roles)
        tx.record(Event("delete", "Group", slug, (), {"before": before, "after": None}))

    # --- membership ---------------------------------------------------------------------------

    def member_query(self, slug: str) -> tuple[str, tuple]:
        """IDs of a role's members in ID order, driven from the capabilities rows (WordPress has no
        index on roles: like WP_User_Query's role search, this reads every user's capabilities).

        With the optional (meta_key, meta_value) index, the members holding only this role (PHP
        serializes that array one way: `a:1:{s:6:"editor";b:1;}`) are an index lookup, and the users
        holding several roles are the few values starting `a:2`…`a:19`: a small role of a large site
        is read without touching everyone else's capabilities."""
        key, like = self.site.capabilities_key, _caps_like(slug)
        if not self.site.meta_value_index:
            return (f"SELECT user_id FROM {self.site.usermeta} WHERE meta_key = %s AND meta_value LIKE %s ORDER BY user_id", (key, like))
        counts = [str(n) for n in range(2, 10)] + [f"1{n}" for n in range(10)]
        several = " OR ".join(["meta_value LIKE %s"] * len(counts))
        return (
            f"SELECT user_id FROM {self.site.usermeta} WHERE meta_key = %s AND meta_value = %s UNION "
            f"SELECT user_id FROM {self.site.usermeta} WHERE meta_key = %s AND ({several}) AND meta_value LIKE %s ORDER BY user_id",
            (key, "a:1:{" + _caps_needle(slug) + "}", key, *(f"a:{n}%" for n in counts), like),
        )

    def member_stream(self, db, slug: str, now: bool = True) -> Iterator[int]:
        """A role's member IDs in ID order, read from an unbuffered cursor while the caller consumes them
        (a role can have 100,000 members), on a read connection held until the last one is read. With
        `now`, the query has run and its first rows are in when this returns: a database that cannot
        answer raises Unavailable here, not halfway through. Without, nothing is read and no connection
        taken until the first ID is asked for, so that a page of groups reads one group after another
        on one connection at a time (holding one per group would empty the pool)."""
        batches = self._member_rows(db, slug)
        first = next(batches, []) if now else []
        return itertools.chain(first, itertools.chain.from_iterable(batches))

    def _member_rows(self, db, slug: str) -> Iterator[list[int]]:
        with db.reading(unbuffered=True) as session:
            session.execute(*self.member_query(slug))
            while rows := session.fetchmany(1000):
                yield [user_id for (user_id,) in rows]

    def member_ids(self, tx, slug: str) -> list[int]:
        tx.execute(*self.member_query(slug))
        return [row[0] for row in tx.fetchall()]

    def existing_users(self, tx, ids: list[str]) -> tuple[list[int], list[str]]:
        """(the ids that are users, the ids that are not). Unknown ids are left out (`--unknown-members
        ignore`, the default: real sites delete users locally, and one stale member must not block a
        whole group push) or refused with Invalid, nothing applied (`reject`)."""
        numeric = sorted({n for i in ids if (n := user_number(i)) is not None})
        found: set[int] = set()
        for offset in range(0, len(numeric), 1000):
            batch = numeric[offset : offset + 1000]
            tx.execute(f"SELECT ID FROM {self.site.users} WHERE ID IN (" + ", ".join(["%s"] * len(batch)) + ")", batch)
            found |= {row[0] for row in tx.fetchall()}
        unknown = sorted({str(i) for i in ids if user_number(i) not in found})
        if unknown and self.policy.unknown_members != "ignore":
            shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
            raise Invalid(f"no user with id {shown}; nothing was changed")
        if unknown:
            log.warning(
                "request %s: ignored group member ids that are no WordPress user: %s",
                getattr(tx, "request_id", "-"),
                ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else ""),
            )
        return sorted(found), unknown

    def apply_membership(
        self, tx, slug: str, add: list[str], remove: list[str], replace: list[str] | None, roles: Roles | None = None
    ) -> None:
        """A planned group change: member ids to add and remove, or the whole new membership."""
        if replace is not None:
            wanted, ignored = self.existing_users(tx, replace)
            current = set(self.member_ids(tx, slug))
            self.change_members(
                tx, slug, add=sorted(set(wanted) - current), remove=sorted(current - set(wanted)), roles=roles, ignored=ignored
            )
            return
        added, ignored = self.existing_users(tx, add) if add else ([], [])
        removed = [n for i in remove if (n := user_number(i)) is not None]  # removing a user that is gone is a no-op
        if added or removed or ignored:
            self.change_members(tx, slug, add=added, remove=removed, roles=roles, ignored=ignored)

    def change_members(
        self,
        tx,
        slug: str,
        add: list[int],
        remove: list[int],
        roles: Roles | None = None,
        check_policy: bool = True,
        ignored: list[str] = (),
    ) -> None:
        """Grant `slug` to `add` and take it from `remove`, all in the caller's transaction. `ignored`:
        member ids the request named that are no user, recorded with the change (the audit trail)."""
        roles = roles or self.load(tx)
        if slug not in roles.definitions:
            raise NotFound(f"no group (WordPress role) with id '{slug}'")
        add, remove = sorted(set(add)), sorted(set(remove) - set(add))
        if check_policy and add:
            self.refuse_grant(roles, slug)
        if check_policy and remove and slug in self.policy.never_remove:
            raise Invalid(f"wpscim never removes the role '{slug}' through SCIM (see --never-remove); nothing was changed")
        wanted = {uid: True for uid in add} | {uid: False for uid in remove}
        changed = (
            set(
                self.set_roles(
                    tx, roles, {uid: (lambda caps, grant=grant: self._toggle(caps, slug, grant)) for uid, grant in wanted.items()}
                )
            )
            if wanted
            else set()
        )
        for action, ids in (("add_members", add), ("remove_members", remove)):
            users = [uid for uid in ids if uid in changed]
            if users or (ignored and action == "add_members"):
                detail = {"slug": slug, "users": users, **({"ignored": list(ignored)} if ignored and action == "add_members" else {})}
                tx.record(Event(action, "Group", slug, ("members",), detail))

    def refuse_grant(self, roles: Roles, slug: str) -> None:
        """Invalid if SCIM may not grant role `slug`: the policy says never, the role administers the site
        or its administrators (whatever the policy says), or its slug is a capability."""
        if slug in self.policy.never_grant:
            raise Invalid(f"wpscim never grants the role '{slug}' through SCIM (see --never-grant); nothing was changed")
        self.refuse_administering(roles, slug)
        if is_capability(slug, roles):
            raise Invalid(
                f"the id of role '{slug}' is also a WordPress capability, which WordPress would grant with the role; "
                "wpscim does not grant it; nothing was changed"
            )

    @staticmethod
    def refuse_administering(roles: Roles, slug: str, why: str = "") -> None:
        """Invalid if role `slug` lets its members administer the site or its administrators."""
        powers = administering_capabilities(roles, slug)
        if powers or slug == "administrator":
            raise Invalid(
                f"wpscim never grants the role '{slug}'{why} through SCIM: it "
                + (f"gives {', '.join(powers)}, which let" if powers else "lets")
                + " its members administer the site or its administrators; nothing was changed"
            )

    @staticmethod
    def _toggle(caps: dict, slug: str, grant: bool) -> dict:
        caps = dict(caps)
        if grant:
            caps[slug] = True
        else:
            caps.pop(slug, None)
        return caps

    def set_roles(self, tx, roles: Roles, edits: dict) -> list[int]:
        """Apply `edits` (user id -> function(caps) -> caps) to each user's capabilities and user_level,
        with the users' rows locked in ID order (the order every writer uses). Returns the users whose
        capabilities changed."""
        ids = sorted(edits)
        changed = []
        for offset in range(0, len(ids), 1000):
            batch = ids[offset : offset + 1000]
            marks = ", ".join(["%s"] * len(batch))
            tx.execute(  # the rows locked, then their capabilities read, in one round trip
                f"SELECT ID FROM {self.site.users} WHERE ID IN ({marks}) ORDER BY ID FOR UPDATE; "
                f"SELECT umeta_id, user_id, meta_key, meta_value FROM {self.site.usermeta} "
                f"WHERE user_id IN ({marks}) AND meta_key IN (%s, %s) ORDER BY umeta_id",
                [*batch, *batch, self.site.capabilities_key, self.site.user_level_key],
            )
            tx.nextset()
            rows: dict[tuple[int, str], tuple[int, str]] = {}
            for umeta_id, user_id, key, value in tx.fetchall():
                rows.setdefault((user_id, key), (umeta_id, value))
            upserts, inserts = [], []
            losing = set()
            for uid in batch:
                caps_row = rows.get((uid, self.site.capabilities_key))
                before = parse_caps(caps_row[1] if caps_row else None)
                after = edits[uid](before)
                if caps_row and after == before:
                    continue
                changed.append(uid)
                if administers(before, roles) and not administers(after, roles):
                    losing.add(uid)
                level_row = rows.get((uid, self.site.user_level_key))
                for row, key, value in (
                    (caps_row, self.site.capabilities_key, serialize(after)),
                    (level_row, self.site.user_level_key, str(roles.user_level(after))),
                ):
                    if row:
                        upserts.append((row[0], uid, key, value))
                    else:
                        inserts.append((uid, key, value))
            if losing and self.guard is not None:
                self.guard.keep_one(
                    tx,
                    roles,
                    losing,
                    "taking the administrator role from "
                    + ", ".join(f"user {uid}" for uid in sorted(losing)[:5])
                    + (" …" if len(losing) > 5 else ""),
                )
            if upserts:
                tx.execute(
                    f"INSERT INTO {self.site.usermeta} (umeta_id, user_id, meta_key, meta_value) VALUES "
                    + ", ".join(["(%s, %s, %s, %s)"] * len(upserts))
                    + " ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
                    [v for row in upserts for v in row],
                )
            if inserts:
                tx.execute(
                    f"INSERT INTO {self.site.usermeta} (user_id, meta_key, meta_value) VALUES "
                    + ", ".join(["(%s, %s, %s)"] * len(inserts)),
                    [v for row in inserts for v in row],
                )
        return changed
