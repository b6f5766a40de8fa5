"""Websocket routes (the live issue adds logs, stats and events consumers here)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
