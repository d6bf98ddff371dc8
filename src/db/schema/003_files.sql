-- 003: uploaded files. Content is stored on disk under the files directory,
-- named by its SHA-256 (so identical uploads share one copy); rows record who
-- uploaded what under which name.
CREATE TABLE files (
    id @id_pk@,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    field TEXT NOT NULL,
    owner_id BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX files_owner ON files (owner_id);
CREATE INDEX files_sha256 ON files (sha256);
