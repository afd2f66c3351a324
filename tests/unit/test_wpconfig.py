"""Reading wp-config.php without PHP: defines, $table_prefix, the official Docker image's
getenv_docker() with its _FILE secrets, and text that only looks like a comment or a define."""

from __future__ import annotations

import pytest

from wpscim.wordpress.wpconfig import ConfigError, parse_db_host, read_wp_config

DOCKER = r"""<?php
if (!function_exists('getenv_docker')) {
	function getenv_docker($env, $default) {
		if ($fileEnv = getenv($env . '_FILE')) {
			return rtrim(file_get_contents($fileEnv), "\r\n");
		}
		else if (($val = getenv($env)) !== false) {
			return $val;
		}
		else {
			return $default;
		}
	}
}
define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );
define( 'DB_USER', getenv_docker('WORDPRESS_DB_USER', 'example username') );
define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );
define( 'DB_CHARSET', getenv_docker('WORDPRESS_DB_CHARSET', 'utf8') );
define( 'AUTH_KEY',         getenv_docker('WORDPRESS_AUTH_KEY',         'put your unique phrase here') );
define( 'LOGGED_IN_SALT',   getenv_docker('WORDPRESS_LOGGED_IN_SALT',   'put your unique phrase here') );
$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');
define( 'WP_DEBUG', !!getenv_docker('WORDPRESS_DEBUG', '') );
if ($configExtra = getenv_docker('WORDPRESS_CONFIG_EXTRA', '')) {
	eval($configExtra);
}
"""


def _write(tmp_path, text: str):
    path = tmp_path / "wp-config.php"
    path.write_text(text)
    return path


def test_the_docker_images_config_reads_the_environment_then_its_defaults(tmp_path):
    path = _write(tmp_path, DOCKER)
    defaults = read_wp_config(path, environ={})
    assert (defaults.address.database, defaults.address.user, defaults.address.host, defaults.table_prefix) == (
        "wordpress",
        "example username",
        "mysql",
        "wp_",
    )
    env = {
        "WORDPRESS_DB_HOST": "db:3307",
        "WORDPRESS_DB_USER": "wp",
        "WORDPRESS_DB_NAME": "site",
        "WORDPRESS_TABLE_PREFIX": "shop_",
        "WORDPRESS_AUTH_KEY": "k3y",
    }
    config = read_wp_config(path, environ=env)
    assert (config.address.host, config.address.port, config.address.user, config.address.database) == ("db", 3307, "wp", "site")
    assert config.table_prefix == "shop_" and config.constant("AUTH_KEY") == "k3y"
    assert config.constant("WP_DEBUG") is None  # `!!…` is PHP wpscim does not evaluate: unknown, not guessed


def test_file_secrets_win_over_the_variable_and_lose_their_line_end(tmp_path):
    secret = tmp_path / "db_password"
    secret.write_text("s3cret\r\n")
    path = _write(tmp_path, DOCKER)
    config = read_wp_config(path, environ={"WORDPRESS_DB_PASSWORD_FILE": str(secret), "WORDPRESS_DB_PASSWORD": "not this"})
    assert config.address.password == "s3cret"
    with pytest.raises(ConfigError, match="WORDPRESS_DB_PASSWORD_FILE"):
        read_wp_config(path, environ={"WORDPRESS_DB_PASSWORD_FILE": str(tmp_path / "missing")})


def test_strings_hold_what_looks_like_comments_and_escapes(tmp_path):
    text = r"""<?php
// define( 'DB_NAME', 'commented' );
# define( 'DB_USER', 'hashed' );
/* define( 'DB_HOST', 'blocked' ); */
define( 'DB_NAME', 'blog' ); define( 'DB_NAME', 'second' );
define( "DB_USER", "u\"ser\\" );
define( 'DB_PASSWORD', 'p\'ss/*not a comment*/ //nor this' );
define( 'DB_HOST', 'localhost:/run/other.sock' );
define( 'LOGGED_IN_KEY', 'a#b//c/*d' );
define( 'WP_REDIS_PORT', 6380 );
define( 'WP_CACHE', true );
$table_prefix = 'blog_';
"""
    config = read_wp_config(_write(tmp_path, text), environ={})
    assert config.address.database == "blog"  # PHP keeps the first definition
    assert config.address.user == 'u"ser\\'
    assert config.address.password == "p'ss/*not a comment*/ //nor this"
    assert config.address.unix_socket == "/run/other.sock"
    assert config.constant("LOGGED_IN_KEY") == "a#b//c/*d"
    assert config.constant("WP_REDIS_PORT") == 6380 and config.constant("WP_CACHE") is True
    assert config.table_prefix == "blog_"


def test_a_config_without_the_database_constants_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_wp_config(tmp_path / "missing.php")
    with pytest.raises(ConfigError, match="DB_NAME"):
        read_wp_config(_write(tmp_path, "<?php define('DB_USER', 'x'); define('DB_HOST', 'h');"), environ={})


def test_concatenation_and_the_sample_configs_utf8(tmp_path):
    """Some official images build DB_HOST from two variables; wpdb upgrades 'utf8' to utf8mb4."""
    text = """<?php
define( 'DB_NAME', 'site' ); define( 'DB_USER', 'u' ); define( 'DB_CHARSET', 'utf8' );
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'db') . ':' . getenv_docker('WORDPRESS_DB_PORT', '3306') );
"""
    config = read_wp_config(_write(tmp_path, text), environ={"WORDPRESS_DB_PORT": "3307"})
    assert (config.address.host, config.address.port, config.address.charset) == ("db", 3307, "utf8mb4")


# The structure of Debian's packaged /usr/share/wordpress/wp-config.php: the file with the settings is
# chosen at run time from the request's host, then fallbacks fill in what it did not define.
DEBIAN = r"""<?php
/***
 * WordPress's Debianised default master config file
 ***/

/* Look up a host-specific config file in
 * /etc/wordpress/config-<host>.php or /etc/wordpress/config-<domain>.php
 */
$debian_server = preg_replace('/:.*/', "", $_SERVER['HTTP_HOST']);
$debian_server = preg_replace("/[^a-zA-Z0-9.\-]/", "", $debian_server);

/* Check for variable set by admin using SetEnv or SetEnvIf */
if (isset($_SERVER['WORDPRESS_CONFIG'])
    && preg_match("/^[a-zA-Z0-9-]+$/", $_SERVER['WORDPRESS_CONFIG'])) {
    $debian_file = '/etc/wordpress/config-'.$_SERVER['WORDPRESS_CONFIG'].'.php';
} else {
    $debian_file = '/etc/wordpress/config-'.strtolower($debian_server).'.php';
}

/* Main site in case of multisite with subdomains */
$debian_main_server = preg_replace("/^[^.]*\./", "", $debian_server);
$debian_main_file = '/etc/wordpress/config-'.strtolower($debian_main_server).'.php';

if (file_exists($debian_file)) {
    require_once($debian_file);
    define('DEBIAN_FILE', $debian_file);
} elseif (file_exists($debian_main_file)) {
    require_once($debian_main_file);
    define('DEBIAN_FILE', $debian_main_file);
} elseif (file_exists("/etc/wordpress/config-default.php")) {
    require_once("/etc/wordpress/config-default.php");
    define('DEBIAN_FILE', "/etc/wordpress/config-default.php");
} else {
    header("HTTP/1.0 404 Not Found");
    exit(1);
}

if (!defined('ABSPATH'))
    define('ABSPATH', '/usr/share/wordpress/');
if (!defined('DB_NAME'))
    define('DB_NAME', 'wordpress');
if (!defined('DB_USER'))
    define('DB_USER', 'wordpress');
if (!defined('DB_HOST'))
    define('DB_HOST', 'localhost');
if (!defined('WP_CONTENT_DIR') && !defined('DONT_SET_WP_CONTENT_DIR'))
    define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');

if (!isset($table_prefix)) {
    $table_prefix = 'wp_';
}

require_once(ABSPATH . 'wp-settings.php');
?>"""

SITE = """<?php
define('DB_NAME', 'site'); define('DB_USER', 'site_user'); define('DB_PASSWORD', 'pw'); define('DB_HOST', 'db:3307');
$table_prefix = 'site_';
"""


def test_a_debian_config_that_includes_a_path_known_only_at_run_time_is_refused_not_guessed(tmp_path):
    """The fallbacks after `require_once($debian_file)` are not the settings: say so, and where to look."""
    path = _write(tmp_path, DEBIAN)
    with pytest.raises(ConfigError) as refused:
        read_wp_config(path, environ={})
    message = str(refused.value)
    assert f"{path}:25" in message and "$debian_file" in message
    assert "DB_NAME, DB_USER, DB_PASSWORD and DB_HOST" in message and "/etc/wordpress/config-<host>.php" in message
    # With the database constants defined before it, such an include changes nothing wpscim needs.
    config = read_wp_config(_write(tmp_path, DEBIAN.replace("<?php", "<?php\n" + SITE.removeprefix("<?php"), 1)), environ={})
    assert (config.address.database, config.address.user, config.table_prefix) == ("site", "site_user", "site_")


def test_a_literal_include_is_read_where_it_stands_and_beats_later_fallbacks(tmp_path):
    site = tmp_path / "etc" / "config-site.php"
    site.parent.mkdir()
    site.write_text(SITE)
    (tmp_path / "salts.php").write_text("<?php define('AUTH_KEY', 'k3y');")
    text = DEBIAN.replace("require_once($debian_file);", f"require_once('{site}'); include 'salts.php';")
    config = read_wp_config(_write(tmp_path, text), environ={})
    assert (config.address.database, config.address.user, config.address.password) == ("site", "site_user", "pw")
    assert (config.address.host, config.address.port) == ("db", 3307)
    assert config.table_prefix == "site_"  # `if (!isset($table_prefix))` does not override the included file's
    assert config.constant("AUTH_KEY") == "k3y"  # a relative path is the including file's directory's
    assert config.constant("WP_CONTENT_DIR") == "/var/lib/wordpress/wp-content"


def test_dir_file_and_abspath_includes_and_wp_settings_is_not_followed(tmp_path):
    """The sample wp-config.php's shape, its database lines moved into files beside it."""
    site = tmp_path / "site"
    (site / "config").mkdir(parents=True)
    (site / "config" / "db.php").write_text(SITE)
    (site / "config" / "salts.php").write_text("<?php define( 'AUTH_KEY', 'k3y' );")
    (site / "extra.php").write_text("<?php define( 'WP_HOME', 'https://example.test' );")
    (site / "wp-settings.php").write_text("<?php define( 'WP_SETTINGS_WAS_READ', true ); require 'nowhere.php';")
    text = """<?php
require __DIR__ . '/config/db.php';
include_once( dirname( __FILE__ ) . '/config/salts.php' );
define( 'DB_CHARSET', 'utf8' );
$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'extra.php';
require_once ABSPATH . 'wp-settings.php';
"""
    (site / "wp-config.php").write_text(text)
    config = read_wp_config(site / "wp-config.php", environ={})
    assert (config.address.database, config.address.charset, config.table_prefix) == ("site", "utf8mb4", "wp_")
    assert config.constant("AUTH_KEY") == "k3y" and config.constant("WP_HOME") == "https://example.test"
    assert config.constant("ABSPATH") == f"{site}/"
    assert config.constant("WP_SETTINGS_WAS_READ") is None
    # wp-settings.php is not complained about either when ABSPATH is unknown.
    (site / "wp-config.php").write_text(text.replace("__DIR__ . '/'", "$root"))
    assert read_wp_config(site / "wp-config.php", environ={}).constant("ABSPATH") is None


def test_a_missing_include_is_skipped_and_a_missing_require_is_refused(tmp_path):
    (tmp_path / "db.php").write_text(SITE)
    text = """<?php
include_once 'missing.php';
include( __DIR__ . '/also-missing.php' );
if ( file_exists( __DIR__ . '/local.php' ) ) {
	require __DIR__ . '/local.php';
}
require_once 'db.php';
"""
    assert read_wp_config(_write(tmp_path, text), environ={}).address.database == "site"
    path = _write(tmp_path, text + "\nrequire 'missing.php';\n")
    with pytest.raises(ConfigError, match=rf"{path}:9 requires {tmp_path}/missing\.php, which does not exist"):
        read_wp_config(path, environ={})


def test_an_include_loop_is_read_once(tmp_path):
    (tmp_path / "a.php").write_text("<?php require_once 'b.php'; define('DB_NAME', 'a');")
    (tmp_path / "b.php").write_text(
        "<?php require_once __DIR__ . '/a.php'; define('DB_NAME', 'b'); define('DB_USER', 'u'); define('DB_HOST', 'h');"
    )
    config = read_wp_config(tmp_path / "a.php", environ={})
    assert (config.address.database, config.address.user) == ("b", "u")  # PHP's order: b.php's define comes first


def test_a_constant_defined_with_unreadable_php_is_not_taken_from_a_later_fallback(tmp_path):
    text = """<?php
define( 'DB_NAME', get_site_database() );
define( 'DB_USER', 'u' ); define( 'DB_HOST', 'h' );
if ( ! defined( 'DB_NAME' ) ) define( 'DB_NAME', 'wordpress' );
"""
    with pytest.raises(ConfigError, match="does not define DB_NAME"):
        read_wp_config(_write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("db_host", "expected"),
    [
        ("db", ("db", None, None)),
        ("db.internal:3307", ("db.internal", 3307, None)),
        ("localhost:/run/other.sock", ("localhost", None, "/run/other.sock")),
        (":/run/other.sock", ("", None, "/run/other.sock")),
        ("::1", ("::1", None, None)),
        ("[::1]:3307", ("::1", 3307, None)),
        ("[fd00::5]", ("fd00::5", None, None)),
        ("fd00::5:/run/x.sock", ("fd00::5", None, "/run/x.sock")),
    ],
)
def test_db_host_read_as_wpdb_parse_db_host(db_host, expected):
    assert parse_db_host(db_host) == expected


def test_ipv6_db_host_and_a_socket_beside_a_tcp_host(tmp_path):
    config = read_wp_config(
        _write(tmp_path, "<?php define('DB_NAME', 'b'); define('DB_USER', 'u'); define('DB_HOST', '[::1]:3307');"), environ={}
    )
    assert (config.address.host, config.address.port, config.address.unix_socket) == ("::1", 3307, None)
    # mysqli reaches another host over TCP, whatever socket DB_HOST names.
    config = read_wp_config(
        _write(tmp_path, "<?php define('DB_NAME', 'b'); define('DB_USER', 'u'); define('DB_HOST', '10.0.0.5:/run/x.sock');"), environ={}
    )
    assert (config.address.host, config.address.port, config.address.unix_socket) == ("10.0.0.5", 3306, None)
