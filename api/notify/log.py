"""The development channel, and the only log lines a channel writes.

With no SMTP host or webhook URL, email and SMS are "delivered" here at dispatch
time (R22): one INFO line on the `prolo.reminders` logger. It is the only place
that prints message text (S7), so a developer can read what a patient would get.
Contact data (`to`) is left out even here, and so is a patient link's token (R23). Every other line a channel writes —
failures, on `prolo.notify` — names the reminder, the channel and the error class only.
"""

import logging

from api.notify.message import Delivered, DeliveryError, Message
from scheduling.links import without_tokens

REMINDER_LOGGER = "prolo.reminders"
DIAGNOSTIC_LOGGER = "prolo.notify"


class LogChannel:
    """Writes the message to the `prolo.reminders` log; always delivers."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(REMINDER_LOGGER)

    def send(self, message: Message) -> Delivered:
        # %r keeps the text on one line, whatever newlines it holds
        self.logger.info(
            "reminder %s kind=%s channel=%s key=%s delivered to the log: subject=%r body=%r",
            message.reminder_id,
            message.kind,
            message.channel,
            message.idempotency_key,
            None if message.subject is None else without_tokens(message.subject),
            without_tokens(message.body),  # a patient link opens the patient's page: never logged (R23)
        )
        return Delivered(provider_id=f"log:{message.idempotency_key}")


def log_failure(message: Message, channel: str, error: DeliveryError) -> None:
    """One WARNING line about a failed delivery: ids and the error class, never `detail` (it may quote text)."""
    logging.getLogger(DIAGNOSTIC_LOGGER).warning(
        "reminder %s via %s not delivered (%s): %s",
        message.reminder_id,
        channel,
        "permanent" if error.permanent else "temporary",
        error.error_class,
    )
