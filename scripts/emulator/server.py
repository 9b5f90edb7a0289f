#!/usr/bin/env python3
"""gameday's local AWS emulator: moto's server hosted in-process, plus two adapters.

What it is
    A small WSGI program that hosts moto's server application (the same app `moto_server`
    runs) on werkzeug's threaded server, wrapped in one middleware that adds:

    1. A CloudWatch Smithy RPCv2-CBOR -> JSON transcoder. The current Rust
       `aws-sdk-cloudwatch` speaks RPCv2 CBOR
       (`POST /service/GraniteServiceVersion20100801/operation/<Op>`,
       `smithy-protocol: rpc-v2-cbor`); moto only serves CloudWatch over its JSON/query
       protocols. We decode the CBOR request, forward it to moto as an awsJson1.0 request
       (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`) and encode moto's JSON answer
       back to CBOR, typed by botocore's CloudWatch service model.
    2. EMULATOR-ONLY endpoints under `/_gameday/` (health, log seeding, reset). They do
       not exist in AWS; nothing in gameday's production code path may depend on them.

    Everything else (FIS, CloudWatch Logs, STS, EventBridge Scheduler, `/moto-api/...`)
    goes to moto unchanged.

Input
    Command line: `--host` (default 127.0.0.1), `--port` (default 4566, 0 = pick a free
    port), `--exit-on-stdin-eof`, `--verbose`.

Output
    Exactly one line on stdout once the socket is listening: `http://HOST:PORT`
    (HOST is 127.0.0.1 when bound to 127.0.0.1, 0.0.0.0, localhost or ""). Logs go to
    stderr only (quiet unless `--verbose`).

What it must not do
    Talk to real AWS, persist anything to disk, or change moto's behaviour for requests
    that are not RPCv2-CBOR CloudWatch calls or `/_gameday/` calls.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import io
import json
import logging
import math
import os
import signal
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import Any

LOG = logging.getLogger("gameday.emulator")

CW_SERVICE = "GraniteServiceVersion20100801"
CW_CBOR_PREFIX = f"/service/{CW_SERVICE}/operation/"
CW_SMITHY_NAMESPACE = "com.amazonaws.cloudwatch"
CBOR_CONTENT_TYPE = "application/cbor"
AMZ_JSON_10 = "application/x-amz-json-1.0"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
GAMEDAY_PREFIX = "/_gameday/"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# ---------------------------------------------------------------------------
# Shape-directed value conversion (botocore CloudWatch model)
# ---------------------------------------------------------------------------


class CloudWatchModel:
    """CloudWatch operation and error shapes from botocore's bundled service model."""

    def __init__(self) -> None:
        import botocore.session

        self.service = botocore.session.get_session().get_service_model("cloudwatch")
        self.operations = set(self.service.operation_names)
        self.error_shapes: dict[str, Any] = {shape.name: shape for shape in self.service.error_shapes}

    def operation(self, name: str) -> Any:
        return self.service.operation_model(name)


def _epoch_seconds(value: Any) -> float:
    """A timestamp value (datetime, number or ISO string) as float epoch seconds."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, bool):
        raise ValueError(f"boolean is not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            text = value.replace("Z", "+00:00")
            parsed = dt.datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
            return parsed.timestamp()
    raise ValueError(f"not a timestamp: {value!r}")


def _json_number(value: float) -> float | int:
    """JSON cannot carry NaN/Infinity; moto would choke on them anyway."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("non-finite number cannot be sent to the JSON protocol")
    return value


def cbor_to_json(value: Any, shape: Any) -> Any:
    """Turn a decoded CBOR request value into its awsJson1.0 equivalent.

    Timestamps (CBOR tag 1, decoded by cbor2 into datetime, or plain numbers in
    timestamp-typed members) become epoch seconds; blobs become base64 text. Values
    without a known shape are converted generically (datetime -> epoch seconds).
    """
    import cbor2

    if isinstance(value, cbor2.CBORTag):
        value = value.value
    if value is None:
        return None
    type_name = getattr(shape, "type_name", None)
    if type_name == "structure":
        members = shape.members
        out = {}
        for key, item in value.items():
            converted = cbor_to_json(item, members.get(key))
            if converted is not None:
                out[key] = converted
        return out
    if type_name == "list":
        return [cbor_to_json(item, shape.member) for item in value]
    if type_name == "map":
        return {str(k): cbor_to_json(v, shape.value) for k, v in value.items()}
    if type_name == "timestamp":
        return _json_number(_epoch_seconds(value))
    if type_name == "blob":
        raw = value if isinstance(value, (bytes, bytearray)) else str(value).encode()
        return base64.b64encode(bytes(raw)).decode("ascii")
    return _generic_to_json(value)


def _generic_to_json(value: Any) -> Any:
    import cbor2

    if isinstance(value, cbor2.CBORTag):
        return _generic_to_json(value.value)
    if isinstance(value, dt.datetime):
        return _epoch_seconds(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _generic_to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_generic_to_json(v) for v in value]
    if isinstance(value, float):
        return _json_number(value)
    return value


def json_to_cbor(value: Any, shape: Any) -> Any:
    """Turn a JSON response value into what the RPCv2-CBOR SDKs expect for `shape`.

    timestamp -> CBOR tag 1 over float epoch seconds; double/float -> float (the Rust
    decoder rejects integers there); integer/long -> int; boolean -> bool; blob ->
    bytes (JSON carries base64). Nulls in structures are dropped. Unknown members
    are kept as they are.
    """
    import cbor2

    if value is None:
        return None
    type_name = getattr(shape, "type_name", None)
    if type_name == "structure":
        if not isinstance(value, dict):
            return value
        members = shape.members
        out = {}
        for key, item in value.items():
            converted = json_to_cbor(item, members.get(key))
            if converted is not None:
                out[key] = converted
        return out
    if type_name == "list":
        return [json_to_cbor(item, shape.member) for item in value]
    if type_name == "map":
        return {k: json_to_cbor(v, shape.value) for k, v in value.items()}
    if type_name == "timestamp":
        return cbor2.CBORTag(1, _epoch_seconds(value))
    if type_name in ("double", "float"):
        return float(value)
    if type_name in ("integer", "long", "short", "byte"):
        return int(value)
    if type_name == "boolean":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if type_name == "blob":
        if isinstance(value, str):
            return base64.b64decode(value)
        return bytes(value)
    if type_name == "string" and not isinstance(value, str):
        return value if isinstance(value, (dict, list)) else str(value)
    return value


def dedupe_metrics(metrics: list[Any]) -> list[Any]:
    """Drop repeated (Namespace, MetricName, Dimensions) entries from ListMetrics.

    moto 5.2.5 lists a metric with two or more dimensions (or none) once per stored
    datapoint (its `are_dimensions_same` compares every dimension with every other);
    AWS lists each metric once. First occurrence wins, order is kept.
    """
    seen: set[Any] = set()
    out = []
    for metric in metrics:
        if not isinstance(metric, dict):
            out.append(metric)
            continue
        dims = tuple(sorted(
            (str(d.get("Name")), str(d.get("Value")))
            for d in metric.get("Dimensions") or [] if isinstance(d, dict)
        ))
        key = (metric.get("Namespace"), metric.get("MetricName"), dims)
        if key in seen:
            continue
        seen.add(key)
        out.append(metric)
    return out


# ---------------------------------------------------------------------------
# WSGI plumbing
# ---------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    from werkzeug.wrappers import Request

    return Request(environ).get_data(cache=False)


def _decode_content_encoding(body: bytes, encoding: str) -> bytes:
    """Undo `Content-Encoding` (the SDK gzips PutMetricData bodies of 10 KiB and more)."""
    for token in reversed([t.strip().lower() for t in encoding.split(",") if t.strip()]):
        if token in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif token == "deflate":
            body = zlib.decompress(body)
        elif token != "identity":
            raise ValueError(f"unsupported Content-Encoding {token!r}")
    return body


def _call_inner(
    app: WsgiApp, environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion; return (status, headers, body)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = status
        captured["headers"] = headers
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status = int(str(captured.get("status", "500")).split(" ", 1)[0])
    return status, list(captured.get("headers", [])), body


def _respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]],
) -> list[bytes]:
    from werkzeug.http import HTTP_STATUS_CODES

    reason = HTTP_STATUS_CODES.get(status, "Unknown")
    all_headers = [*headers, ("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", all_headers)
    return [body]


def _json_response(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode("utf-8")
    return _respond(start_response, status, body, [("Content-Type", "application/json")])


class GamedayEmulator:
    """WSGI middleware in front of moto (see module docs)."""

    def __init__(self, moto_app: WsgiApp) -> None:
        self.moto_app = moto_app
        self.cw = CloudWatchModel()
        self.seed_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith(GAMEDAY_PREFIX):
            return self.gameday_endpoint(method, path, environ, start_response)
        if method == "POST" and path.startswith(CW_CBOR_PREFIX):
            return self.cloudwatch_cbor(path[len(CW_CBOR_PREFIX):], environ, start_response)
        return self.moto_app(environ, start_response)

    # -- CloudWatch RPCv2 CBOR -> JSON -------------------------------------------------

    def cloudwatch_cbor(
        self, operation: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        import cbor2

        operation = operation.strip("/")
        if operation not in self.cw.operations:
            return self._cbor_error(
                start_response, 404, "UnknownOperationException", None,
                f"unknown CloudWatch operation {operation!r}",
            )
        op_model = self.cw.operation(operation)
        raw = _read_body(environ)
        try:
            raw = _decode_content_encoding(raw, environ.get("HTTP_CONTENT_ENCODING", ""))
            decoded = cbor2.loads(raw) if raw else {}
            if decoded is None:
                decoded = {}
            if not isinstance(decoded, dict):
                raise ValueError("request body is not a CBOR map")
            payload = cbor_to_json(decoded, op_model.input_shape) if op_model.input_shape else {}
        except (ValueError, TypeError, AttributeError, OSError, EOFError, zlib.error,
                cbor2.CBORDecodeError) as err:
            return self._cbor_error(start_response, 400, "SerializationException", None, str(err))

        body = json.dumps(payload).encode("utf-8")
        inner = dict(environ)
        for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT", "HTTP_CONTENT_ENCODING",
                    "HTTP_TRANSFER_ENCODING", "HTTP_X_AMZ_CONTENT_SHA256"):
            inner.pop(key, None)
        inner.update({
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "CONTENT_TYPE": AMZ_JSON_10,
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_AMZ_TARGET": f"{CW_SERVICE}.{operation}",
            "wsgi.input": io.BytesIO(body),
        })
        status, headers, resp_body = _call_inner(self.moto_app, inner)
        request_id = _header(headers, "x-amzn-requestid")
        extra = [("x-amzn-requestid", request_id)] if request_id else []

        if status >= 300:
            return self._moto_error_to_cbor(start_response, status, headers, resp_body, extra)

        try:
            parsed = json.loads(resp_body) if resp_body.strip() else {}
        except ValueError:
            return self._cbor_error(
                start_response, 500, "InternalFailure", None,
                f"emulator: moto answered {operation} with a non-JSON body",
                extra,
            )
        if operation == "ListMetrics" and isinstance(parsed, dict):
            parsed["Metrics"] = dedupe_metrics(parsed.get("Metrics") or [])
        if op_model.output_shape is None:
            # Operation with no output: an empty body is what the protocol specifies.
            out = b""
        else:
            try:
                out = cbor2.dumps(json_to_cbor(parsed or {}, op_model.output_shape))
            except (ValueError, TypeError, AttributeError) as err:
                LOG.exception("cannot transcode moto's %s answer", operation)
                return self._cbor_error(
                    start_response, 500, "InternalFailure", None,
                    f"emulator: cannot transcode moto's {operation} answer: {err}", extra,
                )
        return _respond(start_response, status, out, [
            ("Content-Type", CBOR_CONTENT_TYPE),
            ("smithy-protocol", "rpc-v2-cbor"),
            *extra,
        ])

    def _moto_error_to_cbor(
        self,
        start_response: StartResponse,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        extra: list[tuple[str, str]],
    ) -> list[bytes]:
        """moto's awsJson1.0 error -> RPCv2 CBOR error.

        moto sends `{"__type": "GraniteServiceVersion20100801#<ShapeName>", "message": ...}`
        plus `x-amzn-query-error: <awsQueryCode>;Sender|Receiver`. The SDK takes `.code()`
        from that header (CloudWatch is awsQueryCompatible), so it is passed on as is.
        """
        shape_name = None
        code = None
        fault = None
        message = ""
        query_error = _header(headers, "x-amzn-query-error")
        if query_error and ";" in query_error:
            code, fault = query_error.split(";", 1)
        try:
            parsed = json.loads(body) if body.strip() else {}
        except ValueError:
            parsed = {}
            message = body.decode("utf-8", "replace")[:2000]
        if isinstance(parsed, dict):
            type_field = parsed.get("__type") or parsed.get("code") or parsed.get("Code")
            if type_field:
                shape_name = _sanitize_error_code(str(type_field))
            message = parsed.get("message") or parsed.get("Message") or message
        if not shape_name:
            errortype = _header(headers, "x-amzn-errortype")
            if errortype:
                shape_name = _sanitize_error_code(errortype)
        if not shape_name:
            shape_name = code or ("InternalFailure" if status >= 500 else "UnknownError")
        return self._cbor_error(start_response, status, shape_name, code, message, extra, fault)

    def _cbor_error(
        self,
        start_response: StartResponse,
        status: int,
        shape_name: str,
        code: str | None,
        message: str,
        extra: list[tuple[str, str]] | None = None,
        fault: str | None = None,
    ) -> list[bytes]:
        """Send an RPCv2 CBOR error: body `{"__type", "message"}` + x-amzn-query-error.

        `shape_name` is the Smithy error shape (namespaced in `__type` when the model knows
        it); `code` is the awsQuery error code (defaults to the shape's modeled code).
        """
        import cbor2

        shape = self.cw.error_shapes.get(shape_name)
        if shape is not None:
            type_name = f"{CW_SMITHY_NAMESPACE}#{shape.name}"
            modeled_code = (shape.metadata.get("error") or {}).get("code", shape.name)
        else:
            type_name = shape_name
            modeled_code = shape_name
        code = code or modeled_code
        if fault is None:
            fault = "Receiver" if status >= 500 else "Sender"
        body = cbor2.dumps({"__type": type_name, "message": message or shape_name})
        return _respond(start_response, status, body, [
            ("Content-Type", CBOR_CONTENT_TYPE),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-query-error", f"{code};{fault}"),
            *(extra or []),
        ])

    # -- EMULATOR ONLY: /_gameday/ ----------------------------------------------------

    def gameday_endpoint(
        self, method: str, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        """EMULATOR ONLY endpoints. AWS has nothing like them."""
        route = path[len(GAMEDAY_PREFIX):].strip("/")
        if route == "health" and method in ("GET", "HEAD"):
            import moto

            return _json_response(start_response, 200, {
                "status": "ok", "emulator": "gameday-local-aws", "moto": moto.__version__,
            })
        if route == "logs/seed" and method == "POST":
            try:
                request = json.loads(_read_body(environ) or b"null")
                result = self.seed_logs(request)
            except SeedError as err:
                return _json_response(start_response, 400, {"error": str(err)})
            except ValueError as err:
                return _json_response(start_response, 400, {"error": f"invalid JSON body: {err}"})
            return _json_response(start_response, 200, result)
        if route == "reset" and method == "POST":
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            return _json_response(start_response, 200, {"status": "ok"})
        return _json_response(start_response, 404, {
            "error": f"no emulator endpoint {method} {path}",
            "endpoints": ["GET /_gameday/health", "POST /_gameday/logs/seed", "POST /_gameday/reset"],
        })

    def seed_logs(self, request: Any) -> dict[str, Any]:
        """EMULATOR ONLY: write events straight into moto's CloudWatch Logs store.

        Bypasses PutLogEvents' 14-day / +2-hour acceptance window so long histories can
        be seeded. Creates the group and stream if missing. Events keep the stream sorted
        by timestamp (what GetLogEvents/FilterLogEvents/Insights see). Each event's
        ingestionTime is its own timestamp unless the event gives `ingestionTime`.
        """
        from moto.logs.models import LogEvent, logs_backends

        if not isinstance(request, dict):
            raise SeedError("body must be a JSON object")
        region = request.get("region") or DEFAULT_REGION
        account_id = str(request.get("accountId") or DEFAULT_ACCOUNT_ID)
        group_name = request.get("logGroupName")
        stream_name = request.get("logStreamName")
        events = request.get("events")
        for field, value in (("region", region), ("logGroupName", group_name), ("logStreamName", stream_name)):
            if not isinstance(value, str) or not value:
                raise SeedError(f"{field} must be a non-empty string")
        if not isinstance(events, list):
            raise SeedError("events must be a list")
        checked: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise SeedError(f"events[{index}] must be an object")
            ts = event.get("timestamp")
            msg = event.get("message")
            ingestion = event.get("ingestionTime", ts)
            if isinstance(ts, bool) or not isinstance(ts, int):
                raise SeedError(f"events[{index}].timestamp must be an integer (epoch ms)")
            if isinstance(ingestion, bool) or not isinstance(ingestion, int):
                raise SeedError(f"events[{index}].ingestionTime must be an integer (epoch ms)")
            if not isinstance(msg, str) or not msg:
                raise SeedError(f"events[{index}].message must be a non-empty string")
            checked.append({"timestamp": ts, "message": msg, "ingestionTime": ingestion})

        with self.seed_lock:
            backend = logs_backends[account_id][region]
            created_group = group_name not in backend.groups
            if created_group:
                backend.create_log_group(group_name, {})
            group = backend.groups[group_name]
            created_stream = stream_name not in group.streams
            if created_stream:
                group.create_log_stream(stream_name)
            stream = group.streams[stream_name]
            checked.sort(key=lambda e: e["timestamp"])
            new_events = [LogEvent(e["ingestionTime"], e) for e in checked]
            if new_events:
                stream.events.extend(new_events)
                # timsort: near-linear when the stream was already sorted
                stream.events.sort(key=lambda e: e.timestamp)
                stream.stored_bytes += sum(len(e["message"].encode("utf-8")) for e in checked)
                stream.last_ingestion_time = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                stream.upload_sequence_token += 1
            return {
                "logGroupName": group_name,
                "logStreamName": stream_name,
                "region": region,
                "accountId": account_id,
                "inserted": len(new_events),
                "storedEvents": len(stream.events),
                "createdLogGroup": created_group,
                "createdLogStream": created_stream,
            }


class SeedError(ValueError):
    """A malformed /_gameday/logs/seed request (answered with HTTP 400)."""


def _sanitize_error_code(value: str) -> str:
    """`ns#Name:http://...` -> `Name` (what the Smithy SDKs do with `__type`)."""
    return value.split(":", 1)[0].split("#")[-1]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _install_fast_get_metric_data() -> None:
    """Replace moto's CloudWatch GetMetricData with an equivalent that scales.

    moto 5.2.5 scans every stored datapoint for every period bucket of every query
    (O(buckets x datapoints)): 30 days of 5-minute points takes minutes per call, far too slow
    for the steady-state tests and the demo. This version filters each query's datapoints once
    (namespace, name, dimensions, unit — moto ignored the namespace when dimensions were given,
    AWS does not), sorts them, and walks the buckets in one pass. Buckets, statistics, labels,
    ordering and metric-math handling are moto's own; Metrics Insights (`SELECT …`) queries go
    to moto's original code unchanged.
    """
    from datetime import timedelta

    from moto.cloudwatch import models as cw
    from moto.cloudwatch.exceptions import ValidationError
    from moto.cloudwatch.metric_data_expression_parser import parse_expression

    original = cw.CloudWatchBackend.get_metric_data

    def get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):  # type: ignore[no-untyped-def]
        if any("Expression" in q and q["Expression"].startswith("SELECT") for q in queries):
            return original(self, queries, start_time, end_time, scan_by)
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time > end_time:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if start_time == end_time:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        period_data = [md for md in self.get_all_metrics() if start_time <= md.timestamp < end_time]
        results: list[dict[str, Any]] = []
        to_return: list[dict[str, Any]] = []
        for query in (q for q in queries if "MetricStat" in q):
            stat_q = query["MetricStat"]
            metric = stat_q["Metric"]
            ns, name = metric["Namespace"], metric["MetricName"]
            dims = sorted(cw.Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", []))
            unit = stat_q.get("Unit")
            stat = stat_q["Stat"]
            delta = timedelta(seconds=int(stat_q["Period"]))
            points = sorted(
                (
                    md
                    for md in period_data
                    if md.namespace == ns
                    and md.name == name
                    and (not dims or sorted(md.dimensions) == dims)
                    and (not unit or md.unit == unit)
                ),
                key=lambda md: md.timestamp,
            )
            values: list[Any] = []
            stamps: list[Any] = []
            i = 0
            bucket = start_time
            while bucket <= end_time and i < len(points):
                bucket_end = bucket + delta
                while i < len(points) and points[i].timestamp < bucket:
                    i += 1
                j = i
                while j < len(points) and points[j].timestamp < bucket_end:
                    j += 1
                if j > i:
                    stats = cw.Statistics([stat], bucket)
                    stats.metric_data = points[i:j]
                    value = stats.get_statistics_for_type(stat)
                    if value is None:
                        value = _percentile(stat, stats.metric_single_values_list)
                    if value is not None:
                        values.append(value)
                        stamps.append(stats.timestamp)
                i = j
                bucket = bucket_end
            if scan_by == "TimestampDescending":
                values.reverse()
                stamps.reverse()
            entry = {
                "id": query["Id"],
                "label": query.get("Label") or f"{name} {stat}",
                "values": values,
                "timestamps": stamps,
                "status_code": "Complete",
            }
            results.append(entry)
            if query.get("ReturnData", True):
                to_return.append(dict(entry))
        for query in (q for q in queries if "Expression" in q):
            values, stamps = _metric_math(query["Expression"], results, parse_expression)
            to_return.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or query["Id"],
                    "values": values,
                    "timestamps": stamps,
                    "status_code": "Complete",
                }
            )
        return to_return

    cw.CloudWatchBackend.get_metric_data = get_metric_data




def _percentile(stat: str, values: list[float]) -> float | None:
    """`pNN` / `pNN.N` over raw datapoints (nearest rank), which moto does not compute.
    Other extended statistics (trimmed means …) stay unsupported: no datapoint."""
    import math
    import re

    m = re.fullmatch(r"p(\d{1,2}(?:\.\d+)?|100)", stat)
    if not m or not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(float(m.group(1)) / 100 * len(ordered)))
    return float(ordered[rank - 1])

def _metric_math(expression: str, results: list[dict[str, Any]], fallback: Any) -> tuple[list[Any], list[Any]]:
    """Arithmetic metric math (`100 * errors / requests`): ids, numbers, + - * / and
    parentheses, evaluated per timestamp where every referenced series has a value (as
    CloudWatch does; a division by zero yields no datapoint). Anything else (functions such
    as `FILL`, `METRICS()`) goes to moto's parser, which only resolves a bare id."""
    import ast

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return fallback(expression, results)
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant,
               ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)
    if not all(isinstance(n, allowed) for n in ast.walk(tree)):
        return fallback(expression, results)
    by_id = {r["id"]: dict(zip(r["timestamps"], r["values"])) for r in results}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not names <= by_id.keys():
        return fallback(expression, results)
    if not names:
        return [], []
    stamps = sorted(set.intersection(*(set(by_id[n]) for n in names)))

    def ev(node: Any, at: Any) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body, at)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return float(by_id[node.id][at])
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, at)
            return -v if isinstance(node.op, ast.USub) else v
        left, right = ev(node.left, at), ev(node.right, at)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left / right

    values, kept = [], []
    for at in stamps:
        try:
            values.append(ev(tree, at))
            kept.append(at)
        except ZeroDivisionError:
            continue
    return values, kept

def build_app() -> GamedayEmulator:
    """moto's dispatcher app (as `moto_server` builds it) wrapped in our middleware."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    _install_fast_get_metric_data()
    return GamedayEmulator(DomainDispatcherApplication(create_backend_app))


def _watch_stdin(stop: Callable[[], None]) -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    LOG.info("stdin closed; shutting down")
    stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gameday local AWS emulator (moto + CBOR adapter)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port to bind; 0 picks a free port (default 4566)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin is closed (for test harnesses that spawn us with a pipe)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(level)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    app = build_app()
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_port
    # moto uses MOTO_PORT when it has to call itself (e.g. some cross-service features).
    os.environ["MOTO_PORT"] = str(port)

    stopping = threading.Event()

    def stop() -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()

    shown_host = "127.0.0.1" if args.host in ("127.0.0.1", "0.0.0.0", "localhost", "") else args.host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    sys.stdout.write(f"http://{shown_host}:{port}\n")
    sys.stdout.flush()
    # The URL is the only stdout line. moto print()s the odd diagnostic; send those to
    # stderr so a parent that stopped reading our stdout pipe never breaks a request.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    LOG.info("serving on %s:%d", args.host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
