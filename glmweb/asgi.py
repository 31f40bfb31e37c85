"""HTTP and WebSocket entry point, served by Daphne."""
import gc
import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmweb.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.routing import websocket_urlpatterns as chat_sockets  # noqa: E402
from images.routing import websocket_urlpatterns as image_sockets  # noqa: E402
from glmweb.request_log import SocketLogContext  # noqa: E402
from chat.shutdown import register_with_daphne  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(SocketLogContext(URLRouter(chat_sockets + image_sockets)))
        ),
    }
)

# Replies being written when the server is told to stop finish or are saved as interrupted.
register_with_daphne()

# Every database call runs on Django's one sync thread, which gives up the GIL inside each
# query and must then win it back from the event loop. While the loop is busy relaying
# replies, CPython hands it over only after the switch interval (5 ms by default): ten queries
# to store a message could wait 50 ms. A shorter interval bounds that wait; the loop pays a
# few more handovers.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005
sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)

# Python's cyclic garbage collector stops the whole process while it walks every object it
# tracks. With hundreds of sockets open, a full collection walked all of Django, Channels and
# Twisted as well, for 200-300 ms at a time (a second of Daphne's CPU per 500 replies, and
# every reply frozen meanwhile). What was loaded to serve is kept for the process's life:
# frozen, the collector never walks it again; and the young generation is collected after
# 50,000 new objects instead of 700, so the short-lived frames and events of a busy relay are
# mostly freed by reference counting before any walk sees them.
GC_YOUNG_THRESHOLD = 50_000
gc.freeze()
gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
