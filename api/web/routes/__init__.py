"""HTTP routes, one module per resource. Routes parse, call one use case, return a schema."""

from api.web.routes import (
    api_keys,
    audit,
    calendars,
    clinic,
    courses,
    exports,
    inbound,
    links,
    patient_pages,
    patients,
    practitioners,
    protocols,
    reminders,
    sessions,
    system,
    waitlist,
)

ROUTERS = (
    system.router,
    clinic.router,
    practitioners.router,
    patients.router,
    protocols.router,
    courses.router,
    exports.router,
    sessions.router,
    links.router,
    reminders.router,
    inbound.router,
    waitlist.router,
    calendars.router,
    api_keys.router,
    audit.router,
    patient_pages.router,
)
# Routes that exist only when configured (create_app adds them): the provider's inbound SMS webhook (R29)
OPTIONAL_ROUTERS = (inbound.webhook,)
