"""SQL files wpscim ships (importable as wpscim.sql so a wheel carries them): WordPress 6.1's schema for --init-schema, wpscim's own tables and indexes."""
