-- 031: ground truth of the trading demo (src/trade/demo.c) for the collusion
-- screening (src/screen/): the companies the demo generator planted as bid-rigging
-- groups, with the patterns it gave them. Only the demo writes here; a real
-- deployment leaves it empty. pattern is a comma-separated list of:
--   cover_bidding  members lose by consistent margins (2–5%) above the designated winner
--   rotation       the designated winner rotates among the members
--   same_ip        the members' bids come from one client IP
--   same_machine   … from one bidding machine (mac/cpu/disk)
--   same_deposit   … pay their deposits from one bank account
--   same_author    … carry documents by one author
--   same_manager   … name one project manager
--   same_file      … carry an identical document (same SHA-256)
--   fixed_ratio    losing prices are fixed ratios of the winner's (×1.03, ×1.06 …)
--   progression    losing prices form an arithmetic progression
CREATE TABLE trade_demo_planted (
    group_no INTEGER NOT NULL,
    company_id BIGINT NOT NULL REFERENCES trade_companies (id),
    pattern TEXT NOT NULL,
    tenders INTEGER NOT NULL DEFAULT 0,     -- tenders the group rigged together
    PRIMARY KEY (group_no, company_id)
);
