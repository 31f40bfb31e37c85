from django.urls import path

from .consumers import ImagesConsumer

websocket_urlpatterns = [
    path("ws/images/", ImagesConsumer.as_asgi()),
]
