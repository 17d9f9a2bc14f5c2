"""The ASGI app uvicorn serves: `uvicorn api.main:app` (settings from the environment)."""

from api.web.app import create_app

app = create_app()
