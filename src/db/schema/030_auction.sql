-- 030: online ascending auctions (src/trade/auction.c).
-- An offer is either a 挂牌 offer (phase 'listing', while the tender is announced)
-- or a 竞价 bid (phase 'auction'). Each company taking part gets an anonymous
-- 竞买号 per tender: the public sees numbers, never names, until the result.
ALTER TABLE auction_bids ADD COLUMN phase TEXT NOT NULL DEFAULT 'auction'
    CHECK (phase IN ('listing', 'auction'));

CREATE TABLE auction_bidders (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    bidder_no INTEGER NOT NULL,             -- 竞买号, unique within the tender
    created_at TEXT NOT NULL,
    PRIMARY KEY (tender_id, company_id),
    UNIQUE (tender_id, bidder_no)
);
