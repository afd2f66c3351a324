<?php
/**
 * WordPress oracle for wpscim's tests.
 *
 * Loads a REAL WordPress (default: Debian's package in /usr/share/wordpress/) against a
 * database named in the request, runs one operation and prints ONE JSON object on stdout.
 *
 * Protocol (stdin, one JSON object):
 *   {
 *     "db": {"name": "...", "user": "root", "password": "", "host": "127.0.0.1:3306"},
 *     "prefix": "wp_",                      // $table_prefix
 *     "abspath": "/usr/share/wordpress/",   // WordPress tree to load
 *     "content_dir": null,                  // WP_CONTENT_DIR; default: a private empty dir
 *     "installing": false,                  // define WP_INSTALLING (forced for op "install")
 *     "debug": false,                       // E_ALL (incl. deprecations) to stderr
 *     "op": "get_user",
 *     "args": {"id": 1}
 *   }
 * Reply (stdout, one line): {"ok": true, "result": {...}, "wp_version": "6.1.9", "ms": 12.3}
 *                        or {"ok": false, "error": {"type": ..., "message": ..., ...}}
 * Everything else (PHP notices, wpdb errors, anything WordPress echoes) goes to stderr.
 *
 * Debian's /usr/share/wordpress/wp-config.php is NOT used: it requires
 * /etc/wordpress/config-<host>.php and 404s/exits without one. We define everything a
 * wp-config.php would and require wp-settings.php directly.
 *
 * Isolation: WP_CONTENT_DIR defaults to an empty private directory, so no object-cache.php,
 * advanced-cache.php, db.php drop-in, mu-plugin, plugin or theme is ever loaded; on top of
 * that, pre-initialised hooks disable the object-cache drop-in, force active_plugins to [],
 * block all HTTP requests, short-circuit wp_mail() and keep WordPress from touching
 * error_reporting/display_errors. No cron is spawned (DISABLE_WP_CRON).
 */

// ---------------------------------------------------------------------------------------
// 0. Output discipline: nothing but our JSON may reach stdout.
// ---------------------------------------------------------------------------------------
$GLOBALS['__oracle_t0']   = microtime( true );
$GLOBALS['__oracle_done'] = false;
$GLOBALS['__oracle_mail'] = array();
$GLOBALS['__oracle_out']  = ''; // what WordPress echoed (also sent to stderr), for error reports
$GLOBALS['__oracle_redirect'] = null;

ini_set( 'display_errors', 'stderr' );
ini_set( 'log_errors', '0' );
ini_set( 'html_errors', '0' );
error_reporting( E_ALL & ~E_DEPRECATED & ~E_STRICT );

// Any echo/print (WordPress error pages, wpdb errors, ...) is diverted to stderr.
ob_start(
	function ( $buffer ) {
		if ( '' !== $buffer ) {
			fwrite( STDERR, $buffer );
			if ( strlen( $GLOBALS['__oracle_out'] ) < 65536 ) {
				$GLOBALS['__oracle_out'] .= $buffer;
			}
		}
		return '';
	},
	1
);

function __oracle_emit( array $payload ) {
	if ( $GLOBALS['__oracle_done'] ) {
		return;
	}
	$GLOBALS['__oracle_done'] = true;
	$payload['ms'] = round( ( microtime( true ) - $GLOBALS['__oracle_t0'] ) * 1000, 1 );
	$json = json_encode(
		$payload,
		JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR
	);
	if ( false === $json ) {
		$json = json_encode( array( 'ok' => false, 'error' => array( 'type' => 'json_encode', 'message' => json_last_error_msg() ) ) );
	}
	fwrite( STDOUT, $json . "\n" );
	fflush( STDOUT );
}

function __oracle_fail( $type, $message, array $extra = array() ) {
	__oracle_emit( array( 'ok' => false, 'error' => array( 'type' => $type, 'message' => $message ) + $extra ) );
	exit( 1 );
}

// WordPress may exit() on its own (wp_die(), dead_db(), wp_not_installed(), fatal errors):
// report that as an error object instead of an empty stdout.
register_shutdown_function(
	function () {
		if ( $GLOBALS['__oracle_done'] ) {
			return;
		}
		$last  = error_get_last();
		$fatal = $last && in_array( $last['type'], array( E_ERROR, E_PARSE, E_CORE_ERROR, E_COMPILE_ERROR, E_USER_ERROR, E_RECOVERABLE_ERROR ), true );
		if ( $fatal ) {
			$type    = 'php_fatal';
			$message = $last['message'] . ' in ' . $last['file'] . ':' . $last['line'];
		} elseif ( $GLOBALS['__oracle_redirect'] && false !== strpos( $GLOBALS['__oracle_redirect'], 'install.php' ) ) {
			$type    = 'not_installed';
			$message = 'WordPress is not installed in this database (it redirected to '
				. $GLOBALS['__oracle_redirect'] . '); run the "install" op first';
		} else {
			// wp_die()/dead_db() print an HTML page: keep its text as the message.
			$out  = preg_replace( '#<(head|style|script)\b.*?</\1>#is', ' ', ob_get_contents() . $GLOBALS['__oracle_out'] );
			$text = trim( preg_replace( '/\s+/', ' ', html_entity_decode( strip_tags( $out ) ) ) );
			$type    = 'exit';
			$message = 'PHP exited before the operation finished (wp_die()/exit inside WordPress)'
				. ( '' !== $text ? ': ' . substr( $text, 0, 1000 ) : '' )
				. ( $GLOBALS['__oracle_redirect'] ? ' [redirect to ' . $GLOBALS['__oracle_redirect'] . ']' : '' );
		}
		__oracle_emit( array( 'ok' => false, 'error' => array( 'type' => $type, 'message' => $message ) ) );
	}
);

// ---------------------------------------------------------------------------------------
// 1. Request
// ---------------------------------------------------------------------------------------
$__oracle_raw = stream_get_contents( STDIN );
$__oracle_req = json_decode( $__oracle_raw, true );
if ( ! is_array( $__oracle_req ) ) {
	__oracle_fail( 'bad_request', 'stdin is not a JSON object: ' . json_last_error_msg() );
}
$__oracle_op   = isset( $__oracle_req['op'] ) ? (string) $__oracle_req['op'] : '';
$__oracle_args = isset( $__oracle_req['args'] ) && is_array( $__oracle_req['args'] ) ? $__oracle_req['args'] : array();
if ( ! empty( $__oracle_req['debug'] ) ) {
	error_reporting( E_ALL );
}

// Ops that need no WordPress at all.
if ( 'password_verify_wp' === $__oracle_op ) {
	$pw   = (string) $__oracle_args['password'];
	$hash = (string) $__oracle_args['hash'];
	$ok   = false;
	if ( 0 === strpos( $hash, '$wp' ) ) {
		// WordPress 6.8+ wp_check_password(): '$wp' . password_hash( base64( hmac-sha384 ) ).
		$prehash = base64_encode( hash_hmac( 'sha384', trim( $pw ), 'wp-sha384', true ) );
		$ok      = password_verify( $prehash, substr( $hash, 3 ) );
	}
	__oracle_emit( array( 'ok' => true, 'result' => array( 'ok' => $ok ) ) );
	exit( 0 );
}
if ( 'ping' === $__oracle_op ) {
	__oracle_emit( array( 'ok' => true, 'result' => array( 'php_version' => PHP_VERSION, 'mysqli' => extension_loaded( 'mysqli' ) ) ) );
	exit( 0 );
}

$__oracle_abspath = isset( $__oracle_req['abspath'] ) && '' !== $__oracle_req['abspath'] ? (string) $__oracle_req['abspath'] : '/usr/share/wordpress/';
$__oracle_abspath = rtrim( $__oracle_abspath, '/' ) . '/';
if ( ! is_file( $__oracle_abspath . 'wp-settings.php' ) ) {
	__oracle_fail( 'wordpress_missing', "no WordPress at {$__oracle_abspath} (wp-settings.php not found)" );
}
if ( ! extension_loaded( 'mysqli' ) ) {
	__oracle_fail( 'php_mysql_missing', 'the PHP mysqli extension (package php-mysql) is not loaded' );
}

$__oracle_db = isset( $__oracle_req['db'] ) && is_array( $__oracle_req['db'] ) ? $__oracle_req['db'] : array();
foreach ( array( 'name', 'host' ) as $k ) {
	if ( empty( $__oracle_db[ $k ] ) ) {
		__oracle_fail( 'bad_request', "db.$k is required" );
	}
}

// Private, empty content dir: no drop-ins, plugins, mu-plugins or themes can interfere.
$__oracle_content = isset( $__oracle_req['content_dir'] ) && '' !== $__oracle_req['content_dir']
	? rtrim( (string) $__oracle_req['content_dir'], '/' )
	: rtrim( sys_get_temp_dir(), '/' ) . '/wpscim-oracle-wp-content-' . ( function_exists( 'posix_getuid' ) ? posix_getuid() : getmyuid() );
if ( ! is_dir( $__oracle_content ) ) {
	@mkdir( $__oracle_content, 0700, true );
}
if ( empty( $__oracle_req['content_dir'] ) && is_dir( $__oracle_content ) && array_diff( scandir( $__oracle_content ), array( '.', '..' ) ) ) {
	__oracle_fail( 'content_dir_not_empty', "$__oracle_content should be empty (no drop-ins, plugins or themes); remove what is in it" );
}

// ---------------------------------------------------------------------------------------
// 2. What a wp-config.php would define.
// ---------------------------------------------------------------------------------------
define( 'DB_NAME', (string) $__oracle_db['name'] );
define( 'DB_USER', isset( $__oracle_db['user'] ) ? (string) $__oracle_db['user'] : 'root' );
define( 'DB_PASSWORD', isset( $__oracle_db['password'] ) ? (string) $__oracle_db['password'] : '' );
define( 'DB_HOST', (string) $__oracle_db['host'] ); // "host:port"
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

// Fixed test keys and salts (auth cookies/nonces; never used for password hashes).
define( 'AUTH_KEY', 'wpscim-oracle-auth-key-0123456789abcdef0123456789abcdef' );
define( 'SECURE_AUTH_KEY', 'wpscim-oracle-secure-auth-key-0123456789abcdef012345678' );
define( 'LOGGED_IN_KEY', 'wpscim-oracle-logged-in-key-0123456789abcdef0123456789a' );
define( 'NONCE_KEY', 'wpscim-oracle-nonce-key-0123456789abcdef0123456789abcdef' );
define( 'AUTH_SALT', 'wpscim-oracle-auth-salt-0123456789abcdef0123456789abcdef' );
define( 'SECURE_AUTH_SALT', 'wpscim-oracle-secure-auth-salt-0123456789abcdef01234567' );
define( 'LOGGED_IN_SALT', 'wpscim-oracle-logged-in-salt-0123456789abcdef0123456789' );
define( 'NONCE_SALT', 'wpscim-oracle-nonce-salt-0123456789abcdef0123456789abcde' );

$table_prefix = isset( $__oracle_req['prefix'] ) ? (string) $__oracle_req['prefix'] : 'wp_';

define( 'ABSPATH', $__oracle_abspath );
define( 'WP_CONTENT_DIR', $__oracle_content );
define( 'WPMU_PLUGIN_DIR', $__oracle_content . '/mu-plugins' );
define( 'WP_PLUGIN_DIR', $__oracle_content . '/plugins' );
define( 'WP_DEBUG', false );
define( 'WP_CACHE', false );
define( 'DISABLE_WP_CRON', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_DISABLE_FATAL_ERROR_HANDLER', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_USE_THEMES', false );

$__oracle_installing = ( 'install' === $__oracle_op ) || ! empty( $__oracle_req['installing'] );
if ( $__oracle_installing ) {
	define( 'WP_INSTALLING', true );
}
if ( 'install' === $__oracle_op ) {
	// wp_install() stores wp_guess_url() as siteurl/home; in the CLI it would guess from the
	// script path, so pin it (only for the install: elsewhere it would mask the option).
	$siteurl = isset( $__oracle_args['siteurl'] ) ? (string) $__oracle_args['siteurl'] : 'http://localhost';
	define( 'WP_SITEURL', $siteurl );
}

// A plausible web request (WordPress reads these; some code warns without them).
$_SERVER['HTTP_HOST']       = 'localhost';
$_SERVER['SERVER_NAME']     = 'localhost';
$_SERVER['SERVER_PORT']     = '80';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $__oracle_abspath . 'index.php';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
$_SERVER['HTTP_USER_AGENT'] = 'wpscim-oracle';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
unset( $_SERVER['HTTPS'] );
$_GET = $_POST = $_COOKIE = $_REQUEST = array();

// Hooks registered before WordPress loads (WP_Hook::build_preinitialized_hooks format).
function __oracle_hook( $name, $callback, $priority = 10, $accepted_args = 1 ) {
	$GLOBALS['wp_filter'][ $name ][ $priority ][] = array( 'function' => $callback, 'accepted_args' => $accepted_args );
}
$wp_filter = array();
// (closures: functions.php, home of __return_false(), is not loaded yet when these run)
$__oracle_false = function () {
	return false;
};
__oracle_hook( 'enable_loading_object_cache_dropin', $__oracle_false );
__oracle_hook( 'enable_loading_advanced_cache_dropin', $__oracle_false );
__oracle_hook( 'enable_wp_debug_mode_checks', $__oracle_false ); // keep our error settings
__oracle_hook( 'pre_option_active_plugins', function () { return array(); } );
__oracle_hook( 'pre_site_option_active_sitewide_plugins', function () { return array(); } );
__oracle_hook(
	'pre_http_request',
	function () {
		return new WP_Error( 'http_request_blocked', 'wpscim oracle: no HTTP' );
	}
);
__oracle_hook(
	'wp_redirect',
	function ( $location ) {
		$GLOBALS['__oracle_redirect'] = $location;
		return $location;
	}
);
__oracle_hook(
	'pre_wp_mail',
	function ( $return, $atts ) {
		$GLOBALS['__oracle_mail'][] = array(
			'to'      => $atts['to'],
			'subject' => $atts['subject'],
		);
		return true;
	},
	10,
	2
);

// ---------------------------------------------------------------------------------------
// 3. Load WordPress (at global scope: WordPress's files declare globals at file scope).
// ---------------------------------------------------------------------------------------
require ABSPATH . 'wp-settings.php';

if ( wp_using_ext_object_cache() ) {
	__oracle_fail( 'object_cache', 'a persistent object cache got loaded; refusing to answer' );
}

// ---------------------------------------------------------------------------------------
// 4. Operations
// ---------------------------------------------------------------------------------------
function __oracle_arg( array $args, $name, $default = null ) {
	if ( array_key_exists( $name, $args ) ) {
		return $args[ $name ];
	}
	if ( func_num_args() < 3 ) {
		throw new InvalidArgumentException( "missing argument '$name'" );
	}
	return $default;
}

function __oracle_wp_error( WP_Error $e ) {
	return array(
		'error'   => $e->get_error_code(),
		'message' => $e->get_error_message(),
		'codes'   => $e->get_error_codes(),
	);
}

function __oracle_user_level( WP_User $u ) {
	// What WP_User::update_user_level_from_caps() computes.
	return array_reduce( array_keys( $u->allcaps ), array( $u, 'level_reduction' ), 0 );
}

function __oracle_run( $op, array $a ) {
	global $wpdb;

	switch ( $op ) {
		case 'install':
			require_once ABSPATH . 'wp-admin/includes/upgrade.php';
			$r = wp_install(
				(string) __oracle_arg( $a, 'title', 'wpscim test site' ),
				(string) __oracle_arg( $a, 'admin_login', 'admin' ),
				(string) __oracle_arg( $a, 'admin_email', 'admin@example.com' ),
				(bool) __oracle_arg( $a, 'public', true ),
				'',
				(string) __oracle_arg( $a, 'admin_password', '' ),
				(string) __oracle_arg( $a, 'language', '' )
			);
			return array(
				'db_version'    => (int) get_option( 'db_version' ),
				'wp_version'    => $GLOBALS['wp_version'],
				'user_id'       => (int) $r['user_id'],
				'url'           => $r['url'],
				'password'      => $r['password'],
				'db_collate'    => $wpdb->collate,
				'db_charset'    => $wpdb->charset,
				'mails'         => $GLOBALS['__oracle_mail'],
			);

		case 'insert_user':
			$userdata = (array) __oracle_arg( $a, 'userdata' );
			// Core callers (wp_create_user(), the REST API, edit_user()) pass slashed data;
			// wp_insert_user() unslashes the row fields and update_user_meta() the meta.
			// wp_create_user() does NOT slash the password, so neither do we.
			if ( __oracle_arg( $a, 'slash', true ) ) {
				$pass     = array_key_exists( 'user_pass', $userdata ) ? $userdata['user_pass'] : null;
				$userdata = wp_slash( $userdata );
				if ( null !== $pass ) {
					$userdata['user_pass'] = $pass;
				}
			}
			if ( ! array_key_exists( 'user_pass', $userdata ) ) {
				$userdata['user_pass'] = '';
			}
			$r = wp_insert_user( $userdata );
			if ( is_wp_error( $r ) ) {
				return __oracle_wp_error( $r );
			}
			return array( 'id' => (int) $r );

		case 'authenticate':
			$u = wp_authenticate( (string) __oracle_arg( $a, 'login' ), (string) __oracle_arg( $a, 'password' ) );
			if ( is_wp_error( $u ) ) {
				return array( 'ok' => false, 'error' => $u->get_error_code(), 'codes' => $u->get_error_codes(), 'user_id' => null );
			}
			return array( 'ok' => true, 'error' => null, 'user_id' => (int) $u->ID, 'user_pass' => $u->user_pass );

		case 'get_user':
			$id = (int) __oracle_arg( $a, 'id' );
			$u  = get_userdata( $id );
			if ( ! $u ) {
				return array( 'exists' => false, 'id' => $id );
			}
			return array(
				'exists'          => $u->exists(),
				'id'              => (int) $u->ID,
				'user_login'      => $u->user_login,
				'user_email'      => $u->user_email,
				'user_nicename'   => $u->user_nicename,
				'display_name'    => $u->display_name,
				'user_url'        => $u->user_url,
				'user_registered' => $u->user_registered,
				'user_status'     => (int) $u->user_status,
				'first_name'      => $u->first_name,
				'last_name'       => $u->last_name,
				'nickname'        => $u->nickname,
				'description'     => $u->description,
				'locale'          => (string) get_user_meta( $id, 'locale', true ),
				'user_locale'     => get_user_locale( $id ),
				'roles'           => array_values( $u->roles ),
				'caps'            => (object) $u->caps,
				'allcaps'         => (object) $u->allcaps,
				'user_level'      => __oracle_user_level( $u ),
				'user_level_meta' => get_user_meta( $id, $wpdb->get_blog_prefix() . 'user_level', true ),
			);

		case 'user_can':
			return array( 'result' => user_can( (int) __oracle_arg( $a, 'id' ), (string) __oracle_arg( $a, 'cap' ) ) );

		case 'user_meta_rows':
			$id   = (int) __oracle_arg( $a, 'id' );
			$meta = $wpdb->get_results(
				$wpdb->prepare( "SELECT meta_key, meta_value FROM {$wpdb->usermeta} WHERE user_id = %d ORDER BY umeta_id", $id ),
				ARRAY_N
			);
			$row  = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$wpdb->users} WHERE ID = %d", $id ), ARRAY_A );
			return array( 'meta' => $meta, 'user' => $row );

		case 'hash_password':
			return array( 'hash' => wp_hash_password( (string) __oracle_arg( $a, 'password' ) ) );

		case 'check_password':
			$uid = __oracle_arg( $a, 'id', '' );
			return array(
				'ok' => (bool) wp_check_password( (string) __oracle_arg( $a, 'password' ), (string) __oracle_arg( $a, 'hash' ), null === $uid ? '' : $uid ),
			);

		case 'create_session':
			$id = (int) __oracle_arg( $a, 'id' );
			$m  = WP_Session_Tokens::get_instance( $id );
			return array( 'token' => $m->create( time() + (int) __oracle_arg( $a, 'ttl', 3600 ) ) );

		case 'session_count':
			$id = (int) __oracle_arg( $a, 'id' );
			return array( 'count' => count( WP_Session_Tokens::get_instance( $id )->get_all() ) );

		case 'delete_user':
			require_once ABSPATH . 'wp-admin/includes/user.php';
			$reassign = __oracle_arg( $a, 'reassign', null );
			$ok       = wp_delete_user( (int) __oracle_arg( $a, 'id' ), null === $reassign ? null : (int) $reassign );
			return array( 'ok' => (bool) $ok );

		case 'roles':
			$out = array();
			foreach ( wp_roles()->roles as $slug => $def ) {
				$out[ $slug ] = array(
					'name'         => $def['name'],
					'capabilities' => (object) $def['capabilities'],
				);
			}
			return array( 'roles' => (object) $out, 'default_role' => get_option( 'default_role' ) );

		case 'dropdown_roles':
			// What Users → Add New, user-edit and Settings → General print for the roles.
			require_once ABSPATH . 'wp-admin/includes/template.php';
			require_once ABSPATH . 'wp-admin/includes/user.php'; // get_editable_roles()
			ob_start( null, 0 );
			wp_dropdown_roles( (string) __oracle_arg( $a, 'selected', '' ) );
			return array( 'html' => ob_get_clean() );

		case 'option':
			$name = (string) __oracle_arg( $a, 'name' );
			$v    = get_option( $name, null );
			return array( 'name' => $name, 'value' => $v, 'exists' => null !== $v );

		case 'stored_user_field':
			// What wp_insert_user() writes for one field: its pre_user_* filter on wp_slash()ed input
			// (core callers pass slashed data), then the wp_unslash() of the row (wp_insert_user()) or
			// of the meta value (update_user_meta()). Not sanitize_user_field( ..., 'db' ): that also
			// runs the display-context esc_url() on user_url, which wp_insert_user() does not.
			$field = (string) __oracle_arg( $a, 'field' );
			$hooks = array(
				'user_url'     => 'pre_user_url',
				'user_email'   => 'pre_user_email',
				'description'  => 'pre_user_description',
				'first_name'   => 'pre_user_first_name',
				'last_name'    => 'pre_user_last_name',
				'nickname'     => 'pre_user_nickname',
				'display_name' => 'pre_user_display_name',
			);
			if ( ! isset( $hooks[ $field ] ) ) {
				throw new InvalidArgumentException( "field $field has no pre_user_* filter here" );
			}
			$filtered = apply_filters( $hooks[ $field ], wp_slash( (string) __oracle_arg( $a, 'input' ) ) );
			return array(
				'value'    => wp_unslash( $filtered ),
				'slashed'  => $filtered,
				'mb_len'   => mb_strlen( $filtered ),
			);

		case 'wp_function':
			// Small helpers that are handy for comparisons; pure functions of their input.
			$fn = (string) __oracle_arg( $a, 'fn' );
			$in = __oracle_arg( $a, 'input' );
			$allowed = array( 'sanitize_user', 'sanitize_title', 'sanitize_email', 'sanitize_text_field', 'wp_filter_kses', 'esc_html', 'maybe_serialize', 'is_email', 'wp_parse_url' );
			if ( ! in_array( $fn, $allowed, true ) ) {
				throw new InvalidArgumentException( "function $fn not allowed" );
			}
			$extra = (array) __oracle_arg( $a, 'extra', array() );
			return array( 'value' => call_user_func_array( $fn, array_merge( array( $in ), $extra ) ) );

		case 'batch':
			// Several ops in one php process, run in order: {"calls": [{"op": ..., "args": {...}}, ...]}
			// -> {"results": [result, ...]}. An exception in any call fails the whole batch.
			$results = array();
			foreach ( (array) __oracle_arg( $a, 'calls' ) as $i => $call ) {
				$sub = isset( $call['op'] ) ? (string) $call['op'] : '';
				if ( in_array( $sub, array( 'install', 'batch', 'password_verify_wp', 'ping' ), true ) ) {
					throw new InvalidArgumentException( "op '$sub' cannot be batched (call $i)" );
				}
				$results[] = __oracle_run( $sub, isset( $call['args'] ) && is_array( $call['args'] ) ? $call['args'] : array() );
			}
			return array( 'results' => $results );
	}
	throw new InvalidArgumentException( "unknown op '$op'" );
}

try {
	$__oracle_result = __oracle_run( $__oracle_op, $__oracle_args );
	__oracle_emit(
		array(
			'ok'         => true,
			'result'     => $__oracle_result,
			'wp_version' => $GLOBALS['wp_version'],
		)
	);
} catch ( Throwable $e ) {
	__oracle_fail(
		get_class( $e ),
		$e->getMessage(),
		array( 'file' => $e->getFile(), 'line' => $e->getLine(), 'trace' => $e->getTraceAsString() )
	);
}
exit( 0 );
