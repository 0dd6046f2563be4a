"""Run by the Octavia virtual environment's Python (not the portal's): make a fresh
Octavia schema in an empty database, the way Octavia's own database tests do.

``octavia-db-manage upgrade head`` cannot be used on PostgreSQL (its migrations are
MySQL-only), so the tables come from Octavia's models, the lookup tables are filled as
``octavia/tests/functional/db/base.py`` does, and the schema is stamped at head.

Usage: python init_db.py CONFIG_FILE
"""

import subprocess
import sys
from pathlib import Path

from octavia.common import config, constants
from octavia.db import api as db_api
from octavia.db import base_models, models

LOOKUP_TABLES = (
    (constants.SUPPORTED_PROVISIONING_STATUSES, models.ProvisioningStatus),
    (constants.SUPPORTED_HEALTH_MONITOR_TYPES, models.HealthMonitorType),
    (constants.SUPPORTED_LB_ALGORITHMS, models.Algorithm),
    (constants.SUPPORTED_PROTOCOLS, models.Protocol),
    (constants.SUPPORTED_OPERATING_STATUSES, models.OperatingStatus),
    (constants.SUPPORTED_SP_TYPES, models.SessionPersistenceType),
    (constants.SUPPORTED_AMPHORA_ROLES, models.AmphoraRoles),
    (constants.SUPPORTED_LB_TOPOLOGIES, models.LBTopology),
    (constants.SUPPORTED_VRRP_AUTH, models.VRRPAuthMethod),
    (constants.SUPPORTED_L7RULE_TYPES, models.L7RuleType),
    (constants.SUPPORTED_L7RULE_COMPARE_TYPES, models.L7RuleCompareType),
    (constants.SUPPORTED_L7POLICY_ACTIONS, models.L7PolicyAction),
    (constants.SUPPORTED_CLIENT_AUTH_MODES, models.ClientAuthenticationMode),
)


def main(config_file: str) -> None:
    config.init(["--config-file", config_file])
    engine = db_api.get_engine()
    base_models.BASE.metadata.create_all(engine)
    session = db_api.get_session()
    with session.begin():
        for names, model in LOOKUP_TABLES:
            session.add_all(model(name=name) for name in names)
        # The placeholders Octavia points deleted load balancers' flavors and zones at.
        session.add(
            models.FlavorProfile(
                id=constants.NIL_UUID, name="DELETED-PLACEHOLDER", provider_name=constants.DELETED, flavor_data="{}"
            )
        )
        session.flush()
        session.add(
            models.Flavor(
                id=constants.NIL_UUID,
                flavor_profile_id=constants.NIL_UUID,
                name="DELETED-PLACEHOLDER",
                enabled=False,
                description="Placeholder for DELETED LBs with DELETED flavors",
            )
        )
        session.add(
            models.AvailabilityZoneProfile(
                id=constants.NIL_UUID,
                name="DELETED-PLACEHOLDER",
                provider_name=constants.DELETED,
                availability_zone_data="{}",
            )
        )
        session.flush()
        session.add(
            models.AvailabilityZone(
                availability_zone_profile_id=constants.NIL_UUID,
                name=constants.NIL_UUID,
                enabled=False,
                description="Placeholder for DELETED LBs with DELETED availability zones",
            )
        )
    manage = Path(sys.executable).with_name("octavia-db-manage")
    subprocess.run([str(manage), "--config-file", config_file, "stamp", "head"], check=True, timeout=120)


if __name__ == "__main__":
    main(sys.argv[1])
