"""Bytes on the wire to decoded batches: protobuf, OTLP/JSON, gzip. Shared by gRPC and HTTP."""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ..model import otlp
from ..model.types import LOGS, METRICS, TRACES, Batch

MAX_BYTES = 64 * 1024 * 1024  # the same limit for a gRPC message and an (inflated) HTTP body
# Items (log records, spans, metric data points) in one request. The OTel SDKs send at most
# 512 per batch (a Collector 8,192); each decoded item costs ~1-2 KB of Python objects, so
# this also caps what one request can make ccmon hold (HTTP 413 / RESOURCE_EXHAUSTED past it).
MAX_ITEMS = 50_000
# OTLP/JSON is ~10 levels deep (a kvlist inside an array value adds 3 a level); anything past
# this is an attack on the parser, answered 400 before it can exhaust the stack.
MAX_JSON_DEPTH = 64

REQUESTS = {
    METRICS: metrics_service_pb2.ExportMetricsServiceRequest,
    LOGS: logs_service_pb2.ExportLogsServiceRequest,
    TRACES: trace_service_pb2.ExportTraceServiceRequest,
}
RESPONSES = {
    METRICS: metrics_service_pb2.ExportMetricsServiceResponse,
    LOGS: logs_service_pb2.ExportLogsServiceResponse,
    TRACES: trace_service_pb2.ExportTraceServiceResponse,
}

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_HEX_RE = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")


class BadPayload(ValueError):
    """The client sent something that is not a valid export (HTTP 400, gRPC INVALID_ARGUMENT)."""


class TooLarge(ValueError):
    """Past ``MAX_BYTES`` (HTTP 413, gRPC RESOURCE_EXHAUSTED)."""


def gunzip(body: bytes, limit: int = MAX_BYTES) -> bytes:
    """Inflate a gzip body without ever holding more than ``limit`` + 1 bytes (a gzip bomb
    stops here, not in the allocator)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadPayload(f"gzip body does not inflate: {exc}") from None
    if len(out) > limit:
        raise TooLarge(f"gzip body inflates past {limit} bytes")
    if not d.eof:
        raise BadPayload("gzip body is truncated")
    return out


def _hex_ids_to_base64(root: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping reads bytes as
    base64 and would silently produce wrong ids. Rewrite them before parsing. Iterative, and
    refuses nesting past ``MAX_JSON_DEPTH``: the walk, and protobuf's parser after it, recurse."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadPayload(f"OTLP/JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for k, v in node.items():
                if k in _ID_KEYS and isinstance(v, str):
                    if not _HEX_RE.match(v):
                        raise BadPayload(f"{k} is not hex: {v[:40]!r}")
                    node[k] = base64.b64encode(bytes.fromhex(v)).decode()
                elif isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        else:
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return root


def parse(signal: str, body: bytes, *, json_body: bool = False) -> Any:
    """Bytes to an Export*ServiceRequest message, or BadPayload saying why not."""
    cls = REQUESTS[signal]
    if json_body:
        try:
            doc = json.loads(body)
        except RecursionError:  # json's C parser stops at the interpreter's recursion limit
            raise BadPayload(f"OTLP/JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadPayload(f"body is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise BadPayload("OTLP/JSON body must be an object")
        try:
            return json_format.ParseDict(_hex_ids_to_base64(doc), cls(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise BadPayload(f"not an OTLP/JSON {signal} export: {exc}") from None
    try:
        return cls.FromString(body)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise BadPayload(f"not a protobuf {signal} export: {exc or 'decode error'}") from None


_ITEM_NAMES = {LOGS: "log records", TRACES: "spans", METRICS: "metric data points"}


def count_items(signal: str, req: Any) -> int:
    """Log records, spans or data points in a parsed request (cheap: lengths, not items)."""
    if signal == LOGS:
        return sum(len(sl.log_records) for rl in req.resource_logs for sl in rl.scope_logs)
    if signal == TRACES:
        return sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    n = 0
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                if kind:
                    n += len(getattr(m, kind).data_points)
    return n


def decode(signal: str, body: bytes, *, json_body: bool = False, max_items: int = MAX_ITEMS) -> Batch:
    """Bytes to a Batch; BadPayload (400) or TooLarge (413) saying why not."""
    req = parse(signal, body, json_body=json_body)
    n = count_items(signal, req)
    if n > max_items:
        raise TooLarge(f"{n} {_ITEM_NAMES[signal]} in one request is over the limit of {max_items}; "
                       "send smaller batches")
    return to_batch(signal, req)


def gzip_size_hint(body: bytes) -> int:
    """What a gzip body says it inflates to (its ISIZE trailer), for reserving memory before
    inflating. Untrusted: ``gunzip``'s limit still holds whatever it claims."""
    return int.from_bytes(body[-4:], "little") if len(body) >= 18 else len(body)


def to_batch(signal: str, req: Any) -> Batch:
    try:
        if signal == LOGS:
            return otlp.decode_logs(req, time.time_ns())
        return otlp.DECODERS[signal](req)
    except otlp.DecodeError as exc:
        raise BadPayload(str(exc)) from None


def status_bytes(code: int, message: str) -> bytes:
    """``google.rpc.Status {int32 code = 1; string message = 2}``, encoded by hand: the
    googleapis protos are not among ccmon's dependencies for one two-field message."""
    msg = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(msg)) + msg


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
