"""The `prolo` command: serve, migrate, make API keys, fill a demo clinic."""

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
import uvicorn

from api.notify import channels_from
from api.services.api_keys import create_api_key, first_admin_key
from api.services.clinic import ensure_clinic
from api.services.dispatch import dispatch
from api.services.links import load_keys
from api.settings import get_settings
from api.store import actors
from api.store.db import make_engine
from api.store.migrate import upgrade
from api.store.unit_of_work import writing
from api.web.logs import log_config
from models import Role

app = typer.Typer(help="Prolo: treatment-course scheduler for prolotherapy clinics.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
reminders_app = typer.Typer(help="Reminders.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="api-keys")
app.add_typer(reminders_app, name="reminders")


def _now() -> datetime:
    return datetime.now(UTC)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Migrate the database, print the first admin key on a fresh one, then serve the API."""
    settings = get_settings()
    if settings.public_url is None and host not in _EVERY_INTERFACE:
        # R23: messages carry patient links only with a public origin; served on one address, it is that one
        # (workers read it from the environment, as they read every setting)
        os.environ["PROLO_PUBLIC_URL"] = origin(host, port)
        get_settings.cache_clear()
        settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with writing(engine, actor=actors.COMMAND_LINE, action="serve") as uow:
        ensure_clinic(uow=uow, settings=settings)  # before any worker starts: they would race to make it
        created = first_admin_key(uow=uow, now=_now())
    engine.dispose()
    if created is not None:
        print("First start: an admin API key was made. It is shown only now; store it safely.")
        where = docs_address(host, port, settings.public_url)
        print(f"Open {where}, press Authorize and paste it into the first box, HTTPBearer:")
        print(created.key, flush=True)
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        server_header=False,
        log_config=log_config(),
    )


def docs_address(host: str, port: int, public_url: str | None) -> str:
    """Where staff open Swagger UI: the public URL if set; an address one can open, not the one listened on."""
    if public_url:
        return public_url.rstrip("/") + "/docs"
    if host in _EVERY_INTERFACE:  # every interface, as in the Docker image: nobody can open 0.0.0.0
        return f"http://127.0.0.1:{port}/docs (from another machine: this host's address)"
    return origin(host, port) + "/docs"


_EVERY_INTERFACE = ("0.0.0.0", "::", "")


def origin(host: str, port: int) -> str:
    """The address one opens to reach a server listening on `host` and `port`."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the Alembic migrations up to the newest schema."""
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    engine.dispose()
    print("database is at the newest schema")


@keys_app.command("create")
def api_keys_create(
    role: Annotated[Role, typer.Option(help="admin, clinician, frontdesk or dispatcher")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
) -> None:
    """Make an API key; the key is printed alone on the last line."""
    engine = make_engine(get_settings().database_url)
    upgrade(engine)
    with writing(engine, actor=actors.COMMAND_LINE, action="api-keys create") as uow:
        created = create_api_key(uow=uow, name=name, role=role, now=_now())
    engine.dispose()
    print(f"{created.role} key {created.name!r} ({created.id}); it is shown only now:")
    print(created.key)


@reminders_app.command("dispatch")
def reminders_dispatch(
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many reminders in this pass")] = 500,
) -> None:
    """One dispatch pass (run it from cron every minute); prints a one-line summary."""
    settings = get_settings()
    try:
        channels = channels_from(settings)
        engine = make_engine(settings.database_url)
        lease = timedelta(seconds=settings.dispatch_lease_seconds)
        with writing(engine, actor=actors.COMMAND_LINE, action="reminders dispatch") as uow:
            keys = load_keys(uow=uow, settings=settings, now=_now())  # ended patient links are renewed (R23)
        summary = dispatch(
            engine=engine,
            channels=channels,
            clock=_now,
            limit=limit,
            lease=lease,
            actor=actors.COMMAND_LINE,
            link_keys=keys,
        )
        engine.dispose()
    except Exception as exc:  # the pass itself could not run: say why, exit non-zero for cron's mail
        print(f"dispatch failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc
    print(" ".join(f"{name}={value}" for name, value in summary.model_dump().items()))


@app.command()
def demo() -> None:
    """Fill an empty database with a demo clinic: two practitioners, a dozen patients, courses at every stage."""
    from api.demo import fill_demo  # only this command needs it

    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    summary = fill_demo(engine=engine, settings=settings, now=_now())
    print(summary)
    engine.dispose()
    if summary.startswith("Refused:"):
        raise typer.Exit(1)


def main() -> None:
    app()
