-- What a run brought back from the box (issue 13, docs/artifacts.md): the CLI's artifacts summary as JSON
-- ({dir, files, bytes, paths, omitted, skipped, error?}), NULL when the run asked for nothing (every run before this).
ALTER TABLE runs ADD COLUMN artifacts TEXT;
