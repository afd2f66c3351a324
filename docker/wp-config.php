<?php
/**
 * Where wpscim finds WordPress's database inside its container: the database lines of the official
 * WordPress image's wp-config.php (wp-config-docker.php), so wpscim reads the same WORDPRESS_DB_*
 * variables and their *_FILE secrets as the WordPress container beside it. PHP never runs this file:
 * wpscim evaluates define() and getenv_docker() itself (wpscim/wordpress/wpconfig.py).
 *
 * One difference: the image defaults DB_CHARSET to 'utf8', which WordPress turns into utf8mb4 on any
 * server that has it (wpdb::determine_charset); wpscim takes DB_CHARSET as written, so its default
 * here is what WordPress ends up using.
 */
define( 'DB_NAME', getenv_docker('WORDPRESS_DB_NAME', 'wordpress') );
define( 'DB_USER', getenv_docker('WORDPRESS_DB_USER', 'example username') );
define( 'DB_PASSWORD', getenv_docker('WORDPRESS_DB_PASSWORD', 'example password') );
define( 'DB_HOST', getenv_docker('WORDPRESS_DB_HOST', 'mysql') );
define( 'DB_CHARSET', getenv_docker('WORDPRESS_DB_CHARSET', 'utf8mb4') );
$table_prefix = getenv_docker('WORDPRESS_TABLE_PREFIX', 'wp_');
