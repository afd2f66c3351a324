-- Optional index wpscim adds to WordPress's usermeta table (applied by `wpscim index create`,
-- removed by `wpscim index drop`). WordPress indexes meta_key alone, so finding a user by a usermeta
-- value (externalId, a mapped key such as billing_phone, an exact userName) scans every row with that
-- key; this index makes it a lookup. WordPress ignores indexes it did not create.
CREATE INDEX wpscim_meta_key_value ON `{prefix}usermeta` (meta_key(191), meta_value(100));
