"""``aura demo`` rebuilds its sources, so their watermarks go and the next sync reads them whole."""

import pytest

from aura_platform.ingest.audit import forget_watermarks
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration


def test_only_the_named_sources_lose_their_watermarks(settings: Settings) -> None:
    url = settings.warehouse_url
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.sync_watermarks (source_system, source_table, cursor_column, "
            "watermark) values ('wm_rebuilt', 'a', 'write_date', now()), "
            "('wm_rebuilt', 'b', 'write_date', now()), ('wm_kept', 'a', 'write_date', now())"
        )
    try:
        assert forget_watermarks(url, ("wm_rebuilt", "wm_absent")) == 2
        with connect(url) as conn:
            left = conn.execute(
                "select source_system from ops.sync_watermarks where source_system like 'wm_%'"
            ).fetchall()
        assert left == [("wm_kept",)]
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute("delete from ops.sync_watermarks where source_system like 'wm_%'")
