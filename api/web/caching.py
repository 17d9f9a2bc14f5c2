"""No copy of a staff answer is kept by a browser or a proxy (S7): `Cache-Control: no-store`.

Answers with patient data (patients, courses, sessions and their clinical records,
reminders, restrictions and aftercare, FHIR, the handout, calendar feeds read with a
key, the audit trail…) must not stay in the cache of a front-desk browser that the next
person uses, nor in a proxy's. Which answers hold patient data grows with every
feature, so the rule is the simple one: every answer to a request that carries an API
key is `no-store`, whatever its route said. Clients still revalidate with `ETag` and
`If-None-Match` from their own copies. Answers without a key (health checks, the docs,
a feed by its secret URL) set their own.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_KEY_HEADERS = (b"authorization", b"x-api-key")


class NoStoreForKeys:
    """ASGI middleware: `Cache-Control: no-store` on every answer to a request made with an API key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(name in _KEY_HEADERS for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        await self.app(scope, receive, send_no_store)
