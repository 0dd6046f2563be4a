"""PostgreSQL: the team usage counts move once per INSERT or DELETE statement, not once
per row.

A row trigger updated a team's usage row once for every load balancer inserted: a
statement or a COPY of 100,000 rows of one team left 100,000 versions of that one row
in its transaction, each update slower than the last (seeding 100,000 load balancers
took 90 s instead of 20).  Statement triggers read the statement's rows (transition
tables) and move each team's count once, teams in id order.  A status or team change
stays a row trigger: transition tables cannot be had for a trigger on some columns
only, and such changes come one row at a time.  SQLite keeps its row triggers (it
updates a row in place)."""

from django.db import migrations

INSERTED = """
CREATE FUNCTION loadbalancers_team_usage_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO loadbalancers_teamusage (team_id, live_load_balancers)
    SELECT team_id, COUNT(*) FROM new_rows WHERE provisioning_status <> 'DELETED'
    GROUP BY team_id ORDER BY team_id
    ON CONFLICT (team_id) DO UPDATE
    SET live_load_balancers = loadbalancers_teamusage.live_load_balancers + EXCLUDED.live_load_balancers;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
DELETED = """
CREATE FUNCTION loadbalancers_team_usage_deleted() RETURNS trigger AS $$
BEGIN
    UPDATE loadbalancers_teamusage AS usage SET live_load_balancers = usage.live_load_balancers - gone.count
    FROM (
        SELECT team_id, COUNT(*) AS count FROM old_rows WHERE provisioning_status <> 'DELETED'
        GROUP BY team_id ORDER BY team_id
    ) AS gone
    WHERE usage.team_id = gone.team_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
FORWARD = [
    "DROP TRIGGER loadbalancers_team_usage_insert ON loadbalancers_loadbalancer",
    "DROP TRIGGER loadbalancers_team_usage_delete ON loadbalancers_loadbalancer",
    INSERTED,
    DELETED,
    """CREATE TRIGGER loadbalancers_team_usage_insert AFTER INSERT ON loadbalancers_loadbalancer
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION loadbalancers_team_usage_inserted()""",
    """CREATE TRIGGER loadbalancers_team_usage_delete AFTER DELETE ON loadbalancers_loadbalancer
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION loadbalancers_team_usage_deleted()""",
]
BACKWARD = [
    "DROP TRIGGER loadbalancers_team_usage_insert ON loadbalancers_loadbalancer",
    "DROP TRIGGER loadbalancers_team_usage_delete ON loadbalancers_loadbalancer",
    "DROP FUNCTION loadbalancers_team_usage_inserted()",
    "DROP FUNCTION loadbalancers_team_usage_deleted()",
    """CREATE TRIGGER loadbalancers_team_usage_insert AFTER INSERT ON loadbalancers_loadbalancer
    FOR EACH ROW WHEN (NEW.provisioning_status <> 'DELETED') EXECUTE FUNCTION loadbalancers_team_usage()""",
    """CREATE TRIGGER loadbalancers_team_usage_delete AFTER DELETE ON loadbalancers_loadbalancer
    FOR EACH ROW WHEN (OLD.provisioning_status <> 'DELETED') EXECUTE FUNCTION loadbalancers_team_usage()""",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("loadbalancers", "0011_team_usage")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
