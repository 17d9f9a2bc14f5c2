"""Who changes things, for the audit trail (SPEC S7): every writer names itself as `{id, name, role}`.

A write is opened with one of these (api/store/unit_of_work.py); there is no default.

- an API key: :func:`api_key` (its id, name and role);
- the `prolo` command line and the server's own start-up: :data:`COMMAND_LINE`, :data:`SERVER`;
- Prolo's automatic steps inside a dispatch pass: :func:`automatic`, in the name of whoever runs the
  pass (the dispatcher's key, or the command line);
- a patient acting through a link they were sent: :func:`patient_link` (the link's id);
- a patient's inbound SMS: :func:`patient_sms` (the message's id).
"""

import uuid

from models import Actor

COMMAND_LINE = Actor(id=None, name="prolo command line", role="cli")
SERVER = Actor(id=None, name="prolo server", role="server")  # what the server does by itself, at start-up


def api_key(key_id: uuid.UUID, name: str, role: str) -> Actor:
    """A staff member's or a system's API key."""
    return Actor(id=key_id, name=name, role=role)


def automatic(runner: Actor) -> Actor:
    """A step Prolo takes by itself inside a dispatch pass, in the name of the pass's runner (R23–R45)."""
    return Actor(id=runner.id, name=f"{runner.name} (automatic step)", role=runner.role)


def patient_link(link_id: uuid.UUID) -> Actor:
    """A patient acting through the link Prolo sent them (R23–R30): acts only on what the link names."""
    return Actor(id=link_id, name="patient link", role="patient_link")


def patient_sms(message_id: uuid.UUID) -> Actor:
    """A patient's inbound SMS (R31–R34): acts only on what the message names."""
    return Actor(id=message_id, name="patient SMS", role="patient_sms")
