-- wpscim's change log: one row per resource a SCIM request changed, written in the same transaction as
-- the change (the audit trail, and the outbox the companion plugin delivers WordPress's hooks from).
-- Created by `wpscim serve --init-schema` on a new site and by `wpscim upgrade` on an existing one;
-- idempotent. `{prefix}` is the site's table prefix (wp_ for site 1, wp_2_ for site 2 of a network).
CREATE TABLE IF NOT EXISTS `{prefix}wpscim_events` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  created_at DATETIME(6) NOT NULL,
  actor VARCHAR(100) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT '',
  action VARCHAR(32) NOT NULL,
  resource_type VARCHAR(16) NOT NULL,
  resource_id VARCHAR(191) NOT NULL,
  attributes TEXT NOT NULL,
  detail LONGTEXT NOT NULL,
  cleared_at DATETIME(6) NULL,
  delivered_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY wpscim_resource (resource_type, resource_id),
  KEY wpscim_pending (delivered_at),
  KEY wpscim_request (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
