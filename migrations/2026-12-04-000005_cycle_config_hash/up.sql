-- The sha256 of the config's decision sections ([market], [commander], [risk], [broker]) a
-- cycle ran under, so `replay` can say when today's config differs.
ALTER TABLE cycles ADD COLUMN config_sha256 TEXT;
