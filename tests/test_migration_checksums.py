"""A shipped migration never changes, not even a comment.

Every warehouse records the checksum of each migration it applied and refuses to start when a
file no longer matches (``MigrationError``): an edit to a shipped file, however harmless, breaks
every warehouse migrated before it. The #12 restructure did exactly that by updating a module
path in the comments of 0010 and 0014. Changes go into a new migration; a new migration adds its
checksum here.
"""

from aura_platform.warehouse.migrate import discover

SHIPPED = {
    1: "46c3e513fa4a79e91f68513e66c58588d125b27398da43cc6330b69728119a78",  # schemas
    2: "d3b1a1be0fb7579491e405e0ed14ca5809d77e15f6ed6614964f9e13f0a5ea08",  # ops_audit
    3: "9303fdde1f500bf69bf63e8d9392712f6c6946c0fee2d237269baabed7bdb555",  # search
    4: "f8b99cb2b14afbd011d76cb22e8037704d3bea60a58618519d02e2c8f312f4a9",  # ingestion_state
    5: "b3d85777342009fb0153405e1abc1f1962930cf07efb99f64d3401431b003a0e",  # landing_files
    6: "29eafb04b9bc54879d07b27c07fce0dc018f3f6ce440c00fa0b96457ea2a628b",  # schema_drift
    7: "5962a71dee95391b8cbf4bcbca082767c9304c0f5e9c4d3c48ce07709d279340",  # sync_job_details
    8: "c04ef8e4ea31d7f6d5830914ca1feea066068dc496813b5c0f687b64eec3d47a",  # quality_views
    9: "5eb72058591c4a0cead34435f37373ba8fc65a04057f6acb75f9a583acf9aa4b",  # exact_casts
    10: "44584473d550202dc34aa230509a60d1017ba8e3001fda7dd0ba0ad9551b2325",  # opportunity_matches
    11: "7137bfabbbb748db71c65469a65ce884958a95d7d6abb8d108a32c681a9160d9",  # run_failures
    12: "854ec5c54a0c6ba6b052a7f81496f5a4de18c203e154cc62620d77ed0ec22758",  # delete_reconciliation
    13: "b225128614adf27e9eab48b122b786b2af016d66af841dda80a4a5587c2afb1c",  # landed_file_format
    14: "e0e399fffaf8bd36ea386ec34b6e1855917dc819b08847ee8097573e05236d89",  # match_explanations
    15: "ee8bbff87ba8855552e2dd1e53fb84f71d74c531c4957706bf5e6630f42dcc0c",  # change_data_capture
    16: "70951eae41e0dd4db27bc7abcd06429aee48392743e3ed2d1542938876dcfe95",  # embedding_types
}


def test_every_shipped_migration_is_byte_for_byte_what_warehouses_applied() -> None:
    changed = {
        f"{m.version:04d}_{m.name}"
        for m in discover()
        if m.version in SHIPPED and m.checksum != SHIPPED[m.version]
    }
    assert not changed, f"shipped migrations edited (add a new migration instead): {changed}"


def test_every_migration_is_recorded_here() -> None:
    unrecorded = {f"{m.version:04d}_{m.name}" for m in discover() if m.version not in SHIPPED}
    assert not unrecorded, f"add the checksum of each new migration to SHIPPED: {unrecorded}"
