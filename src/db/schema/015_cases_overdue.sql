-- 015: overdue escalation of applications. The deadline a case was last
-- escalated for (src/cases/watch.c): an overdue case is escalated once per
-- deadline, and again only if a suspension moved its deadline and it is late
-- once more.
ALTER TABLE cases ADD COLUMN escalated_deadline TEXT;
