-- 005_search: what the search engine keeps in the database. The index itself
-- lives in memory (src/search/) and is rebuilt from catalog_items at start.
--
-- search_synonyms: the staff's synonyms (俗称 → 规范名称), added to the shipped
-- data/search/synonyms.tsv; term and canonical are stored as typed (trimmed).
-- search_log: one row per normalised query with its counts, for the zero-result
-- report. Queries are logged without personal data: digit runs of 7 or more
-- (ID and phone numbers) are removed before a query is counted.

CREATE TABLE search_synonyms (
    id @id_pk@,
    term TEXT NOT NULL,
    canonical TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (term, canonical)
);

CREATE TABLE search_log (
    query TEXT PRIMARY KEY,
    searches BIGINT NOT NULL,
    zero_results BIGINT NOT NULL,  -- searches that found nothing
    last_total INTEGER NOT NULL,   -- result count of the latest search
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX search_log_zero ON search_log (last_total, zero_results);
