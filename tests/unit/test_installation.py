"""Where wpscim finds a site's wp-content (and so its object-cache drop-in and mu-plugins folder)."""

from __future__ import annotations

from pathlib import Path

from wpscim.wordpress import installation
from wpscim.wordpress.installation import content_dir, discover
from wpscim.wordpress.wpconfig import read_wp_config

SITE = """<?php
define('DB_NAME', 'site'); define('DB_USER', 'site_user'); define('DB_PASSWORD', 'pw'); define('DB_HOST', 'localhost');
$table_prefix = 'wp_';
"""
LOADER = """<?php
$debian_file = '/etc/wordpress/config-' . strtolower($debian_server) . '.php';
require_once($debian_file);
if (!defined('WP_CONTENT_DIR') && !defined('DONT_SET_WP_CONTENT_DIR'))
    define('WP_CONTENT_DIR', '{content}');
require_once(ABSPATH . 'wp-settings.php');
"""


def _debian(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """A Debian layout in tmp_path: the loader, the site file, and wp-content where the loader says."""
    content = tmp_path / "var" / "lib" / "wordpress" / "wp-content"
    content.mkdir(parents=True)
    loader = tmp_path / "usr" / "share" / "wordpress" / "wp-config.php"
    loader.parent.mkdir(parents=True)
    loader.write_text(LOADER.replace("{content}", str(content)))
    monkeypatch.setattr(installation, "DEBIAN_LOADER", loader)
    site = tmp_path / "etc" / "wordpress" / "config-example.org.php"
    site.parent.mkdir(parents=True)
    site.write_text(SITE)
    return site, content


def test_a_debian_site_file_finds_the_wp_content_its_loader_defines(tmp_path, monkeypatch):
    site, content = _debian(tmp_path, monkeypatch)
    (content / "object-cache.php").write_text("<?php\n/*\nPlugin Name: Redis Object Cache Drop-In\n*/\n")
    config = read_wp_config(site, environ={})
    assert content_dir(config) == content
    found = discover(config, "https://example.org")
    assert found.mu_plugins == content / "mu-plugins"
    assert found.object_cache == "redis"  # the drop-in is seen, so wpscim clears the cache itself


def test_wp_content_dir_and_a_folder_beside_the_config_win_over_the_debian_default(tmp_path, monkeypatch):
    site, content = _debian(tmp_path, monkeypatch)
    beside = site.parent / "wp-content"
    beside.mkdir()
    assert content_dir(read_wp_config(site, environ={})) == beside
    elsewhere = tmp_path / "elsewhere"
    site.write_text(SITE + f"define('WP_CONTENT_DIR', '{elsewhere}');\n")
    assert content_dir(read_wp_config(site, environ={})) == elsewhere


def test_a_file_not_named_like_debians_site_files_keeps_the_folder_beside_it(tmp_path, monkeypatch):
    _, content = _debian(tmp_path, monkeypatch)
    plain = tmp_path / "site" / "wp-config.php"
    plain.parent.mkdir()
    plain.write_text(SITE)
    assert content_dir(read_wp_config(plain, environ={})) == plain.parent / "wp-content"
    # Without Debian's loader a site file keeps the folder beside it too (what check then reports missing).
    monkeypatch.setattr(installation, "DEBIAN_LOADER", tmp_path / "no-such-loader.php")
    site = tmp_path / "etc" / "wordpress" / "config-example.org.php"
    assert content_dir(read_wp_config(site, environ={})) == site.parent / "wp-content"
