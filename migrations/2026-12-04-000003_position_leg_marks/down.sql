ALTER TABLE positions DROP COLUMN marked_at;
ALTER TABLE positions DROP COLUMN leg_marks_json;
