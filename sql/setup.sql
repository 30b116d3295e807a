-- Installs the extension and helpers shared by the regression tests.
CREATE EXTENSION streamview;
CREATE EXTENSION pgtap;

-- Runs a statement and returns its error as 'SQLSTATE: message (hint)',
-- so expected outputs pin the SQLSTATE of every error.
CREATE FUNCTION public.sv_try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (hint: ' || nullif(hint, '') || ')', '');
END
$$;

-- The extension lives in its own schema, with its catalog tables.
SELECT extname, extnamespace::regnamespace FROM pg_extension WHERE extname = 'streamview';
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'streamview'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

-- Installing into another database is refused, naming the setting.
CREATE DATABASE sv_other;
\c sv_other
\set VERBOSITY default
-- (PostgreSQL 18 adds a CONTEXT line naming the script's line)
\set SHOW_CONTEXT never
CREATE EXTENSION streamview;
\c contrib_regression
DROP DATABASE sv_other;
