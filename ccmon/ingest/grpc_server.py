"""OTLP/gRPC: the Metrics, Logs and Trace ``Export`` methods on grpc.aio.

Handlers take raw bytes (no request deserializer) so that a body that is not a valid export
is answered INVALID_ARGUMENT with a reason, instead of grpc's generic INTERNAL error.
The server must be created inside the running loop (grpc.aio binds to it).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

# gRPC core logs to stderr from C; under the dashboard that would scribble over the screen,
# and ccmon reports its own errors in one line. Must be set before grpc is first imported.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402

from ..model.types import LOGS, METRICS, TRACES
from .contract import Sink, StorageError
from .limits import IDLE_TIMEOUT_S, MAX_BYTES, Busy
from .payload import BadPayload, TooLarge, response_for
from .stats import GRPC, Via

SERVICES = {
    METRICS: "opentelemetry.proto.collector.metrics.v1.MetricsService",
    LOGS: "opentelemetry.proto.collector.logs.v1.LogsService",
    TRACES: "opentelemetry.proto.collector.trace.v1.TraceService",
}


INFO_SERVICE = "ccmon.v1.Info"  # who is listening, for `ccmon doctor` (JSON bytes, no proto)


def _info(receiver: Sink) -> grpc.RpcMethodHandler:
    async def get(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        import json

        return json.dumps(receiver.info()).encode()

    return grpc.unary_unary_rpc_method_handler(get)


def _export(receiver: Sink, signal: str) -> Callable[..., Any]:
    async def export(body: bytes, context: grpc.aio.ServicerContext) -> Any:
        metadata = dict(context.invocation_metadata() or ())
        via = Via(GRPC, len(body), str(metadata.get("user-agent", ""))[:200])
        if not receiver.security.authorized(metadata.get("authorization")):
            receiver.reject(signal, "no valid token (UNAUTHENTICATED)", via, "UNAUTHENTICATED")
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong token: send the metadata authorization: Bearer <token>",
            )
        try:
            async with receiver.budget.hold(len(body)):
                try:
                    batch = await receiver.decode(signal, body)
                except TooLarge as exc:
                    receiver.reject(signal, str(exc), via, "RESOURCE_EXHAUSTED")
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
                except BadPayload as exc:
                    receiver.reject(signal, str(exc), via, "INVALID_ARGUMENT")
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                del body
                try:
                    await receiver.accept(signal, batch, via)
                except StorageError as exc:  # UNAVAILABLE is retryable, so nothing is lost
                    await context.abort(grpc.StatusCode.UNAVAILABLE, f"ccmon could not store the export: {exc}")
        except Busy as exc:
            receiver.reject(signal, str(exc), via, "UNAVAILABLE")
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return response_for(signal, batch)

    return export


async def start_grpc(receiver: Sink, bind: str, port: int) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_BYTES),
            ("grpc.so_reuseport", 0),  # a second ccmon on the same port must fail, not share it
            ("grpc.max_connection_idle_ms", int(IDLE_TIMEOUT_S * 1000)),  # idle clients do not pile up
        ]
    )
    for signal, service in SERVICES.items():
        handler = grpc.unary_unary_rpc_method_handler(
            _export(receiver, signal),
            request_deserializer=None,
            response_serializer=lambda m: m.SerializeToString(),
        )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(INFO_SERVICE, {"Get": _info(receiver)}),))
    host = f"[{bind}]" if ":" in bind else bind
    _check_free(bind, port, host)
    tls = receiver.security
    try:
        if tls.tls_cert:
            with open(tls.tls_key or tls.tls_cert, "rb") as k, open(tls.tls_cert, "rb") as c:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            bound = server.add_secure_port(f"{host}:{port}", creds)
        else:
            bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port}")
    await server.start()
    return server, bound


def _check_free(bind: str, port: int, host: str) -> None:
    """grpc only says "failed to add port"; bind a plain socket first to give the real reason
    (address in use, not an address of this machine, ...)."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen for OTLP/gRPC on {host}:{port}: {exc.strerror}") from None
