"""Bytes on the wire to decoded batches: protobuf, OTLP/JSON, gzip. Shared by gRPC and HTTP."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import json
import re
import time
import zlib
from collections.abc import Callable
from typing import Any, cast

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

_Request = (
    type[metrics_service_pb2.ExportMetricsServiceRequest]
    | type[logs_service_pb2.ExportLogsServiceRequest]
    | type[trace_service_pb2.ExportTraceServiceRequest]
)
_Response = (
    type[metrics_service_pb2.ExportMetricsServiceResponse]
    | type[logs_service_pb2.ExportLogsServiceResponse]
    | type[trace_service_pb2.ExportTraceServiceResponse]
)
REQUESTS: dict[str, _Request] = {
    METRICS: metrics_service_pb2.ExportMetricsServiceRequest,
    LOGS: logs_service_pb2.ExportLogsServiceRequest,
    TRACES: trace_service_pb2.ExportTraceServiceRequest,
}
RESPONSES: dict[str, _Response] = {
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


def gunzip(body: bytes, limit: int = MAX_BYTES, step: int = 1 << 20) -> bytes:
    """Inflate a gzip body without ever holding more than ``limit`` + ``step`` bytes (a gzip
    bomb stops here, not in the allocator). In ``step``-sized pieces: inflating 50 MiB in one
    call holds the GIL for ~150 ms, during which no other sender is served."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while not d.eof:
            part = d.decompress(data, step)
            stalled = not part and len(d.unconsumed_tail) == len(data)
            data = d.unconsumed_tail
            size += len(part)
            if size > limit:
                raise TooLarge(f"gzip body inflates past {limit} bytes")
            out.append(part)
            if stalled or (not part and not data):
                break
    except zlib.error as exc:
        raise BadPayload(f"gzip body does not inflate: {exc}") from None
    if not d.eof:
        raise BadPayload("gzip body is truncated")
    return b"".join(out)


_WS = re.compile(r"[ \t\n\r]*")
# The pattern matches the empty string, so its match() never returns None (typed so; a helper
# with an assert would cost a call per token in this hot loop).
_ws = cast(Callable[[str, int], re.Match[str]], _WS.match)
# scan_once is set by JSONDecoder.__init__; typeshed does not declare it.
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads_layered(body: bytes, layers: int = 6) -> Any:
    """``json.loads`` for a big OTLP/JSON body without holding the GIL for all of it (45 MiB:
    ~0.5 s in one C call). The outer ``layers`` of objects and arrays (request, resource
    entries, scope entries, the item arrays) are walked here; each value below them (one log
    record, span or metric) is parsed by json's C scanner, a few microseconds at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()  # 1 MiB at a time: 45 MiB at once is ~0.1 s
    text = "".join(
        [decoder.decode(body[i : i + SPLIT_BYTES]) for i in range(0, len(body), SPLIT_BYTES)]
        + [decoder.decode(b"", final=True)]
    )

    def fail(i: int) -> ValueError:
        return ValueError(f"invalid JSON at char {i}")

    def value(i: int, depth: int) -> tuple[Any, int]:
        i = _ws(text, i).end()
        c = text[i : i + 1]
        if depth and c == "{":
            obj: dict[str, Any] = {}
            i = _ws(text, i + 1).end()
            if text[i : i + 1] == "}":
                return obj, i + 1
            while True:
                if text[i : i + 1] != '"':
                    raise fail(i)
                key, i = scan(i)
                i = _ws(text, i).end()
                if text[i : i + 1] != ":":
                    raise fail(i)
                obj[key], i = value(i + 1, depth - 1)
                i = _ws(text, i).end()
                c = text[i : i + 1]
                if c == "}":
                    return obj, i + 1
                if c != ",":
                    raise fail(i)
                i = _ws(text, i + 1).end()
        if depth and c == "[":
            arr: list[Any] = []
            i = _ws(text, i + 1).end()
            if text[i : i + 1] == "]":
                return arr, i + 1
            while True:
                item, i = value(i, depth - 1)
                arr.append(item)
                i = _ws(text, i).end()
                c = text[i : i + 1]
                if c == "]":
                    return arr, i + 1
                if c != ",":
                    raise fail(i)
                i += 1
        return scan(i)

    def scan(i: int) -> tuple[Any, int]:
        try:
            return _SCAN(text, i)
        except StopIteration:
            raise fail(i) from None

    doc, end = value(0, layers)
    if _ws(text, end).end() != len(text):
        raise fail(end)
    return doc


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
            doc = json.loads(body) if len(body) <= SPLIT_BYTES else loads_layered(body)
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
    if not json_body and len(body) > SPLIT_BYTES:
        try:
            pieces = split_request(body)
        except _NoSplit:
            pass
        else:
            return _decode_pieces(signal, pieces, max_items)
    req = parse(signal, body, json_body=json_body)
    _check_items(signal, count_items(signal, req), max_items)
    return to_batch(signal, req)


def _check_items(signal: str, n: int, max_items: int) -> None:
    if n > max_items:
        raise TooLarge(
            f"{n} {_ITEM_NAMES[signal]} in one request is over the limit of {max_items}; send smaller batches"
        )


# -- big protobuf requests, decoded in pieces --------------------------------------------------
# The protobuf parser holds the GIL for the whole message: 200-300 ms for 50 MiB, during which
# no other sender is served. Every OTLP request has the same shape (request -> resource
# entries -> scope entries -> items), so a big one is cut, on the wire, into requests of
# about SPLIT_BYTES that each carry their resource and scope and a run of the items; each
# parses in milliseconds, and their batches, in order, are the request's batch.

SPLIT_BYTES = 1 << 20


class _NoSplit(Exception):
    """Not the shape we cut (unknown fields, groups): parse it whole."""


def _read_varint(buf: memoryview, i: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= end or shift > 63:
            raise _NoSplit()
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _fields(buf: memoryview, start: int, end: int):
    """(field number, field start, value start, value end) of each field in buf[start:end]."""
    i = start
    while i < end:
        field_start = i
        tag, i = _read_varint(buf, i, end)
        wire = tag & 7
        if wire == 2:
            n, i = _read_varint(buf, i, end)
            value_start, i = i, i + n
        elif wire == 0:
            value_start = i
            _, i = _read_varint(buf, i, end)
        elif wire == 1:
            value_start, i = i, i + 8
        elif wire == 5:
            value_start, i = i, i + 4
        else:
            raise _NoSplit()
        if i > end:
            raise _NoSplit()
        yield tag >> 3, wire, field_start, value_start, i


def _wrap(field_no: int, payload: bytes) -> bytes:
    return _varint(field_no << 3 | 2) + _varint(len(payload)) + payload


def split_request(body: bytes, target: int = SPLIT_BYTES) -> list[bytes]:
    """A protobuf Export*ServiceRequest as smaller requests with the same content, in order."""
    buf = memoryview(body)
    pieces: list[bytes] = []
    for no, wire, _, vs, ve in _fields(buf, 0, len(buf)):
        if no != 1 or wire != 2:
            raise _NoSplit()
        head = bytearray()  # the resource entry without its scope entries
        scopes = []
        for no2, wire2, fs2, vs2, ve2 in _fields(buf, vs, ve):
            if no2 == 2 and wire2 == 2:
                scopes.append((vs2, ve2))
            else:
                head += buf[fs2:ve2]
        if not scopes:
            pieces.append(_wrap(1, bytes(head)))
        for ss, se in scopes:
            scope_head = bytearray()
            items: list[memoryview] = []
            for no3, wire3, fs3, _, ve3 in _fields(buf, ss, se):
                if no3 == 2 and wire3 == 2:
                    items.append(buf[fs3:ve3])
                else:
                    scope_head += buf[fs3:ve3]
            group: list[memoryview] = []
            size = 0
            for item in items + [None]:
                if item is None or (group and size + len(item) > target):
                    if group or item is None:
                        scope = bytes(scope_head) + b"".join(group)
                        pieces.append(_wrap(1, bytes(head) + _wrap(2, scope)))
                    group, size = [], 0
                if item is not None:
                    group.append(item)
                    size += len(item)
    return pieces


def _decode_pieces(signal: str, pieces: list[bytes], max_items: int) -> Batch:
    seen = 0
    out: Batch | None = None
    for piece in pieces:
        req = parse(signal, piece)
        seen += count_items(signal, req)
        _check_items(signal, seen, max_items)
        out = _merge(out, to_batch(signal, req))
    return out if out is not None else to_batch(signal, REQUESTS[signal]())


def _merge(a: Batch | None, b: Batch) -> Batch:
    """``b`` appended to ``a``: list fields concatenated, counters added (whatever the fields)."""
    if a is None:
        return b
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, list):
            x.extend(y)
        elif isinstance(x, int) and not isinstance(x, bool):
            setattr(a, f.name, x + y)
        elif isinstance(x, str) and not x:
            setattr(a, f.name, y)  # e.g. the first reason a point was refused
    return a


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


_REJECTED_FIELD = {METRICS: "rejected_data_points", LOGS: "rejected_log_records", TRACES: "rejected_spans"}


def response_for(signal: str, batch: Batch) -> Any:
    """The Export*ServiceResponse for a stored export: empty, or OTLP partial success when
    part of it was refused (a counting rule) or is of a kind ccmon does not use."""
    resp = RESPONSES[signal]()
    refused = batch.rejected + batch.skipped
    if refused:
        why = batch.reason or (
            f"{batch.skipped} data point(s) of a kind ccmon does not use (summary, exponential histogram)"
        )
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
