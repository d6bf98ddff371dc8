-- 004_catalog: the service catalog (政务服务事项), 一件事 bundles and e-licence
-- types, loaded from data/catalog/ by catalog_import_file() and edited by staff.
--
-- catalog_items.doc is the whole item as one line of items.jsonl (keys in the
-- README's order), so export writes it back unchanged; the other columns are
-- copies of doc's scalar fields kept for filters and lists, written together
-- with doc and never on their own. version starts at 1 and grows by one with
-- every change of doc; catalog_item_versions keeps every version's doc
-- (including the current one), so history needs no diffing. popularity is
-- counted by the application and never touched by an import.
-- Booleans are INTEGER 0/1; times are UTC ISO-8601 TEXT.

CREATE TABLE catalog_items (
    code TEXT PRIMARY KEY,               -- AREA-DEPT-NNNNNN
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    department TEXT NOT NULL,
    level TEXT NOT NULL,
    legal_days DOUBLE PRECISION NOT NULL,
    promise_days DOUBLE PRECISION NOT NULL,
    fee TEXT NOT NULL,
    online_depth INTEGER NOT NULL CHECK (online_depth BETWEEN 1 AND 4),
    visits INTEGER NOT NULL CHECK (visits BETWEEN 0 AND 2),
    commitment INTEGER NOT NULL CHECK (commitment IN (0, 1)),
    instant INTEGER NOT NULL CHECK (instant IN (0, 1)),
    scope_cross_province INTEGER NOT NULL CHECK (scope_cross_province IN (0, 1)), -- 跨省通办
    scope_province INTEGER NOT NULL CHECK (scope_province IN (0, 1)),             -- 全省通办
    scope_yongzhou INTEGER NOT NULL CHECK (scope_yongzhou IN (0, 1)),             -- 甬舟通办
    area_code TEXT NOT NULL,             -- first 6 characters of code
    doc TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    popularity INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX catalog_items_department ON catalog_items (department, code);
CREATE INDEX catalog_items_type ON catalog_items (type, code);
CREATE INDEX catalog_items_area ON catalog_items (area_code, code);

CREATE TABLE catalog_item_versions (
    code TEXT NOT NULL REFERENCES catalog_items (code),
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

CREATE TABLE catalog_bundles (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parallel INTEGER NOT NULL CHECK (parallel IN (0, 1)),
    promise_hours INTEGER NOT NULL CHECK (promise_hours >= 0),
    description TEXT NOT NULL,
    doc TEXT NOT NULL,                   -- the bundle as in bundles.json (compact)
    updated_at TEXT NOT NULL
);

-- The items of each bundle in their order, so "bundles of an item" is an
-- indexed lookup.
CREATE TABLE catalog_bundle_items (
    bundle_code TEXT NOT NULL REFERENCES catalog_bundles (code),
    position INTEGER NOT NULL,
    item_code TEXT NOT NULL REFERENCES catalog_items (code),
    PRIMARY KEY (bundle_code, position)
);
CREATE INDEX catalog_bundle_items_item ON catalog_bundle_items (item_code);

CREATE TABLE catalog_licences (
    type TEXT PRIMARY KEY,               -- e-licence type name, referred to by materials
    issuer TEXT NOT NULL,
    id_pattern TEXT NOT NULL,
    trust_level TEXT NOT NULL CHECK (trust_level IN ('A', 'B')),
    updated_at TEXT NOT NULL
);
