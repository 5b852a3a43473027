"""Sockets and wire formats: the OTLP gRPC and HTTP receivers and the Prometheus poller.
Turns bytes into ``model`` types; never imports the views."""
