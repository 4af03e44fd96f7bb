-- A position names its last signal and a trade its closing signal. Both ids come from the
-- statement that inserts that signal (ingest_apply, by recorder and sequence number) or
-- from rebuild, which reads them from the stored signals; signals are never deleted on
-- their own (only with their recorder or account, positions and trades with them). The
-- foreign keys re-checked that for every row: a query per row and a KEY SHARE lock on the
-- signal just inserted, which writes its heap page and a WAL record again (issue 8,
-- measured on the sustained benchmark).
alter table recorder_positions drop constraint recorder_positions_last_signal_id_fkey;
alter table trades drop constraint trades_closing_signal_id_fkey;
