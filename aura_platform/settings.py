"""Environment -> typed settings, in one place.

Every environment variable Aura reads is named in ``ENV_VARS`` so that the docker-compose test can
check the deployment sets each one, and so that the README has a single list to stay true to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# name -> what it means; the default is applied in ``Settings.from_env``.
ENV_VARS: dict[str, str] = {
    "AURA_HOME": "local state (embedded PostgreSQL data, Dagster home, logs); default ./.aura",
    "AURA_WAREHOUSE_URL": "external PostgreSQL 14+ with pgvector; unset = embedded server",
    "AURA_PG_DATA": "embedded server data folder; default $AURA_HOME/pgdata",
    "AURA_PG_PORT": "embedded server TCP port on 127.0.0.1; default 54329",
    "AURA_DAGSTER_PG_URL": "Dagster run/event/schedule storage; default database 'dagster' there",
    "AURA_DATA_DIR": "landing zone and demo files; default ./data",
    "AURA_ODOO_URL": "Odoo PostgreSQL database (read-only); unset: not configured",
    "AURA_APN_URL": "APN PostgreSQL database (read-only); unset: not configured",
    "AURA_MONGO_URL": "MongoDB (invoices, documents), or mongomock:///<folder>; unset: none",
    "AURA_DEMO": "1 = sources left unset read the demo's stand-ins (aura demo sets it)",
    "AURA_EMBEDDING_MODEL": "'all-MiniLM-L6-v2' (bundled, offline), 'BAAI/bge-m3' or a model path",
    "AURA_EMBEDDING_BATCH_SIZE": "texts per model call; default 64",
    "AURA_HNSW_EF_SEARCH": "pgvector hnsw.ef_search for queries; default 100",
    "AURA_SCHEDULE_CRON": "cron of the nightly main-job schedule; default '0 2 * * *'",
    "AURA_SCHEDULE_TIMEZONE": "time zone of that schedule; default UTC",
    "AURA_ALERT_WEBHOOK": "http(s) URL that gets a short JSON POST per failed run; unset = none",
    "AURA_DEBUG": "set to 1 to see full tracebacks from the aura CLI",
    "AURA_ENV_FILE": "the .env aura writes for plain dagster and dg; default ./.env; empty = none",
    "AURA_EXECUTOR": "how a run executes its steps: in_process (default), multiprocess or celery",
    "AURA_CELERY_BROKER_URL": "Celery broker (Redis) for AURA_EXECUTOR=celery; default local :6379",
    "AURA_CELERY_BACKEND_URL": "Celery result backend; default the broker URL",
    "AURA_CELERY_VISIBILITY_TIMEOUT": "seconds before a killed worker's step goes to another; 3600",
    "AURA_EMBEDDING_QUEUE": "Celery queue of the embedding steps (GPU workers); default dagster",
    "AURA_EMBEDDING_NODE_SELECTOR": "Kubernetes node selector of embedding step pods, 'k=v,...'",
}

Executor = Literal["in_process", "multiprocess", "celery"]
EXECUTORS: tuple[Executor, ...] = get_args(Executor)
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_CELERY_QUEUE = "dagster"  # dagster-celery's own default queue

EMBEDDED_USER = "aura"
WAREHOUSE_DB = "aura"
DAGSTER_DB = "dagster"
ODOO_DEMO_DB = "odoo_demo"
APN_DEMO_DB = "apn_demo"


class SourceNotConfigured(KeyError):
    """A source's environment variable is unset, and this is not the demo."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable)
        self.variable = variable

    def __str__(self) -> str:
        return (
            f"not configured: environment variable {self.variable} is not set (set it to the "
            "source, or run the demo with `aura demo` / AURA_DEMO=1)"
        )


def mask_url(url: str) -> str:
    """Replace the password in a connection URL with ``***`` so it can be printed or logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc[1]}"))


def mask_secrets(text: str, secrets: list[str]) -> str:
    """``text`` with every secret masked: URLs lose their password, plain secrets vanish."""
    for secret in filter(None, secrets):
        if "://" not in secret:
            text = text.replace(secret, "***")
            continue
        password = urlsplit(secret).password
        text = text.replace(secret, mask_url(secret))
        if password:
            text = text.replace(password, "***")
    return text


def _executor(name: str) -> Executor:
    """The executor named by AURA_EXECUTOR; a typo fails loudly rather than running in-process."""
    if name not in EXECUTORS:
        raise ValueError(f"AURA_EXECUTOR={name!r}: expected one of {', '.join(EXECUTORS)}")
    return cast(Executor, name)


def _flag(name: str, text: str) -> bool:
    """A yes/no variable; anything but the usual spellings fails loudly, naming the variable."""
    value = text.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={text!r}: expected 1 or 0")


def _int(env: dict[str, str], name: str, default: int) -> int:
    """A whole-number variable; a bad value names the variable, not only the literal."""
    text = env.get(name) or str(default)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a whole number") from None


def _pairs(text: str) -> dict[str, str]:
    """``key=value,key=value`` as a mapping (a Kubernetes node selector in one variable)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"expected key=value,key=value, got {text!r}")
    return {key.strip(): value.strip() for key, value in pairs}


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@dataclass(frozen=True)
class Settings:
    """What Aura needs to know about its environment; build with ``Settings.from_env()``."""

    home: Path
    external_warehouse_url: str | None
    pg_data: Path
    pg_port: int
    dagster_pg_url_override: str | None
    data_dir: Path
    odoo_url_override: str | None
    apn_url_override: str | None
    mongo_url_override: str | None
    embedding_model: str
    embedding_batch_size: int
    hnsw_ef_search: int
    alert_webhook: str | None = None
    env_file: Path | None = PROJECT_ROOT / ".env"
    executor: Executor = "in_process"
    celery_broker_url: str = DEFAULT_CELERY_BROKER
    celery_backend_url: str = DEFAULT_CELERY_BROKER
    celery_visibility_timeout: int = 3600
    embedding_queue: str = DEFAULT_CELERY_QUEUE
    embedding_node_selector: dict[str, str] = field(default_factory=dict)
    demo: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        home = Path(e.get("AURA_HOME") or PROJECT_ROOT / ".aura").resolve()
        broker = e.get("AURA_CELERY_BROKER_URL") or DEFAULT_CELERY_BROKER
        return cls(
            home=home,
            external_warehouse_url=e.get("AURA_WAREHOUSE_URL") or None,
            pg_data=Path(e.get("AURA_PG_DATA") or home / "pgdata").resolve(),
            pg_port=_int(e, "AURA_PG_PORT", 54329),
            dagster_pg_url_override=e.get("AURA_DAGSTER_PG_URL") or None,
            data_dir=Path(e.get("AURA_DATA_DIR") or PROJECT_ROOT / "data").resolve(),
            odoo_url_override=e.get("AURA_ODOO_URL") or None,
            apn_url_override=e.get("AURA_APN_URL") or None,
            mongo_url_override=e.get("AURA_MONGO_URL") or None,
            embedding_model=e.get("AURA_EMBEDDING_MODEL") or "all-MiniLM-L6-v2",
            embedding_batch_size=_int(e, "AURA_EMBEDDING_BATCH_SIZE", 64),
            hnsw_ef_search=_int(e, "AURA_HNSW_EF_SEARCH", 100),
            alert_webhook=e.get("AURA_ALERT_WEBHOOK") or None,
            env_file=(
                PROJECT_ROOT / ".env"
                if "AURA_ENV_FILE" not in e
                else Path(e["AURA_ENV_FILE"]).resolve()
                if e["AURA_ENV_FILE"]
                else None
            ),
            executor=_executor(e.get("AURA_EXECUTOR") or "in_process"),
            celery_broker_url=broker,
            celery_backend_url=e.get("AURA_CELERY_BACKEND_URL") or broker,
            celery_visibility_timeout=_int(e, "AURA_CELERY_VISIBILITY_TIMEOUT", 3600),
            embedding_queue=e.get("AURA_EMBEDDING_QUEUE") or DEFAULT_CELERY_QUEUE,
            embedding_node_selector=_pairs(e.get("AURA_EMBEDDING_NODE_SELECTOR") or ""),
            demo=_flag("AURA_DEMO", e.get("AURA_DEMO") or ""),
        )

    @property
    def embedded(self) -> bool:
        return self.external_warehouse_url is None

    @property
    def warehouse_url(self) -> str:
        if self.external_warehouse_url:
            return self.external_warehouse_url
        return f"postgresql://{EMBEDDED_USER}@127.0.0.1:{self.pg_port}/{WAREHOUSE_DB}"

    def database_url(self, database: str) -> str:
        """Another database on the warehouse server (Dagster storage, demo sources)."""
        return with_database(self.warehouse_url, database)

    @property
    def dagster_pg_url(self) -> str:
        return self.dagster_pg_url_override or self.database_url(DAGSTER_DB)

    @property
    def odoo_url(self) -> str | None:
        return self.odoo_url_override or self._demo_standin(self.database_url(ODOO_DEMO_DB))

    @property
    def apn_url(self) -> str | None:
        return self.apn_url_override or self._demo_standin(self.database_url(APN_DEMO_DB))

    @property
    def mongo_url(self) -> str | None:
        folder = self.demo_dir / "mongo"
        return self.mongo_url_override or self._demo_standin(f"mongomock://{folder}")

    def _demo_standin(self, url: str) -> str | None:
        """Where the demo keeps a source, but only while the demo is what is being run."""
        return url if self.demo else None

    def source_url(self, connection_env: str) -> str:
        """URL of a source named by its environment variable (the demo's only with AURA_DEMO).

        Raises:
            SourceNotConfigured: The variable is unset and this is not the demo.
        """
        standins = {
            "AURA_ODOO_URL": self.odoo_url,
            "AURA_APN_URL": self.apn_url,
            "AURA_MONGO_URL": self.mongo_url,
        }
        value = os.environ.get(connection_env) or standins.get(connection_env)
        if not value:
            raise SourceNotConfigured(connection_env)
        return value

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    def subprocess_env(self) -> dict[str, str]:
        """Environment for dbt, Dagster and GX child processes: this one plus ``derived_env``."""
        return {**os.environ, **self.derived_env()}

    def derived_env(self) -> dict[str, str]:
        """The variables dbt and Dagster read, derived from these settings.

        dbt's profiles.yml and dagster.yaml read only environment variables, so the URL we
        resolved here is handed down as its parts.
        """
        wh = urlsplit(self.warehouse_url)
        env = {
            "AURA_HOME": str(self.home),
            "AURA_DATA_DIR": str(self.data_dir),
            "DAGSTER_HOME": str(self.dagster_home),
            "AURA_DAGSTER_PG_URL": self.dagster_pg_url,
            "AURA_DBT_HOST": wh.hostname or "127.0.0.1",
            "AURA_DBT_PORT": str(wh.port or 5432),
            "AURA_DBT_USER": wh.username or EMBEDDED_USER,
            "AURA_DBT_PASSWORD": wh.password or "",
            "AURA_DBT_DATABASE": wh.path.lstrip("/") or WAREHOUSE_DB,
        }
        if self.embedded:
            env["AURA_PG_PORT"] = str(self.pg_port)
        if self.demo:
            env["AURA_DEMO"] = "1"
        if self.executor == "celery":  # the workers and the run's executor meet on one broker
            env["AURA_CELERY_BROKER_URL"] = self.celery_broker_url
            env["AURA_CELERY_BACKEND_URL"] = self.celery_backend_url
        return env
