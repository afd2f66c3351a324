<?php
/**
 * Plugin Name: wpscim test probe (TEST ONLY)
 * Description: Records the user and role hooks WordPress fires, and answers questions through the running
 *              WordPress and its object cache. Installed by tests/wordpress_server.py into test sites only;
 *              never ship it.
 * License: GPL-2.0-or-later
 *
 * Requests: POST {home}/?wpscim-probe=OP&wpscim-probe-secret=SECRET with form fields as arguments.
 * SECRET is the constant WPSCIM_PROBE_SECRET (wp-config.php); without it the probe answers nothing.
 * Answers: {"ok":true,"result":{...}} or {"ok":false,"error":"..."}.
 *
 *   info                          wp_version, php_version, object_cache, redis_connected
 *   hooks / reset                 the recorded hooks (oldest first) / forget them
 *   throw  hooks=a,b              from now on, the probe's listener on these hooks throws after recording
 *   authenticate login, password  wp_authenticate(): ok, user_id, error codes
 *   get_user  id | login | email  get_user_by(): the fields, roles and caps WordPress sees
 *   user_can  id, cap             user_can()
 *   lost_password  login          retrieve_password() with wp_mail() short-circuited: sent, error, mails
 *   get_post  id                  get_post(): post_author, post_status
 *   create_application_password  id, name   a new application password for the user
 *   roles                         wp_roles(): slug => name
 *   cache_get  key, group         wp_cache_get(): found, value
 *
 * Hook records (JSON lines in the file WPSCIM_PROBE_LOG): {"hook":..., "args":[...], "event_id":...,
 * "pid":...}; WP_User arguments are recorded as {ID, user_login, user_email, user_nicename,
 * display_name, roles}; event_id is the wpscim companion's event being delivered, if any.
 *
 * @package wpscim-tests
 */

defined( 'ABSPATH' ) || exit;

/**
 * The probe's hooks and questions.
 */
final class WPSCIM_Test_Probe {

	/**
	 * Hooks recorded, with how many arguments they carry.
	 *
	 * @var int[]
	 */
	const HOOKS = array(
		'add_user_role'           => 2,
		'remove_user_role'        => 2,
		'set_user_role'           => 3,
		'user_register'           => 2,
		'profile_update'          => 3,
		'delete_user'             => 3,
		'deleted_user'            => 3,
		'wpscim_user_deactivated' => 2,
		'wpscim_user_reactivated' => 2,
		'wpscim_group_created'    => 2,
		'wpscim_group_updated'    => 2,
		'wpscim_group_deleted'    => 2,
	);

	/**
	 * While true (the probe answering a question), hooks are not recorded.
	 *
	 * @var bool
	 */
	private static $quiet = false;

	/**
	 * Hooks whose listener throws (read once per request).
	 *
	 * @var string[]|null
	 */
	private static $throwing = null;

	/**
	 * Registers the recorders and the question handler.
	 */
	public static function load() {
		foreach ( self::HOOKS as $hook => $count ) {
			add_action(
				$hook,
				function ( ...$args ) use ( $hook ) {
					WPSCIM_Test_Probe::record( $hook, $args );
				},
				10,
				$count
			);
		}
		add_action( 'wp_loaded', array( __CLASS__, 'answer' ), 1 );
		// Application passwords over plain HTTP (core allows them on HTTPS or local sites only).
		add_filter( 'wp_is_application_passwords_available', '__return_true' );
	}

	/**
	 * Appends one hook record to the log.
	 *
	 * @param string $hook Hook name.
	 * @param array  $args Its arguments.
	 * @throws RuntimeException When the tests asked this hook's listener to throw.
	 */
	public static function record( $hook, array $args ) {
		if ( self::$quiet || ! defined( 'WPSCIM_PROBE_LOG' ) ) {
			return;
		}
		$event = function_exists( 'wpscim_companion_current_event' ) ? wpscim_companion_current_event() : null;
		$entry = array(
			'hook'     => $hook,
			'args'     => array_map( array( __CLASS__, 'plain' ), $args ),
			'event_id' => $event ? $event['event_id'] : null,
			'pid'      => getmypid(),
			'time'     => microtime( true ),
		);
		file_put_contents( WPSCIM_PROBE_LOG, wp_json_encode( $entry ) . "\n", FILE_APPEND | LOCK_EX );
		if ( in_array( $hook, self::throwing(), true ) ) {
			throw new RuntimeException( "wpscim test probe: thrown on purpose by the {$hook} listener" );
		}
	}

	/**
	 * The hooks whose listener throws.
	 *
	 * @return string[]
	 */
	private static function throwing() {
		if ( null === self::$throwing ) {
			$file           = WPSCIM_PROBE_LOG . '.throw';
			$list           = is_file( $file ) ? json_decode( (string) file_get_contents( $file ), true ) : array();
			self::$throwing = is_array( $list ) ? $list : array();
		}
		return self::$throwing;
	}

	/**
	 * A JSON-friendly copy of a hook argument.
	 *
	 * @param mixed $value Argument.
	 * @return mixed
	 */
	public static function plain( $value ) {
		if ( $value instanceof WP_User ) {
			return array(
				'class'         => 'WP_User',
				'ID'            => (int) $value->ID,
				'user_login'    => $value->user_login,
				'user_email'    => $value->user_email,
				'user_nicename' => $value->user_nicename,
				'display_name'  => $value->display_name,
				'first_name'    => $value->first_name,
				'roles'         => array_values( (array) $value->roles ),
				'has_pass'      => isset( $value->data->user_pass ) && '' !== $value->data->user_pass,
			);
		}
		if ( is_object( $value ) ) {
			return array( 'class' => get_class( $value ) ) + get_object_vars( $value );
		}
		return $value;
	}

	/**
	 * Answers ?wpscim-probe=OP when the secret matches.
	 */
	public static function answer() {
		// phpcs:disable WordPress.Security.NonceVerification -- guarded by a secret.
		if ( ! isset( $_GET['wpscim-probe'] ) ) {
			return;
		}
		$secret = isset( $_GET['wpscim-probe-secret'] ) ? (string) wp_unslash( $_GET['wpscim-probe-secret'] ) : '';
		if ( ! defined( 'WPSCIM_PROBE_SECRET' ) || '' === WPSCIM_PROBE_SECRET || ! hash_equals( WPSCIM_PROBE_SECRET, $secret ) ) {
			self::respond( 403, array( 'ok' => false, 'error' => 'wrong probe secret' ) );
		}
		$op   = sanitize_key( wp_unslash( $_GET['wpscim-probe'] ) );
		$args = wp_unslash( $_POST );
		// phpcs:enable
		self::$quiet = true;
		try {
			$result = self::run( $op, $args );
		} catch ( Throwable $e ) {
			self::respond( 500, array( 'ok' => false, 'error' => get_class( $e ) . ': ' . $e->getMessage() ) );
		}
		self::respond( 200, array( 'ok' => true, 'result' => $result ) );
	}

	/**
	 * Runs one question.
	 *
	 * @param string $op   Operation.
	 * @param array  $args Its arguments.
	 * @return array
	 * @throws InvalidArgumentException For an unknown operation.
	 */
	private static function run( $op, array $args ) {
		switch ( $op ) {
			case 'info':
				global $wp_object_cache;
				return array(
					'wp_version'      => get_bloginfo( 'version' ),
					'php_version'     => PHP_VERSION,
					'object_cache'    => (bool) wp_using_ext_object_cache(),
					'redis_connected' => is_object( $wp_object_cache ) && method_exists( $wp_object_cache, 'redis_status' ) ? (bool) $wp_object_cache->redis_status() : null,
					'home'            => home_url( '/' ),
				);

			case 'hooks':
				$lines = is_file( WPSCIM_PROBE_LOG ) ? file( WPSCIM_PROBE_LOG, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES ) : array();
				return array( 'hooks' => array_map( 'json_decode', $lines, array_fill( 0, count( $lines ), true ) ) );

			case 'reset':
				file_put_contents( WPSCIM_PROBE_LOG, '', LOCK_EX );
				return array();

			case 'throw':
				$hooks = array_values( array_filter( array_map( 'trim', explode( ',', (string) ( $args['hooks'] ?? '' ) ) ) ) );
				file_put_contents( WPSCIM_PROBE_LOG . '.throw', wp_json_encode( $hooks ), LOCK_EX );
				return array( 'hooks' => $hooks );

			case 'authenticate':
				$user = wp_authenticate( (string) ( $args['login'] ?? '' ), (string) ( $args['password'] ?? '' ) );
				if ( is_wp_error( $user ) ) {
					return array(
						'ok'      => false,
						'error'   => $user->get_error_code(),
						'codes'   => $user->get_error_codes(),
						'user_id' => null,
					);
				}
				return array(
					'ok'      => true,
					'error'   => null,
					'codes'   => array(),
					'user_id' => (int) $user->ID,
				);

			case 'get_user':
				if ( isset( $args['id'] ) ) {
					$user = get_user_by( 'id', (int) $args['id'] );
				} elseif ( isset( $args['login'] ) ) {
					$user = get_user_by( 'login', (string) $args['login'] );
				} else {
					$user = get_user_by( 'email', (string) ( $args['email'] ?? '' ) );
				}
				if ( ! $user ) {
					return array( 'exists' => false );
				}
				return array(
					'exists'          => true,
					'ID'              => (int) $user->ID,
					'user_login'      => $user->user_login,
					'user_email'      => $user->user_email,
					'user_nicename'   => $user->user_nicename,
					'display_name'    => $user->display_name,
					'user_url'        => $user->user_url,
					'first_name'      => $user->first_name,
					'last_name'       => $user->last_name,
					'nickname'        => $user->nickname,
					'roles'           => array_values( $user->roles ),
					'caps'            => (object) $user->caps,
					'user_pass_sha256' => hash( 'sha256', $user->user_pass ),
				);

			case 'user_can':
				return array( 'result' => user_can( (int) ( $args['id'] ?? 0 ), (string) ( $args['cap'] ?? '' ) ) );

			case 'lost_password':
				$mails   = array();
				$capture = function ( $short_circuit, $atts ) use ( &$mails ) {
					$mails[] = array(
						'to'      => $atts['to'],
						'subject' => $atts['subject'],
					);
					return true;
				};
				add_filter( 'pre_wp_mail', $capture, PHP_INT_MAX, 2 );
				$sent = retrieve_password( (string) ( $args['login'] ?? '' ) );
				remove_filter( 'pre_wp_mail', $capture, PHP_INT_MAX );
				return array(
					'sent'  => true === $sent,
					'error' => is_wp_error( $sent ) ? $sent->get_error_code() : null,
					'mails' => $mails,
				);

			case 'get_post':
				$post = get_post( (int) ( $args['id'] ?? 0 ) );
				return $post ? array(
					'exists'      => true,
					'post_author' => (int) $post->post_author,
					'post_status' => $post->post_status,
				) : array( 'exists' => false );

			case 'create_application_password':
				$created = WP_Application_Passwords::create_new_application_password( (int) ( $args['id'] ?? 0 ), array( 'name' => (string) ( $args['name'] ?? 'test' ) ) );
				if ( is_wp_error( $created ) ) {
					throw new RuntimeException( $created->get_error_message() );
				}
				return array( 'password' => $created[0] );

			case 'roles':
				return array( 'roles' => (object) wp_roles()->get_names() );

			case 'cache_get':
				$found = false;
				$value = wp_cache_get( (string) ( $args['key'] ?? '' ), (string) ( $args['group'] ?? '' ), false, $found );
				return array(
					'found' => (bool) $found,
					'value' => self::plain( $value ),
				);
		}
		throw new InvalidArgumentException( "unknown probe operation '{$op}'" );
	}

	/**
	 * Writes a JSON answer and ends the request.
	 *
	 * @param int   $status HTTP status.
	 * @param array $body   Answer.
	 */
	private static function respond( $status, array $body ) {
		while ( ob_get_level() > 0 ) {
			ob_end_clean();
		}
		status_header( $status );
		nocache_headers();
		header( 'Content-Type: application/json; charset=utf-8' );
		echo wp_json_encode( $body );
		exit;
	}
}

WPSCIM_Test_Probe::load();
