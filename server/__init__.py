"""vecdb's REST server: a thin FastAPI app over the library."""
from .app import ROUTERS, create_app
from .settings import Settings

__all__ = ["create_app", "Settings", "ROUTERS"]
