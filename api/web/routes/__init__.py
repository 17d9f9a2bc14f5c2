"""HTTP routes, one module per resource. Routes parse, call one use case, return a schema."""

from api.web.routes import (
    api_keys,
    audit,
    clinic,
    courses,
    exports,
    feeds,
    patients,
    practitioners,
    protocols,
    reminders,
    sessions,
    system,
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
    reminders.router,
    feeds.router,
    api_keys.router,
    audit.router,
)
