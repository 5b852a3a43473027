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


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping reads bytes as
    base64 and would silently produce wrong ids. Rewrite them before parsing."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                if not _HEX_RE.match(v):
                    raise BadPayload(f"{k} is not hex: {v[:40]!r}")
                node[k] = base64.b64encode(bytes.fromhex(v)).decode()
            elif isinstance(v, (dict, list)):
                _hex_ids_to_base64(v)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                _hex_ids_to_base64(v)
    return node


def parse(signal: str, body: bytes, *, json_body: bool = False) -> Any:
    """Bytes to an Export*ServiceRequest message, or BadPayload saying why not."""
    cls = REQUESTS[signal]
    if json_body:
        try:
            doc = json.loads(body)
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


def decode(signal: str, body: bytes, *, json_body: bool = False) -> Batch:
    req = parse(signal, body, json_body=json_body)
    return to_batch(signal, req)


def to_batch(signal: str, req: Any) -> Batch:
    try:
        if signal == LOGS:
            return otlp.decode_logs(req, time.time_ns())
        return otlp.DECODERS[signal](req)
    except otlp.DecodeError as exc:
        raise BadPayload(str(exc)) from None


_REJECTED_FIELD = {METRICS: "rejected_data_points", LOGS: "rejected_log_records", TRACES: "rejected_spans"}


def response_for(signal: str, batch: Batch) -> Any:
    """The Export*ServiceResponse for a stored export: empty, or OTLP partial success when
    part of it was refused (a counting rule) or is of a kind ccmon does not use."""
    resp = RESPONSES[signal]()
    refused = batch.rejected + batch.skipped
    if refused:
        why = batch.reason or f"{batch.skipped} data point(s) of a kind ccmon does not use (summary, exponential histogram)"
        if batch.rejected and batch.skipped:
            why += f"; and {batch.skipped} of a kind ccmon does not use"
        setattr(resp.partial_success, _REJECTED_FIELD[signal], refused)
        resp.partial_success.error_message = " ".join(why.split())[:300]  # one line
    return resp


def response_body(signal: str, batch: Batch, *, json_body: bool) -> bytes:
    """``response_for`` as OTLP/HTTP sends it: protobuf bytes, or OTLP/JSON."""
    resp = response_for(signal, batch)
    if json_body:
        return json_format.MessageToJson(resp, indent=None).encode() if resp.HasField("partial_success") else b"{}"
    return resp.SerializeToString()


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
