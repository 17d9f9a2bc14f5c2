"""The application factory: `create_app(settings)` builds the API around one engine."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.metadata import version

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from api.notify import channels_from
from api.notify.sms import ChannelConfigError
from api.services.clinic import ensure_clinic
from api.services.links import load_keys
from api.settings import Settings, get_settings
from api.store import actors
from api.store.admission import Admission
from api.store.db import make_engine
from api.store.freshness import AnswerCache
from api.store.unit_of_work import writing
from api.web.auth import KeyCache
from api.web.caching import NoStoreForKeys
from api.web.day_view import DayViewFromMemory
from api.web.deps import utc_now
from api.web.guard import InputGuard
from api.web.problems import install_problem_handlers
from api.web.routes import ROUTERS, inbound

DESCRIPTION = """
Prolo plans and keeps prolotherapy treatment courses: a whole course of sessions
about 14 days apart in one call, inside opening and working hours, around closures,
time off and other bookings.

**Authorize** with an API key (the first admin key is printed when the service first
starts; make more with `prolo api-keys create` or `POST /v1/api-keys`).
Times: `start`/`end` are UTC; `start_local` is the clinic's wall-clock time.
Errors are RFC 9457 problem details.
"""

TAGS = [
    {"name": "courses", "description": "Plan and book whole treatment courses."},
    {"name": "sessions", "description": "The day view and single sessions."},
    {"name": "patients", "description": "Patients: register, find, change, archive."},
    {"name": "practitioners", "description": "Practitioners, their working hours, time off and free slots."},
    {"name": "protocols", "description": "Course templates and their aftercare rules."},
    {"name": "clinic", "description": "Opening hours, slot grid, closures and public holidays (admins write)."},
    {
        "name": "calendar feeds",
        "description": "Calendars for patients' and practitioners' phones: a secret URL, no key needed.",
    },
    {
        "name": "patient links",
        "description": "Links in patients' messages: a page to confirm, cancel or move a session; revocation.",
    },
    {"name": "reminders", "description": "What will go out, what went and why not; dispatch passes; the outbox."},
    {
        "name": "waitlist",
        "description": "Patients waiting for an earlier time; freed time offered where the whole course stays valid.",
    },
    {"name": "inbound SMS", "description": "Patients' text replies, what Prolo made of them, and SMS opt-outs."},
    {"name": "api keys", "description": "Keys and roles (admins only)."},
    {"name": "audit", "description": "Who changed what, when, from what: the audit trail and its sync feed (admins)."},
    {"name": "health", "description": "Liveness and readiness, no key needed."},
]


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """Build the API; the database must be migrated already (`prolo serve` does it)."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)

    day_view_cache = AnswerCache(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with writing(engine, actor=actors.SERVER, action="start") as uow:
            ensure_clinic(uow=uow, settings=settings)
            app.state.link_keys = load_keys(uow=uow, settings=settings, now=clock())
        # Turns for this event loop (asyncio primitives belong to the loop that first waits on them).
        app.state.admission = Admission.for_engine(engine)
        app.state.admission.fit_thread_limiter()
        await day_view_cache.open()
        yield
        day_view_cache.close()

    app: FastAPI = FastAPIOffline(
        title="Prolo",
        version=version("prolo"),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # the key stays in the browser's local storage only when the clinic asks for it: front-desk PCs are shared
        swagger_ui_parameters={
            "persistAuthorization": settings.docs_persist_authorization,
            "displayRequestDuration": True,
        },
        favicon_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    app.state.channels = channels_from(settings)
    app.state.day_view_cache = day_view_cache
    install_problem_handlers(app)
    app.add_middleware(DayViewFromMemory)  # the innermost: the guard and no-store apply to its answers too
    app.add_middleware(NoStoreForKeys)
    app.add_middleware(InputGuard)
    for router in ROUTERS:
        app.include_router(router)
    if settings.inbound_sms_provider is not None:  # R29: the endpoint exists only for a configured provider
        problem = inbound.inbound_config_error(settings)
        if problem is not None:
            raise ChannelConfigError(problem)
        app.include_router(inbound.webhook)
    return app
