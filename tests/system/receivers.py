"""Real local receivers for the delivery channels: an SMTP server and an SMS webhook, both on 127.0.0.1.

Context managers, so any test (channels, dispatcher) can start one for a block:

    with smtp_receiver() as smtp:            # aiosmtpd in a thread; smtp.mails, smtp.refuse(...)
        ...
    with webhook_receiver("secret") as hook: # http.server in a thread; hook.deliveries, hook.reply(...)
        ...

Both record what arrived and can be told to refuse. `self_signed_tls(dir)` makes a
certificate for 127.0.0.1 with the `openssl` command (failing the test without it;
`cryptography` is not a dependency).
"""

import hashlib
import hmac
import json
import shutil
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import ShortInExamples
from tests.system.conftest import free_port

HOST = "127.0.0.1"


# --- TLS ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this certificate alone."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_tls(directory: Path) -> TlsFiles:
    """A throwaway certificate for 127.0.0.1 (and localhost), made with the `openssl` command."""
    openssl = shutil.which("openssl")
    if openssl is None:  # never a silent skip: `make test` installs it (scripts/test-tools)
        pytest.fail("TLS tests need the `openssl` command for a test certificate: run scripts/test-tools")
    files = TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(files.key), "-out", str(files.cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return files


# --- SMTP --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes  # as it came over the wire
    tls: bool  # the DATA arrived over TLS (STARTTLS or implicit)


@dataclass
class SmtpRecorder:
    """The aiosmtpd handler: records each message; answers RCPT for the addresses in `refusals` with their reply."""

    refusals: dict[str, str] = field(default_factory=dict)
    mails: list[ReceivedMail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            refusal = self.refusals.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = cast(bytes, envelope.original_content or envelope.content)
        transport = server.transport
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=message_from_bytes(content, policy=policy.default),
            raw=content,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
        )
        with self.lock:
            self.mails.append(mail)
        return "250 Message accepted for delivery"


@dataclass
class SmtpReceiver:
    host: str
    port: int
    recorder: SmtpRecorder

    @property
    def mails(self) -> list[ReceivedMail]:
        with self.recorder.lock:
            return list(self.recorder.mails)

    @property
    def logins(self) -> list[str]:
        with self.recorder.lock:
            return list(self.recorder.logins)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        with self.recorder.lock:
            self.recorder.refusals[address] = reply


@contextmanager
def smtp_receiver(
    *,
    port: int | None = None,
    tls: TlsFiles | None = None,
    implicit_tls: bool = False,
    require_starttls: bool = False,
    credentials: tuple[str, str] | None = None,
) -> Iterator[SmtpReceiver]:
    """An aiosmtpd server on 127.0.0.1 (`port`, or a free one).

    `tls` offers STARTTLS (or, with `implicit_tls`, speaks TLS from the first byte);
    `credentials` offers AUTH and accepts only that login (over TLS when there is TLS).
    """
    recorder = SmtpRecorder()

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        login = data.login.decode() if isinstance(data, LoginPassword) else ""
        ok = isinstance(data, LoginPassword) and credentials == (login, data.password.decode())
        if ok:
            with recorder.lock:
                recorder.logins.append(login)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 235/535 reply

    options: dict[str, Any] = {"server_hostname": "prolo-test-smtp"}
    if tls and implicit_tls:
        options["ssl_context"] = tls.server_context()
    elif tls:
        options.update(tls_context=tls.server_context(), require_starttls=require_starttls)
    if credentials:
        options.update(authenticator=authenticate, auth_require_tls=tls is not None)
    for attempt in range(3):
        chosen = port or free_port()
        controller = Controller(recorder, hostname=HOST, port=chosen, **options)
        try:
            controller.start()
        except Exception as error:
            controller.stop(no_assert=True)
            controller.loop.close()
            if isinstance(error, OSError) and port is None and attempt < 2:
                continue  # lost the free port to someone else: try another
            raise
        try:
            yield SmtpReceiver(host=HOST, port=chosen, recorder=recorder)
        finally:
            controller.stop()
        return


# --- SMS webhook -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A scripted answer of the webhook receiver."""

    status: int = 200
    body: bytes | Mapping[str, Any] | list[Any] | None = None  # None: {"id": "sms-<n>"} on 2xx, {} otherwise
    delay: float = 0.0  # seconds before answering (cut short when the receiver stops)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookRequest:
    headers: dict[str, str]
    raw: bytes
    signature_ok: bool
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class WebhookReceiver(ShortInExamples):
    """Checks `Prolo-Signature` against the raw body; answers scripted replies, then 200 with an id."""

    secret: str
    url: str = ""
    # what it received is kept out of repr: a failing property test prints its fixtures
    script: deque[Reply] = field(default_factory=deque, repr=False)
    requests: list[WebhookRequest] = field(default_factory=list, repr=False)
    deliveries: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # accepted payloads by Idempotency-Key
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reply(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        with self.lock:
            self.script.extend(replies)

    def signature_ok(self, raw: bytes, header: str | None) -> bool:
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        return header is not None and hmac.compare_digest(expected, header)

    def answer(self, headers: dict[str, str], raw: bytes) -> tuple[Reply, bytes]:
        """Decide the reply to one request and record it."""
        signed = self.signature_ok(raw, headers.get("Prolo-Signature"))
        with self.lock:
            if not signed:
                reply = Reply(401, {"error": "bad signature"})
            else:
                reply = self.script.popleft() if self.script else Reply()
            self.requests.append(WebhookRequest(headers=headers, raw=raw, signature_ok=signed, status=reply.status))
            if signed and 200 <= reply.status < 300:
                self.deliveries.setdefault(headers.get("Idempotency-Key", ""), []).append(json.loads(raw))
            body = reply.body
            if body is None:
                body = {"id": f"sms-{len(self.requests)}"} if 200 <= reply.status < 300 else {}
        return reply, body if isinstance(body, bytes) else json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply, body = receiver.answer(dict(self.headers.items()), raw)
        if reply.delay:
            receiver.stopping.wait(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up waiting (a timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives the test
    receiver: WebhookReceiver


@contextmanager
def webhook_receiver(secret: str, *, replies: tuple[Reply, ...] = ()) -> Iterator[WebhookReceiver]:
    """An SMS webhook on 127.0.0.1 (a free port), verifying signatures made with `secret`."""
    receiver = WebhookReceiver(secret=secret, script=deque(replies))
    server = _Server((HOST, 0), _Handler)
    server.receiver = receiver
    receiver.url = f"http://{HOST}:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
