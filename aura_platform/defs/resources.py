"""Resources shared by every Aura asset."""

import dagster as dg

from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The Aura warehouse: resolves settings and makes sure the server is up and migrated.

    Configuration stays in the environment (``Settings``) so the CLI, dbt and Dagster agree on it.
    """

    def settings(self) -> Settings:
        return Settings.from_env()

    def url(self) -> str:
        """The warehouse URL, after starting (embedded) and migrating the warehouse if needed."""
        return prepare_warehouse(self.settings())


defs = dg.Definitions(resources={"warehouse": WarehouseResource()})
