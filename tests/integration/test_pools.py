"""Source pools: sources.yaml's limits reach the instance, and the instance enforces them."""

import time
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableJob

from aura_platform.cli.runner import apply_pool_limits, prepare_environment
from aura_platform.config.loader import load_sources
from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.definitions import defs
from aura_platform.settings import Settings

pytestmark = pytest.mark.integration

STEP_SECONDS = 5.0  # long enough that two step processes started together overlap


@pytest.fixture
def instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    """Aura's persistent instance (PostgreSQL storage, dagster.yaml), as the CLI prepares it."""
    prepare_environment(settings)
    with dg.DagsterInstance.get() as current:
        yield current


def _limits(instance: dg.DagsterInstance) -> dict[str, tuple[int, bool]]:
    return {p.name: (p.limit, p.from_default) for p in instance.event_log_storage.get_pool_limits()}


def test_every_raw_asset_of_a_source_is_in_that_sources_pool() -> None:
    graph = defs().resolve_asset_graph()
    for name in load_sources().sources:
        raw = [n for n in graph.asset_nodes if n.key.path[:2] == ["raw", name]]
        pools = {pool for n in raw for pool in n.pools or set()}
        assert pools <= {f"source_{name}"}, name


def test_preparing_the_environment_sets_each_sources_max_connections_on_the_instance(
    instance: dg.DagsterInstance,
) -> None:
    configured = {
        f"source_{name}": s.max_connections
        for name, s in load_sources().sources.items()
        if s.max_connections is not None
    }
    assert configured["source_odoo"] == 2  # the ERP database is protected
    limits = _limits(instance)
    assert {pool: limits[pool] for pool in configured} == {
        pool: (n, False) for pool, n in configured.items()
    }


def test_a_source_without_max_connections_goes_back_to_the_default_limit(
    instance: dg.DagsterInstance,
) -> None:
    folder = SourceConfig(transport="apn_files", folder="x", tables={"t": TableConfig()})
    instance.event_log_storage.set_concurrency_slots("source_pooltest", 7)
    assert apply_pool_limits(instance, {"pooltest": folder}) == {"source_pooltest": None}
    assert "source_pooltest" not in _limits(instance)
    assert instance.global_op_concurrency_default_limit == 4  # what it gets at its first claim


def _sleeper(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, pool="source_pooltest")
    def _asset() -> None:
        time.sleep(STEP_SECONDS)

    return _asset


def pool_job() -> dg.JobDefinition:
    """Two independent steps of one source, free to run in parallel but for their pool."""
    assets = [_sleeper("first_table"), _sleeper("second_table")]
    job = dg.define_asset_job(
        "pool_job",
        selection=assets,
        executor_def=dg.multiprocess_executor.configured({"max_concurrent": 2}),
    )
    return dg.Definitions(assets=assets, jobs=[job]).resolve_job_def("pool_job")


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of each step, from the run's event log."""
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            ends[event.step_key] = entry.timestamp
    assert starts.keys() == ends.keys() == {"first_table", "second_table"}
    return sorted((starts[k], ends[k]) for k in starts)


@pytest.mark.parametrize("max_connections, overlap", [(1, False), (2, True)])
def test_a_sources_limit_holds_between_steps_that_could_run_in_parallel(
    instance: dg.DagsterInstance, max_connections: int, overlap: bool
) -> None:
    source = SourceConfig(
        transport="apn_files",
        folder="x",
        tables={"t": TableConfig()},
        max_connections=max_connections,
    )
    apply_pool_limits(instance, {"pooltest": source})
    try:
        # By file: the step processes import this module by path (it is not on their sys.path).
        job = ReconstructableJob.for_file(__file__, pool_job.__name__)
        result = dg.execute_job(job, instance=instance)
        assert result.success
        (_, first_end), (second_start, _) = _step_windows(instance, result.run_id)
        assert (second_start < first_end) is overlap
    finally:
        instance.event_log_storage.delete_concurrency_limit("source_pooltest")
