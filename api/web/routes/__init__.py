"""HTTP routes, one module per resource. Routes parse, call one use case, return a schema."""

from api.web.routes import (
    api_keys,
    audit,
    clinic,
    courses,
    exports,
    feeds,
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

# A request is matched against the routers in this order: the day view, polled all day by every
# front desk, first (each router tried before it cost its polls a fifth of their time, measured).
ROUTERS = (
    sessions.router,
    system.router,
    clinic.router,
    practitioners.router,
    patients.router,
    protocols.router,
    courses.router,
    exports.router,
    links.router,
    reminders.router,
    inbound.router,
    feeds.router,
    waitlist.router,
    api_keys.router,
    audit.router,
    patient_pages.router,
)
# Routes that exist only when configured (create_app adds them): the provider's inbound SMS webhook (R29)
OPTIONAL_ROUTERS = (inbound.webhook,)
