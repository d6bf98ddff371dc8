-- 002_places: Zhoushan geography (towns, islands, ferry/bridge links, villages,
-- service stations), loaded from data/zhoushan/*.csv by places_import_dir().
--
-- Keys are the natural ones from the data (NBS-pattern codes, island slugs, link
-- and station ids), so re-importing upserts in place. towns.main_island has no
-- REFERENCES clause because islands.town_code already points the other way and a
-- cycle would make loading order-dependent; the importer checks it instead.
-- stations.town_code is derived at import from the station's village, so that
-- "stations of a town" is an indexed lookup.

CREATE TABLE towns (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    county_code TEXT NOT NULL,
    county TEXT NOT NULL,
    main_island TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('街道', '镇', '乡'))
);
CREATE INDEX towns_county ON towns (county_code);

CREATE TABLE islands (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    town_code TEXT NOT NULL REFERENCES towns (code),
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    population INTEGER NOT NULL CHECK (population >= 0),
    inhabited INTEGER NOT NULL CHECK (inhabited IN (0, 1))
);
CREATE INDEX islands_town ON islands (town_code);

CREATE TABLE ferry_links (
    id TEXT PRIMARY KEY,
    from_island TEXT NOT NULL REFERENCES islands (id),
    to_island TEXT NOT NULL REFERENCES islands (id),
    from_port TEXT NOT NULL,
    to_port TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    sailings_per_day INTEGER CHECK (sailings_per_day IS NULL OR sailings_per_day >= 0),
    first_departure TEXT,
    last_departure TEXT,
    mode TEXT NOT NULL CHECK (mode IN ('ferry', 'bridge', 'road')),
    CHECK (from_island <> to_island)
);
CREATE INDEX ferry_links_from ON ferry_links (from_island);
CREATE INDEX ferry_links_to ON ferry_links (to_island);

CREATE TABLE villages (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    town_code TEXT NOT NULL REFERENCES towns (code),
    island_id TEXT NOT NULL REFERENCES islands (id),
    population INTEGER NOT NULL CHECK (population >= 0),
    synthetic INTEGER NOT NULL CHECK (synthetic IN (0, 1))
);
CREATE INDEX villages_town ON villages (town_code);
CREATE INDEX villages_island ON villages (island_id);

CREATE TABLE stations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    village_code TEXT NOT NULL REFERENCES villages (code),
    town_code TEXT NOT NULL REFERENCES towns (code),
    island_id TEXT NOT NULL REFERENCES islands (id),
    kind TEXT NOT NULL CHECK (kind IN ('服务中心', '便民服务站', '代办点')),
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    staff INTEGER NOT NULL CHECK (staff >= 0)
);
CREATE INDEX stations_town_kind ON stations (town_code, kind);
CREATE INDEX stations_island ON stations (island_id);
CREATE INDEX stations_village ON stations (village_code);
CREATE INDEX stations_kind ON stations (kind);
