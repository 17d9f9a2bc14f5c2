"""HTTP routes, one module per resource. Routes parse, call one use case, return a schema."""

from api.web.routes import (
    api_keys,
    audit,
    clinic,
    courses,
    exports,
    feeds,
    links,
    patient_pages,
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
    links.router,
    reminders.router,
    feeds.router,
    api_keys.router,
    audit.router,
    patient_pages.router,
)
