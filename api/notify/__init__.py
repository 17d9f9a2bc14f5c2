"""Delivery channels for reminders (R22): the dispatcher renders a Message and hands it to one.

    channels = channels_from(settings)          # once per dispatch pass
    try:
        delivered = channels[message.channel].send(message)
    except DeliveryError as error:               # error.permanent: fail now, else retry (R20)
        ...                                      # store error.detail as last_error; never log it

"email" is SMTP, or the log with no PROLO_SMTP_HOST; "sms" is the signed webhook, or
the log with no PROLO_SMS_WEBHOOK_URL; "log" is always the log. `outbox` reminders
are not delivered by a channel: they wait for front-desk software to acknowledge them.
"""

from collections.abc import Mapping
from types import MappingProxyType

from api.notify.log import LogChannel
from api.notify.message import Channel, Delivered, DeliveryError, Message
from api.notify.sms import ChannelConfigError, WebhookSmsChannel
from api.notify.smtp import SMTPS_PORT, SmtpChannel, SmtpSecurity
from api.settings import Settings

__all__ = [
    "Channel",
    "ChannelConfigError",
    "Delivered",
    "DeliveryError",
    "LogChannel",
    "Message",
    "SmtpChannel",
    "SmtpSecurity",
    "WebhookSmsChannel",
    "channels_from",
]


def smtp_security(settings: Settings) -> SmtpSecurity:
    """Port 465 is implicit TLS (SMTPS); elsewhere STARTTLS unless PROLO_SMTP_STARTTLS is false."""
    if settings.smtp_port == SMTPS_PORT:
        return SmtpSecurity.implicit
    return SmtpSecurity.starttls if settings.smtp_starttls else SmtpSecurity.none


def channels_from(settings: Settings) -> Mapping[str, Channel]:
    """The channels by name; ChannelConfigError when a webhook URL has no secret (or is no http(s) URL)."""
    log = LogChannel()
    email: Channel = log
    sms: Channel = log
    if settings.smtp_host:
        email = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=smtp_security(settings),
        )
    if settings.sms_webhook_url:
        sms = WebhookSmsChannel(url=settings.sms_webhook_url, secret=settings.sms_webhook_secret)
    return MappingProxyType({"email": email, "sms": sms, "log": log})
