<?php
/**
 * Plugin Name:       wpscim companion
 * Description:       Tells WordPress about the changes wpscim (SCIM 2.0 provisioning) writes straight into the database: cleans the object cache and fires WordPress's own user and role hooks for them, and refuses logins of users wpscim suspended.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            wpscim
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       wpscim-companion
 *
 * Install it as a must-use plugin: copy this one file into wp-content/mu-plugins/.
 *
 * Copyright (C) the wpscim authors.
 *
 * This program is free software; you can redistribute it and/or modify it under the terms of the GNU
 * General Public License as published by the Free Software Foundation; either version 2 of the License,
 * or (at your option) any later version.
 *
 * This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; without even
 * the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public
 * License for more details.
 *
 * Protocol (wpscim is the only caller):
 *   POST {home_url}/?wpscim-companion=deliver   (or =status)
 *   X-Wpscim-Timestamp: <unix seconds>
 *   X-Wpscim-Signature: <lowercase hex of hash_hmac( 'sha256', timestamp . "\n" . raw_body, key )>
 * where key is the option wpscim_companion_key. A missing key, a bad signature or a timestamp more
 * than 300 s from this server's clock is answered 403 {"ok":false,"error":"..."}.
 *
 * deliver: delivers the outbox table {prefix}wpscim_events (wpscim writes one row per change, in the
 * change's own transaction): for each pending row in id order it cleans every cached copy the change
 * touched, fires the hooks WordPress core would have fired, then marks the row delivered. Answers
 * {"ok":true,"delivered":N,"last_id":ID,"pending":N,"object_cache":bool}; 503 while another delivery
 * holds the lock for more than 10 s.
 * status: {"ok":true,"companion":VERSION,"wp_version":...,"object_cache":bool,"pending":N}.
 *
 * @package wpscim-companion
 */

defined( 'ABSPATH' ) || exit;

if ( defined( 'WPSCIM_COMPANION_LOADED' ) ) {
	return; // Loaded twice (as a must-use plugin and as a plugin): the first copy serves.
}
define( 'WPSCIM_COMPANION_LOADED', true );

/**
 * The wpscim companion: delivery endpoint, suspension checks, admin menu.
 */
final class WPSCIM_Companion {

	const VERSION = '0.1.0';

	/**
	 * Query variable of the endpoint: ?wpscim-companion=deliver|status.
	 */
	const QUERY_VAR = 'wpscim-companion';

	/**
	 * Option holding the shared signing key.
	 */
	const KEY_OPTION = 'wpscim_companion_key';

	/**
	 * Option holding the address of wpscim's admin pages.
	 */
	const ADMIN_URL_OPTION = 'wpscim_admin_url';

	/**
	 * Usermeta key wpscim keeps a suspended user's real password hash under.
	 */
	const SUSPENDED_META = 'wpscim__suspended_pass';

	/**
	 * Largest accepted distance between the request's timestamp and this server's clock, in seconds.
	 */
	const MAX_CLOCK_SKEW = 300;

	/**
	 * Events read per query.
	 */
	const BATCH_SIZE = 200;

	/**
	 * A delivery stops starting new events after this many seconds.
	 */
	const TIME_BUDGET = 20;

	/**
	 * Seconds a delivery waits for another one to finish.
	 */
	const LOCK_WAIT = 10;

	/**
	 * The event whose hooks are being fired, or null.
	 *
	 * @var array|null
	 */
	private static $current_event = null;

	/**
	 * Registers the plugin's hooks.
	 */
	public static function load() {
		// Late on wp_loaded: every plugin has registered its listeners, nothing has been rendered.
		add_action( 'wp_loaded', array( __CLASS__, 'handle_request' ), 9999 );

		// Suspended users are refused whatever the caches or other plugins say.
		add_filter( 'wp_authenticate_user', array( __CLASS__, 'refuse_suspended_user' ), PHP_INT_MAX );
		add_filter( 'authenticate', array( __CLASS__, 'refuse_suspended_user' ), PHP_INT_MAX );
		add_action( 'wp_authenticate_application_password_errors', array( __CLASS__, 'refuse_suspended_application_password' ), 10, 2 );
		add_filter( 'allow_password_reset', array( __CLASS__, 'refuse_suspended_reset' ), PHP_INT_MAX, 2 );

		add_action( 'admin_menu', array( __CLASS__, 'admin_menu' ) );
	}

	/**
	 * The event being delivered, for listeners of the hooks the companion fires.
	 *
	 * @return array|null Keys event_id, actor, request_id, action, resource_type, resource_id, attributes.
	 */
	public static function current_event() {
		return self::$current_event;
	}

	// ---------------------------------------------------------------------------------------------
	// Suspended users.
	// ---------------------------------------------------------------------------------------------

	/**
	 * Whether wpscim suspended the user: read from the database, never from a cache.
	 *
	 * @param int $user_id User ID.
	 * @return bool
	 */
	public static function is_suspended( $user_id ) {
		global $wpdb;
		$user_id = (int) $user_id;
		if ( $user_id <= 0 ) {
			return false;
		}
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery -- the meta cache may be stale: that is the point.
		$found = $wpdb->get_var(
			$wpdb->prepare(
				"SELECT 1 FROM {$wpdb->usermeta} WHERE user_id = %d AND meta_key = %s LIMIT 1",
				$user_id,
				self::SUSPENDED_META
			)
		);
		return null !== $found;
	}

	/**
	 * The error a suspended user gets.
	 *
	 * @return WP_Error
	 */
	private static function suspended_error() {
		return new WP_Error(
			'wpscim_suspended',
			__( '<strong>Error:</strong> This account is suspended.', 'wpscim-companion' )
		);
	}

	/**
	 * Filters wp_authenticate_user and authenticate: a suspended user becomes an error.
	 *
	 * @param WP_User|WP_Error|null $user The user being logged in, or an earlier error.
	 * @return WP_User|WP_Error|null
	 */
	public static function refuse_suspended_user( $user ) {
		if ( $user instanceof WP_User && self::is_suspended( $user->ID ) ) {
			return self::suspended_error();
		}
		return $user;
	}

	/**
	 * Refuses application passwords of suspended users (REST and XML-RPC logins).
	 *
	 * @param WP_Error $error The error object application password logins collect.
	 * @param WP_User  $user  The user.
	 */
	public static function refuse_suspended_application_password( $error, $user ) {
		if ( $error instanceof WP_Error && $user instanceof WP_User && self::is_suspended( $user->ID ) ) {
			$error->add( 'wpscim_suspended', __( 'This account is suspended.', 'wpscim-companion' ) );
		}
	}

	/**
	 * Filters allow_password_reset: suspended users get no reset link.
	 *
	 * @param bool|WP_Error $allow   Whether the reset is allowed.
	 * @param int           $user_id User ID.
	 * @return bool|WP_Error
	 */
	public static function refuse_suspended_reset( $allow, $user_id ) {
		return self::is_suspended( $user_id ) ? false : $allow;
	}

	// ---------------------------------------------------------------------------------------------
	// The endpoint.
	// ---------------------------------------------------------------------------------------------

	/**
	 * Answers ?wpscim-companion=… requests and ends them; leaves every other request alone.
	 */
	public static function handle_request() {
		// phpcs:disable WordPress.Security.NonceVerification -- requests are signed instead.
		if ( ! isset( $_GET[ self::QUERY_VAR ] ) ) {
			return;
		}
		$action = sanitize_key( wp_unslash( $_GET[ self::QUERY_VAR ] ) );
		// phpcs:enable
		if ( 'deliver' !== $action && 'status' !== $action ) {
			self::respond( 404, array( 'ok' => false, 'error' => 'unknown action (deliver or status)' ) );
		}
		$method = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( sanitize_text_field( wp_unslash( $_SERVER['REQUEST_METHOD'] ) ) ) : '';
		if ( 'POST' !== $method ) {
			header( 'Allow: POST' );
			self::respond( 405, array( 'ok' => false, 'error' => 'POST only' ) );
		}
		$body    = (string) file_get_contents( 'php://input' );
		$refusal = self::check_signature( $body );
		if ( null !== $refusal ) {
			self::respond( 403, array( 'ok' => false, 'error' => $refusal ) );
		}
		if ( 'status' === $action ) {
			self::respond( 200, self::status() );
		}
		self::deliver();
	}

	/**
	 * Why a request's signature is refused, or null when it is good.
	 *
	 * @param string $body The raw request body.
	 * @return string|null
	 */
	private static function check_signature( $body ) {
		$key = self::signing_key();
		if ( '' === $key ) {
			return 'the companion key (option ' . self::KEY_OPTION . ') is not set';
		}
		// Headers are digits and hex; wp_unslash undoes WordPress's magic quotes on $_SERVER.
		$timestamp = isset( $_SERVER['HTTP_X_WPSCIM_TIMESTAMP'] ) ? trim( (string) wp_unslash( $_SERVER['HTTP_X_WPSCIM_TIMESTAMP'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized
		$signature = isset( $_SERVER['HTTP_X_WPSCIM_SIGNATURE'] ) ? trim( (string) wp_unslash( $_SERVER['HTTP_X_WPSCIM_SIGNATURE'] ) ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized
		if ( '' === $timestamp || '' === $signature ) {
			return 'X-Wpscim-Timestamp and X-Wpscim-Signature are required';
		}
		if ( ! ctype_digit( $timestamp ) || strlen( $timestamp ) > 12 ) {
			return 'X-Wpscim-Timestamp is not a Unix time in seconds';
		}
		$expected = hash_hmac( 'sha256', $timestamp . "\n" . $body, $key );
		if ( ! hash_equals( $expected, $signature ) ) {
			return 'bad signature';
		}
		if ( abs( time() - (int) $timestamp ) > self::MAX_CLOCK_SKEW ) {
			return 'X-Wpscim-Timestamp is more than ' . self::MAX_CLOCK_SKEW . ' s away from this server\'s clock';
		}
		return null;
	}

	/**
	 * The signing key, read from the options table itself (a cached copy may be stale).
	 *
	 * @return string
	 */
	private static function signing_key() {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery
		$key = $wpdb->get_var(
			$wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s LIMIT 1", self::KEY_OPTION )
		);
		return null === $key ? '' : (string) $key;
	}

	/**
	 * The outbox table's name.
	 *
	 * @return string
	 */
	private static function outbox() {
		global $wpdb;
		return $wpdb->prefix . 'wpscim_events';
	}

	/**
	 * Events not delivered yet, or null when the outbox table is missing.
	 *
	 * @return int|null
	 */
	private static function pending() {
		global $wpdb;
		$table      = self::outbox();
		$suppressed = $wpdb->suppress_errors( true );
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery, WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- a table name.
		$count = $wpdb->get_var( "SELECT COUNT(*) FROM `{$table}` WHERE delivered_at IS NULL" );
		$wpdb->suppress_errors( $suppressed );
		return null === $count ? null : (int) $count;
	}

	/**
	 * The status answer.
	 *
	 * @return array
	 */
	private static function status() {
		$pending = self::pending();
		return array(
			'ok'           => true,
			'companion'    => self::VERSION,
			'wp_version'   => get_bloginfo( 'version' ),
			'object_cache' => (bool) wp_using_ext_object_cache(),
			'pending'      => $pending,
			'outbox'       => null !== $pending,
		);
	}

	/**
	 * Delivers pending events under the site's named lock, then answers.
	 */
	private static function deliver() {
		global $wpdb;
		if ( null === self::pending() ) {
			self::respond( 500, array( 'ok' => false, 'error' => 'the outbox table ' . self::outbox() . ' is missing' ) );
		}
		ignore_user_abort( true ); // A caller that gives up must not cut an event in half.
		if ( function_exists( 'set_time_limit' ) ) {
			@set_time_limit( self::TIME_BUDGET + self::LOCK_WAIT + 60 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- disabled on some hosts.
		}

		$lock = 'wpscim-companion:' . $wpdb->prefix;
		$got  = $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $lock, self::LOCK_WAIT ) );
		if ( '1' !== (string) $got ) {
			self::respond(
				503,
				array(
					'ok'      => false,
					'error'   => 'another delivery is running',
					'pending' => self::pending(),
				)
			);
		}

		$table     = self::outbox();
		$delivered = 0;
		$last_id   = 0;
		$failure   = null;
		$deadline  = microtime( true ) + self::TIME_BUDGET;
		try {
			while ( null === $failure && microtime( true ) < $deadline ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery, WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$events = $wpdb->get_results( "SELECT * FROM `{$table}` WHERE delivered_at IS NULL ORDER BY id LIMIT " . self::BATCH_SIZE );
				if ( null === $events && '' !== $wpdb->last_error ) {
					$failure = 'could not read the outbox: ' . $wpdb->last_error;
					break;
				}
				if ( empty( $events ) ) {
					break;
				}
				foreach ( $events as $event ) {
					self::deliver_event( $event );
					$marked = $wpdb->query(
						$wpdb->prepare(
							// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
							"UPDATE `{$table}` SET delivered_at = UTC_TIMESTAMP(6), cleared_at = UTC_TIMESTAMP(6) WHERE id = %d AND delivered_at IS NULL",
							$event->id
						)
					);
					if ( false === $marked ) {
						// The connection (and with it the lock) may be gone: stop before anything runs twice.
						$failure = 'could not mark event ' . $event->id . ' delivered: ' . $wpdb->last_error;
						break;
					}
					++$delivered;
					$last_id = max( $last_id, (int) $event->id );
					if ( microtime( true ) >= $deadline ) {
						break;
					}
				}
			}
		} finally {
			$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) );
		}

		$answer = array(
			'ok'           => null === $failure,
			'delivered'    => $delivered,
			'last_id'      => $last_id,
			'pending'      => self::pending(),
			'object_cache' => (bool) wp_using_ext_object_cache(),
		);
		if ( null !== $failure ) {
			self::log( $failure );
			$answer['error'] = $failure;
		}
		self::respond( null === $failure ? 200 : 500, $answer );
	}

	/**
	 * Cleans the caches and fires the hooks of one event. Never throws.
	 *
	 * @param object $event A row of the outbox table.
	 */
	private static function deliver_event( $event ) {
		$detail     = json_decode( (string) $event->detail, true );
		$attributes = json_decode( (string) $event->attributes, true );
		if ( ! is_array( $detail ) ) {
			self::log( "event {$event->id}: detail is not a JSON object; delivered without detail" );
			$detail = array();
		}
		self::$current_event = array(
			'event_id'      => (int) $event->id,
			'actor'         => (string) $event->actor,
			'request_id'    => (string) $event->request_id,
			'action'        => (string) $event->action,
			'resource_type' => (string) $event->resource_type,
			'resource_id'   => (string) $event->resource_id,
			'attributes'    => is_array( $attributes ) ? $attributes : array(),
		);
		try {
			if ( 'User' === $event->resource_type ) {
				self::deliver_user_event( (string) $event->action, (int) $event->resource_id, $detail );
			} elseif ( 'Group' === $event->resource_type ) {
				self::deliver_group_event( (string) $event->action, (string) $event->resource_id, $detail );
			} else {
				self::log( "event {$event->id}: unknown resource type '{$event->resource_type}'; skipped" );
			}
		} catch ( Throwable $e ) {
			self::log( "event {$event->id}: " . self::describe( $e ) );
		} finally {
			self::$current_event = null;
		}
	}

	/**
	 * One User event.
	 *
	 * @param string $action  create, update, deactivate, reactivate or delete.
	 * @param int    $user_id User ID.
	 * @param array  $detail  The event's detail.
	 */
	private static function deliver_user_event( $action, $user_id, array $detail ) {
		$before = isset( $detail['before'] ) && is_array( $detail['before'] ) ? $detail['before'] : null;
		$after  = isset( $detail['after'] ) && is_array( $detail['after'] ) ? $detail['after'] : null;

		self::guard( 'cleaning user ' . $user_id, array( __CLASS__, 'clean_user' ), array( $user_id, array( $before, $after ) ) );

		switch ( $action ) {
			case 'create':
				$roles = self::roles_of( $after );
				foreach ( $roles as $role ) {
					self::fire( 'add_user_role', $user_id, $role );
				}
				if ( 1 === count( $roles ) ) {
					self::fire( 'set_user_role', $user_id, $roles[0], array() );
				}
				self::fire( 'user_register', $user_id, self::userdata( $after, $user_id, false ) );
				break;

			case 'update':
			case 'deactivate':
			case 'reactivate':
				$old_roles = self::roles_of( $before );
				$new_roles = self::roles_of( $after );
				$removed   = array_values( array_diff( $old_roles, $new_roles ) );
				$added     = array_values( array_diff( $new_roles, $old_roles ) );
				foreach ( $removed as $role ) {
					self::fire( 'remove_user_role', $user_id, $role );
				}
				foreach ( $added as $role ) {
					self::fire( 'add_user_role', $user_id, $role );
				}
				if ( 1 === count( $new_roles ) && ( $removed || $added ) ) {
					self::fire( 'set_user_role', $user_id, $new_roles[0], $old_roles );
				}
				$old_user_data = self::user_object( null !== $before ? $before : $after, $user_id );
				self::fire( 'profile_update', $user_id, $old_user_data, self::userdata( $after, $user_id, true ) );
				if ( 'deactivate' === $action ) {
					self::fire( 'wpscim_user_deactivated', $user_id, self::$current_event );
				} elseif ( 'reactivate' === $action ) {
					self::fire( 'wpscim_user_reactivated', $user_id, self::$current_event );
				}
				break;

			case 'delete':
				$reassign = isset( $detail['reassign'] ) && is_numeric( $detail['reassign'] ) ? (int) $detail['reassign'] : null;
				$user     = self::user_object( $before, $user_id );
				self::fire( 'delete_user', $user_id, $reassign, $user );
				self::guard( 'cleaning user ' . $user_id, array( __CLASS__, 'clean_user' ), array( $user_id, array( $before ) ) );
				if ( null !== $reassign ) {
					self::guard( 'cleaning the posts of user ' . $reassign, array( __CLASS__, 'clean_posts_of' ), array( $reassign ) );
				}
				self::fire( 'deleted_user', $user_id, $reassign, $user );
				break;

			default:
				self::log( "User event with unknown action '{$action}' for user {$user_id}; caches cleaned, no hooks fired" );
		}
	}

	/**
	 * One Group (role) event.
	 *
	 * @param string $action      create, update, delete, add_members or remove_members.
	 * @param string $resource_id The role's slug.
	 * @param array  $detail      The event's detail.
	 */
	private static function deliver_group_event( $action, $resource_id, array $detail ) {
		if ( isset( $detail['slug'] ) && is_string( $detail['slug'] ) ) {
			$slug = $detail['slug'];
		} elseif ( isset( $detail['after']['slug'] ) && is_string( $detail['after']['slug'] ) ) {
			$slug = $detail['after']['slug'];
		} elseif ( isset( $detail['before']['slug'] ) && is_string( $detail['before']['slug'] ) ) {
			$slug = $detail['before']['slug'];
		} else {
			$slug = $resource_id;
		}
		$members = array();
		if ( isset( $detail['users'] ) && is_array( $detail['users'] ) ) {
			$members = array_values( array_unique( array_filter( array_map( 'intval', $detail['users'] ) ) ) );
		}

		self::guard( 'cleaning the role definitions', array( __CLASS__, 'clean_roles' ), array() );
		foreach ( $members as $member ) {
			self::guard( 'cleaning user ' . $member, array( __CLASS__, 'clean_user' ), array( $member, array() ) );
		}

		switch ( $action ) {
			case 'add_members':
				foreach ( $members as $member ) {
					self::fire( 'add_user_role', $member, $slug );
				}
				break;

			case 'remove_members':
				foreach ( $members as $member ) {
					self::fire( 'remove_user_role', $member, $slug );
				}
				break;

			case 'create':
				self::fire( 'wpscim_group_created', $detail, self::$current_event );
				break;

			case 'update':
				self::fire( 'wpscim_group_updated', $detail, self::$current_event );
				break;

			case 'delete':
				self::fire( 'wpscim_group_deleted', $detail, self::$current_event );
				break;

			default:
				self::log( "Group event with unknown action '{$action}' for role '{$slug}'; caches cleaned, no hooks fired" );
		}
	}

	// ---------------------------------------------------------------------------------------------
	// Caches.
	// ---------------------------------------------------------------------------------------------

	/**
	 * Removes every cached copy of a user: by ID, and by each login, nicename and e-mail address the
	 * user had (the snapshots) or has now (the database).
	 *
	 * @param int   $user_id   User ID.
	 * @param array $snapshots User snapshots (arrays) or nulls.
	 */
	public static function clean_user( $user_id, array $snapshots ) {
		global $wpdb;
		$user_id = (int) $user_id;
		wp_cache_delete( $user_id, 'users' );
		wp_cache_delete( $user_id, 'user_meta' );

		foreach ( $snapshots as $snapshot ) {
			if ( is_array( $snapshot ) ) {
				clean_user_cache( self::user_object( $snapshot, $user_id ) );
			}
		}
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery
		$row = $wpdb->get_row(
			$wpdb->prepare( "SELECT ID, user_login, user_nicename, user_email FROM {$wpdb->users} WHERE ID = %d", $user_id ),
			ARRAY_A
		);
		if ( $row ) {
			clean_user_cache( self::user_object( $row, $user_id ) );
		}

		// clean_user_cache() leaves user_meta alone before WordPress 6.3.
		wp_cache_delete( $user_id, 'users' );
		wp_cache_delete( $user_id, 'user_meta' );
		if ( function_exists( 'wp_cache_set_users_last_changed' ) ) {
			wp_cache_set_users_last_changed();
		}
	}

	/**
	 * Removes the cached role definitions and reloads them.
	 */
	public static function clean_roles() {
		$roles = wp_roles();
		wp_cache_delete( 'alloptions', 'options' );
		wp_cache_delete( 'notoptions', 'options' );
		wp_cache_delete( $roles->role_key, 'options' );
		$roles->for_site();
	}

	/**
	 * Removes the cached posts of a user (a deleted user's posts were reassigned to them).
	 *
	 * @param int $user_id User ID.
	 */
	public static function clean_posts_of( $user_id ) {
		global $wpdb;
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery
		$ids = $wpdb->get_col( $wpdb->prepare( "SELECT ID FROM {$wpdb->posts} WHERE post_author = %d", $user_id ) );
		foreach ( array_chunk( $ids, 1000 ) as $chunk ) {
			wp_cache_delete_multiple( $chunk, 'posts' );
		}
		wp_cache_set_posts_last_changed();
	}

	// ---------------------------------------------------------------------------------------------
	// What the hooks receive.
	// ---------------------------------------------------------------------------------------------

	/**
	 * The role slugs of a snapshot.
	 *
	 * @param array|null $snapshot User snapshot.
	 * @return string[]
	 */
	private static function roles_of( $snapshot ) {
		if ( ! is_array( $snapshot ) || ! isset( $snapshot['roles'] ) || ! is_array( $snapshot['roles'] ) ) {
			return array();
		}
		return array_values( array_unique( array_filter( array_map( 'strval', $snapshot['roles'] ), 'strlen' ) ) );
	}

	/**
	 * A WP_User made from a snapshot alone: no database or cache read, so it works for users that no
	 * longer exist and shows the roles and capabilities the snapshot had.
	 *
	 * @param array|null $snapshot User snapshot (or a users row).
	 * @param int        $user_id  The ID when the snapshot has none.
	 * @return WP_User
	 */
	private static function user_object( $snapshot, $user_id ) {
		global $wpdb;
		$snapshot = is_array( $snapshot ) ? $snapshot : array();
		$data     = new stdClass();
		$data->ID = isset( $snapshot['ID'] ) ? (int) $snapshot['ID'] : (int) $user_id;
		foreach ( array( 'user_login', 'user_nicename', 'user_email', 'user_url', 'user_registered', 'display_name' ) as $field ) {
			$data->$field = isset( $snapshot[ $field ] ) ? (string) $snapshot[ $field ] : '';
		}
		$data->user_pass           = '';
		$data->user_activation_key = '';
		$data->user_status         = '0';
		foreach ( array( 'first_name', 'last_name', 'nickname' ) as $field ) {
			if ( isset( $snapshot[ $field ] ) ) {
				$data->$field = (string) $snapshot[ $field ];
			}
		}

		$user          = new WP_User(); // Empty: reads nothing.
		$user->data    = $data;
		$user->ID      = $data->ID;
		$user->cap_key = $wpdb->get_blog_prefix() . 'capabilities';
		$user->roles   = self::roles_of( $snapshot );
		$user->caps    = array_fill_keys( $user->roles, true );
		$allcaps       = array();
		foreach ( $user->roles as $role ) {
			$definition = wp_roles()->get_role( $role );
			if ( $definition ) {
				$allcaps = array_merge( $allcaps, (array) $definition->capabilities );
			}
		}
		$user->allcaps = array_merge( $allcaps, $user->caps );
		return $user;
	}

	/**
	 * The wp_insert_user()-style array a snapshot stands for (never a password).
	 *
	 * @param array|null $snapshot User snapshot.
	 * @param int        $user_id  User ID.
	 * @param bool       $update   Whether it describes an update (then it carries the ID, as core's does).
	 * @return array
	 */
	private static function userdata( $snapshot, $user_id, $update ) {
		$snapshot = is_array( $snapshot ) ? $snapshot : array();
		$userdata = $update ? array( 'ID' => (int) $user_id ) : array();
		foreach ( array( 'user_login', 'user_nicename', 'user_url', 'user_email', 'display_name', 'nickname', 'first_name', 'last_name', 'user_registered' ) as $field ) {
			if ( isset( $snapshot[ $field ] ) ) {
				$userdata[ $field ] = (string) $snapshot[ $field ];
			}
		}
		$roles = self::roles_of( $snapshot );
		if ( 1 === count( $roles ) ) {
			$userdata['role'] = $roles[0];
		}
		return $userdata;
	}

	// ---------------------------------------------------------------------------------------------
	// Running other plugins' code.
	// ---------------------------------------------------------------------------------------------

	/**
	 * Fires an action with core's arguments; a listener's exception is logged, not passed on.
	 *
	 * @param string $hook    Action name.
	 * @param mixed  ...$args Its arguments.
	 */
	private static function fire( $hook, ...$args ) {
		try {
			do_action( $hook, ...$args );
		} catch ( Throwable $e ) {
			self::log( self::event_label() . "a {$hook} listener threw " . self::describe( $e ) );
		}
	}

	/**
	 * Runs a cleaning step (which fires clean_user_cache); an exception is logged, not passed on.
	 *
	 * @param string   $what     What is being done, for the log.
	 * @param callable $callback The step.
	 * @param array    $args     Its arguments.
	 */
	private static function guard( $what, $callback, array $args ) {
		try {
			call_user_func_array( $callback, $args );
		} catch ( Throwable $e ) {
			self::log( self::event_label() . "{$what} threw " . self::describe( $e ) );
		}
	}

	/**
	 * "event N (Type action id): " for log lines.
	 *
	 * @return string
	 */
	private static function event_label() {
		$event = self::$current_event;
		return $event ? "event {$event['event_id']} ({$event['resource_type']} {$event['action']} {$event['resource_id']}): " : '';
	}

	/**
	 * An exception in one line.
	 *
	 * @param Throwable $e The exception.
	 * @return string
	 */
	private static function describe( $e ) {
		return get_class( $e ) . ': ' . $e->getMessage() . ' in ' . $e->getFile() . ':' . $e->getLine();
	}

	/**
	 * Writes to PHP's error log.
	 *
	 * @param string $message Message.
	 */
	private static function log( $message ) {
		error_log( 'wpscim-companion: ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
	}

	/**
	 * Writes a JSON answer and ends the request (no theme, no other output).
	 *
	 * @param int   $status HTTP status.
	 * @param array $body   The answer.
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

	// ---------------------------------------------------------------------------------------------
	// Admin menu.
	// ---------------------------------------------------------------------------------------------

	/**
	 * Users → SCIM provisioning.
	 */
	public static function admin_menu() {
		$hook = add_users_page(
			__( 'SCIM provisioning', 'wpscim-companion' ),
			__( 'SCIM provisioning', 'wpscim-companion' ),
			'manage_options',
			'wpscim-provisioning',
			array( __CLASS__, 'admin_page' )
		);
		if ( $hook ) {
			add_action( 'load-' . $hook, array( __CLASS__, 'open_admin' ) );
		}
	}

	/**
	 * The address of wpscim's admin pages, or ''.
	 *
	 * @return string
	 */
	private static function admin_address() {
		return esc_url_raw( trim( (string) get_option( self::ADMIN_URL_OPTION, '' ) ), array( 'http', 'https' ) );
	}

	/**
	 * Sends the menu item on to wpscim's admin pages when their address is known.
	 */
	public static function open_admin() {
		$address = self::admin_address();
		if ( '' !== $address ) {
			// phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- wpscim runs on its own host or port.
			wp_redirect( $address );
			exit;
		}
	}

	/**
	 * The page shown while wpscim's admin address is unknown.
	 */
	public static function admin_page() {
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'SCIM provisioning', 'wpscim-companion' ); ?></h1>
			<p><?php esc_html_e( 'Users and roles on this site are provisioned by wpscim, a SCIM 2.0 service that runs beside WordPress. Its address is not known yet.', 'wpscim-companion' ); ?></p>
			<p>
				<?php
				printf(
					/* translators: 1: a command, 2: an option name. */
					esc_html__( 'Start wpscim (for example %1$s) and store the address of its admin pages in the option %2$s; this menu item then opens them.', 'wpscim-companion' ),
					'<code>wpscim serve --wp-config /path/to/wp-config.php</code>',
					'<code>' . esc_html( self::ADMIN_URL_OPTION ) . '</code>'
				);
				?>
			</p>
		</div>
		<?php
	}
}

if ( ! function_exists( 'wpscim_companion_current_event' ) ) {
	/**
	 * The wpscim event whose hooks are being fired, or null (for listeners that want the actor or request).
	 *
	 * @return array|null Keys event_id, actor, request_id, action, resource_type, resource_id, attributes.
	 */
	function wpscim_companion_current_event() {
		return WPSCIM_Companion::current_event();
	}
}

WPSCIM_Companion::load();
