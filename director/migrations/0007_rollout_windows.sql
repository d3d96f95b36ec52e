-- A rollout's maintenance windows, as written ("Mon-Fri 01:00-05:00", UTC; empty: any time).
ALTER TABLE rollouts ADD COLUMN windows TEXT NOT NULL DEFAULT '';
