-- The bot's runtime role on PostgreSQL: it reads and writes its rows, and nothing else.
-- Run as the database's owner (the role `ecrbot db upgrade` runs as), after every upgrade:
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f deploy/postgres/runtime-role.sql
-- Create the role once beforehand (CREATE ROLE ecrbot_runtime LOGIN PASSWORD '...'), and give
-- the bot ECRBOT_DATABASE_URL with that role. Without ownership it can't ALTER, DROP, TRUNCATE
-- or DISABLE TRIGGER anything, nor replace the trigger's function; without UPDATE and DELETE
-- on audit_log it can only append to the audit log and read it.
-- (tests/integration/test_audit_chain.py runs this file as written, in a schema of its own.)
GRANT USAGE ON SCHEMA public TO ecrbot_runtime;
GRANT SELECT ON alembic_version TO ecrbot_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON jobs, report_figures, report_fires, slack_events, triage_threads, apscheduler_jobs,
       request_marks, locks
    TO ecrbot_runtime;
GRANT SELECT, INSERT ON audit_log TO ecrbot_runtime;
GRANT USAGE ON SEQUENCE jobs_id_seq, report_figures_id_seq TO ecrbot_runtime;
