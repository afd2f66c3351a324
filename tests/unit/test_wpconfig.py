"""Reading wp-config.php without PHP: defines, $table_prefix, the official Docker image's
getenv_docker() with its _FILE secrets, and text that only looks like a comment or a define."""

from __future__ import annotations

import pytest

from wpscim.wordpress.wpconfig import ConfigError, read_wp_config

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
