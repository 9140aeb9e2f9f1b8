ALTER TABLE cycles DROP COLUMN config_sha256;
