"""Jobs over the asset graph."""

import dagster as dg

# The whole platform in dependency order: sources -> raw -> dbt -> checks -> search. Checks run
# right after the asset they guard; a failed blocking check stops everything downstream of it.
main_job = dg.define_asset_job(
    name="main",
    selection=dg.AssetSelection.all(),
    description="Sync every source, build dbt, run the checks, then embeddings and matching.",
)
