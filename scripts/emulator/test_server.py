"""Tests for the gameday local AWS emulator (server.py).

Run from the repository root with the emulator's venv:

    .venv/bin/python -m unittest discover -s scripts/emulator -v

Each test class starts its own server.py on a free port (`--port 0 --exit-on-stdin-eof`)
and talks to it over HTTP: raw RPCv2-CBOR requests built the way the Rust SDK builds
them, boto3 for Logs/FIS (and for CloudWatch, which botocore also speaks as CBOR).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid
from typing import Any

import boto3
import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
REGION = "us-east-1"
CW_PATH = "/service/GraniteServiceVersion20100801/operation/"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/monitoring/aws4_request, "
    "SignedHeaders=content-type;host;smithy-protocol;x-amz-date, Signature=00"
)
MINUTE_MS = 60_000
DAY_MS = 86_400_000


def start_server(extra_args: list[str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Spawn server.py on a free port; return the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--port", "0", "--exit-on-stdin-eof", *(extra_args or [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready:
        proc.kill()
        raise RuntimeError("server.py printed no URL within 60 s")
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"unexpected first stdout line: {line!r}")
    return proc, line


def stop_server(proc: subprocess.Popen[bytes]) -> int:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


class EmulatorCase(unittest.TestCase):
    proc: subprocess.Popen[bytes]
    url: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.proc, cls.url = start_server()

    @classmethod
    def tearDownClass(cls) -> None:
        stop_server(cls.proc)
        if cls.proc.stdout is not None:
            cls.proc.stdout.close()

    # -- helpers ------------------------------------------------------------------

    def cbor_call(self, op: str, body: Any, raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
        """POST an RPCv2-CBOR request the way aws-sdk-cloudwatch does."""
        data = raw if raw is not None else cbor2.dumps(body)
        req = urllib.request.Request(
            f"{self.url}{CW_PATH}{op}",
            data=data,
            method="POST",
            headers={
                "smithy-protocol": "rpc-v2-cbor",
                "Content-Type": "application/cbor",
                "Accept": "application/cbor",
                "Authorization": AUTH,
                "X-Amz-Date": "20240101T000000Z",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, headers, payload = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, headers, payload = err.code, dict(err.headers), err.read()
        headers = {k.lower(): v for k, v in headers.items()}
        return status, headers, (cbor2.loads(payload) if payload else None)

    def http_json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="AKIDTEST",
            aws_secret_access_key="secret",
        )


def _ts(seconds: float) -> cbor2.CBORTag:
    return cbor2.CBORTag(1, float(seconds))


class CloudWatchCborTest(EmulatorCase):
    def test_put_and_get_metric_data_round_trip(self) -> None:
        ns = f"Test/{uuid.uuid4().hex[:8]}"
        base = (int(time.time()) // 60) * 60 - 600
        dims = [{"Name": "Service", "Value": ns}, {"Name": "Env", "Value": "t"}]
        status, headers, body = self.cbor_call("PutMetricData", {
            "Namespace": ns,
            "MetricData": [
                {"MetricName": "Errors", "Dimensions": dims, "Timestamp": _ts(base + i * 60 + 5),
                 "Value": float(i + 1), "Unit": "Count"}
                for i in range(3)
            ],
        })
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(headers["content-type"], "application/cbor")
        self.assertIsNone(body, "operation without output answers an empty body")

        status, headers, body = self.cbor_call("GetMetricData", {
            "MetricDataQueries": [
                {"Id": "m1", "MetricStat": {
                    "Metric": {"Namespace": ns, "MetricName": "Errors", "Dimensions": dims},
                    "Period": 60, "Stat": "Sum"}},
                {"Id": "e1", "Expression": "m1", "Label": "same"},
            ],
            "StartTime": _ts(base),
            "EndTime": _ts(base + 3600),
            "ScanBy": "TimestampAscending",
        })
        self.assertEqual(status, 200, body)
        results = {r["Id"]: r for r in body["MetricDataResults"]}
        m1 = results["m1"]
        want = [dt.datetime.fromtimestamp(base + i * 60, dt.timezone.utc) for i in range(3)]
        # cbor2 decodes tag 1 into datetime: proves timestamps went out as CBOR tag 1.
        self.assertEqual(m1["Timestamps"], want)
        self.assertEqual(m1["Values"], [1.0, 2.0, 3.0])
        self.assertTrue(all(isinstance(v, float) for v in m1["Values"]))
        self.assertEqual(m1["StatusCode"], "Complete")
        self.assertEqual(results["e1"]["Values"], [1.0, 2.0, 3.0])
        self.assertEqual(results["e1"]["Label"], "same")

        status, _, body = self.cbor_call("ListMetrics", {"Namespace": ns})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["Metrics"]), 1, "ListMetrics is de-duplicated")

    def test_metric_math_arithmetic(self) -> None:
        ns = f"Test/{uuid.uuid4().hex[:8]}"
        base = (int(time.time()) // 60) * 60 - 600
        data = []
        for i, (err, req) in enumerate([(1.0, 100.0), (5.0, 50.0), (0.0, 0.0)]):
            data.append({"MetricName": "Err", "Timestamp": _ts(base + i * 60), "Value": err})
            data.append({"MetricName": "Req", "Timestamp": _ts(base + i * 60), "Value": req})
        data.append({"MetricName": "Req", "Timestamp": _ts(base + 180), "Value": 10.0})
        status, _, body = self.cbor_call("PutMetricData", {"Namespace": ns, "MetricData": data})
        self.assertEqual(status, 200, body)
        stat = lambda name: {"Metric": {"Namespace": ns, "MetricName": name}, "Period": 60, "Stat": "Sum"}
        status, _, body = self.cbor_call("GetMetricData", {
            "MetricDataQueries": [
                {"Id": "errors", "MetricStat": stat("Err"), "ReturnData": False},
                {"Id": "requests", "MetricStat": stat("Req"), "ReturnData": False},
                {"Id": "rate", "Expression": "100 * errors / requests"},
                {"Id": "neg", "Expression": "-(errors - 1)"},
            ],
            "StartTime": _ts(base), "EndTime": _ts(base + 3600), "ScanBy": "TimestampAscending",
        })
        self.assertEqual(status, 200, body)
        results = {r["Id"]: r for r in body["MetricDataResults"]}
        self.assertEqual(set(results), {"rate", "neg"}, "hidden inputs are not returned")
        # 0/0 yields no datapoint; the minute with requests but no errors has no datapoint.
        self.assertEqual(results["rate"]["Values"], [1.0, 10.0])
        self.assertEqual(len(results["rate"]["Timestamps"]), 2)
        self.assertEqual(results["neg"]["Values"], [0.0, -4.0, 1.0])

    def test_percentile_statistics(self) -> None:
        ns = f"Test/{uuid.uuid4().hex[:8]}"
        base = (int(time.time()) // 60) * 60 - 600
        data = [{"MetricName": "Latency", "Timestamp": _ts(base + i), "Value": float(v)}
                for i, v in enumerate(range(1, 101))]
        status, _, body = self.cbor_call("PutMetricData", {"Namespace": ns, "MetricData": data})
        self.assertEqual(status, 200, body)
        metric = {"Namespace": ns, "MetricName": "Latency"}
        status, _, body = self.cbor_call("GetMetricData", {
            "MetricDataQueries": [
                {"Id": "p99", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p99"}},
                {"Id": "p50", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p50"}},
                {"Id": "tm", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "tm90"}},
            ],
            "StartTime": _ts(base), "EndTime": _ts(base + 600), "ScanBy": "TimestampAscending",
        })
        self.assertEqual(status, 200, body)
        results = {r["Id"]: r for r in body["MetricDataResults"]}
        # Minute buckets hold 1..60 and 61..100: nearest ranks 60 and 40.
        self.assertEqual(results["p99"]["Values"], [60.0, 100.0])
        self.assertEqual(results["p50"]["Values"], [30.0, 80.0])
        self.assertEqual(results["tm"]["Values"], [], "unsupported statistics yield no datapoint")

    def test_alarm_lifecycle(self) -> None:
        name = f"alarm-{uuid.uuid4().hex[:8]}"
        status, _, body = self.cbor_call("PutMetricAlarm", {
            "AlarmName": name, "Namespace": "Test/Alarm", "MetricName": "Errors",
            "Dimensions": [{"Name": "Service", "Value": "checkout"}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
            "Threshold": 10, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching", "Tags": [{"Key": "k", "Value": "v"}],
        })
        self.assertEqual(status, 200, body)

        status, _, body = self.cbor_call("DescribeAlarms", {"AlarmNames": [name]})
        self.assertEqual(status, 200, body)
        (alarm,) = body["MetricAlarms"]
        self.assertEqual(alarm["AlarmName"], name)
        self.assertIsInstance(alarm["Threshold"], float, "double members are CBOR floats")
        self.assertEqual(alarm["Threshold"], 10.0)
        self.assertIsInstance(alarm["Period"], int)
        self.assertEqual(alarm["DatapointsToAlarm"], 2)
        self.assertIsInstance(alarm["StateUpdatedTimestamp"], dt.datetime)
        self.assertIsInstance(alarm["AlarmConfigurationUpdatedTimestamp"], dt.datetime)
        self.assertLess(abs(alarm["StateUpdatedTimestamp"].timestamp() - time.time()), 600)

        status, _, body = self.cbor_call("SetAlarmState", {
            "AlarmName": name, "StateValue": "ALARM", "StateReason": "test trip"})
        self.assertEqual(status, 200, body)
        _, _, body = self.cbor_call("DescribeAlarms", {"AlarmNames": [name]})
        self.assertEqual(body["MetricAlarms"][0]["StateValue"], "ALARM")
        self.assertEqual(body["MetricAlarms"][0]["StateReason"], "test trip")

        status, _, body = self.cbor_call("DeleteAlarms", {"AlarmNames": [name]})
        self.assertEqual(status, 200, body)
        _, _, body = self.cbor_call("DescribeAlarms", {"AlarmNames": [name]})
        self.assertEqual(body["MetricAlarms"], [])

    def test_missing_alarm_error(self) -> None:
        status, headers, body = self.cbor_call("SetAlarmState", {
            "AlarmName": "does-not-exist", "StateValue": "ALARM", "StateReason": "x"})
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-amzn-query-error"], "ResourceNotFound;Sender")
        self.assertEqual(headers["content-type"], "application/cbor")
        self.assertEqual(body["__type"], "com.amazonaws.cloudwatch#ResourceNotFound")
        self.assertIsInstance(body["message"], str)

    def test_validation_error_uses_query_code(self) -> None:
        name = f"alarm-{uuid.uuid4().hex[:8]}"
        status, _, body = self.cbor_call("PutMetricAlarm", {
            "AlarmName": name, "Namespace": "Test/Alarm", "MetricName": "Errors", "Statistic": "Sum",
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold"})
        self.assertEqual(status, 200, body)
        status, headers, body = self.cbor_call("SetAlarmState", {
            "AlarmName": name, "StateValue": "BOGUS", "StateReason": "x"})
        self.assertEqual(status, 400)
        self.assertEqual(headers["x-amzn-query-error"], "ValidationError;Sender")
        self.assertEqual(body["__type"], "com.amazonaws.cloudwatch#ValidationException")

    def test_unknown_operation_and_bad_cbor(self) -> None:
        status, headers, body = self.cbor_call("NoSuchOperation", {})
        self.assertEqual(status, 404)
        self.assertEqual(body["__type"], "UnknownOperationException")
        status, _, body = self.cbor_call("GetMetricData", None, raw=b"\xff\x00")
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "SerializationException")

    def test_boto3_cloudwatch_speaks_cbor_through_adapter(self) -> None:
        cw = self.client("cloudwatch")
        self.assertEqual(cw.meta.service_model.protocol, "smithy-rpc-v2-cbor")
        ns = f"Boto/{uuid.uuid4().hex[:8]}"
        when = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Latency", "Timestamp": when, "Value": 42.5}])
        out = cw.get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {
                "Metric": {"Namespace": ns, "MetricName": "Latency"}, "Period": 60, "Stat": "Maximum"}}],
            StartTime=when - dt.timedelta(minutes=10), EndTime=when + dt.timedelta(minutes=10),
            ScanBy="TimestampAscending",
        )
        (result,) = out["MetricDataResults"]
        self.assertEqual(result["Values"], [42.5])
        self.assertEqual(result["Timestamps"], [when])
        with self.assertRaises(cw.exceptions.ResourceNotFound):
            cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")


class SeedAndPassthroughTest(EmulatorCase):
    def test_health(self) -> None:
        status, body = self.http_json("GET", "/_gameday/health")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")

    def test_unknown_gameday_endpoint_is_404(self) -> None:
        status, body = self.http_json("GET", "/_gameday/nope")
        self.assertEqual(status, 404)
        self.assertIn("error", body)

    def test_seed_180_days_visible_to_filter_and_insights(self) -> None:
        group = f"/gameday/test/{uuid.uuid4().hex[:8]}"
        start_ms = int(time.time()) * 1000 - 180 * DAY_MS  # whole seconds: Insights takes seconds
        # one event per day for 180 days, sent in reverse order to prove sorting
        events = [{"timestamp": start_ms + d * DAY_MS, "message": f"day {d} ERROR"} for d in range(180)]
        status, body = self.http_json("POST", "/_gameday/logs/seed", {
            "region": REGION, "logGroupName": group, "logStreamName": "node-a",
            "events": list(reversed(events)),
        })
        self.assertEqual(status, 200, body)
        self.assertEqual(body["inserted"], 180)
        self.assertEqual(body["storedEvents"], 180)
        self.assertTrue(body["createdLogGroup"])
        # second batch into the same stream, interleaving with the first
        status, body = self.http_json("POST", "/_gameday/logs/seed", {
            "logGroupName": group, "logStreamName": "node-a",
            "events": [{"timestamp": start_ms + 12 * 3_600_000, "message": "half day INFO"}],
        })
        self.assertEqual(status, 200, body)
        self.assertEqual(body["storedEvents"], 181)
        self.assertFalse(body["createdLogGroup"])

        logs = self.client("logs")
        # PutLogEvents itself would reject these: that is why the seed endpoint exists.
        logs.create_log_stream(logGroupName=group, logStreamName="via-api")
        rejected = logs.put_log_events(
            logGroupName=group, logStreamName="via-api",
            logEvents=[{"timestamp": start_ms, "message": "too old"}],
        )
        self.assertIn("tooOldLogEventEndIndex", rejected.get("rejectedLogEventsInfo", {}))

        out = logs.filter_log_events(
            logGroupName=group, logStreamNames=["node-a"],
            startTime=start_ms, endTime=start_ms + 2 * DAY_MS - 1,
        )
        msgs = [e["message"] for e in out["events"]]
        self.assertEqual(msgs, ["day 0 ERROR", "half day INFO", "day 1 ERROR"])
        self.assertEqual(out["events"][0]["ingestionTime"], start_ms)
        out = logs.filter_log_events(logGroupName=group, filterPattern="INFO")
        self.assertEqual([e["message"] for e in out["events"]], ["half day INFO"])

        got = logs.get_log_events(logGroupName=group, logStreamName="node-a", startFromHead=True, limit=3)
        self.assertEqual([e["timestamp"] for e in got["events"]],
                         [start_ms, start_ms + 12 * 3_600_000, start_ms + DAY_MS])

        qid = logs.start_query(
            logGroupName=group,
            startTime=start_ms // 1000,
            endTime=(start_ms + 10 * DAY_MS) // 1000 - 1,
            queryString="fields @timestamp, @message | sort @timestamp asc",
        )["queryId"]
        res = logs.get_query_results(queryId=qid)
        self.assertEqual(res["status"], "Complete")
        rows = [{f["field"]: f["value"] for f in row} for row in res["results"]]
        self.assertEqual(len(rows), 11)  # days 0..9 plus the half-day event
        self.assertEqual(rows[0]["@message"], "day 0 ERROR")

    def test_seed_100k_events(self) -> None:
        group = f"/gameday/bulk/{uuid.uuid4().hex[:8]}"
        start_ms = int(time.time() * 1000) - 180 * DAY_MS
        n = 100_000
        events = [{"timestamp": start_ms + i * MINUTE_MS, "message": f"evt {i}"} for i in range(n)]
        status, body = self.http_json("POST", "/_gameday/logs/seed", {
            "logGroupName": group, "logStreamName": "bulk", "events": events})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["inserted"], n)
        got = self.client("logs").get_log_events(
            logGroupName=group, logStreamName="bulk", startFromHead=False, limit=2)
        self.assertEqual([e["message"] for e in got["events"]], [f"evt {n - 2}", f"evt {n - 1}"])

    def test_seed_rejects_bad_requests(self) -> None:
        cases = [
            ({"logStreamName": "s", "events": []}, "logGroupName"),
            ({"logGroupName": "g", "logStreamName": "s", "events": {}}, "events"),
            ({"logGroupName": "g", "logStreamName": "s", "events": [{"timestamp": "x", "message": "m"}]},
             "timestamp"),
            ({"logGroupName": "g", "logStreamName": "s", "events": [{"timestamp": 1, "message": ""}]},
             "message"),
        ]
        for payload, word in cases:
            status, body = self.http_json("POST", "/_gameday/logs/seed", payload)
            self.assertEqual(status, 400, payload)
            self.assertIn(word, body["error"])

    def test_fis_passes_through(self) -> None:
        fis = self.client("fis")
        template = fis.create_experiment_template(
            clientToken=uuid.uuid4().hex,
            description="passthrough",
            roleArn="arn:aws:iam::123456789012:role/fis",
            stopConditions=[{"source": "none"}],
            actions={"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
            tags={"gameday": "test"},
        )["experimentTemplate"]
        exp = fis.start_experiment(clientToken=uuid.uuid4().hex,
                                   experimentTemplateId=template["id"])["experiment"]
        got = fis.get_experiment(id=exp["id"])["experiment"]
        self.assertEqual(got["experimentTemplateId"], template["id"])
        self.assertIn(got["state"]["status"], {"pending", "initiating", "running", "completed"})

    def test_sts_and_scheduler_pass_through(self) -> None:
        ident = self.client("sts").get_caller_identity()
        self.assertEqual(ident["Account"], "123456789012")
        scheduler = self.client("scheduler")
        name = f"s-{uuid.uuid4().hex[:8]}"
        scheduler.create_schedule(
            Name=name, ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "RoleArn": "arn:aws:iam::123456789012:role/r"},
        )
        self.assertEqual(scheduler.get_schedule(Name=name)["Name"], name)

    def test_moto_api_state_manager_passes_through(self) -> None:
        status, _ = self.http_json("POST", "/moto-api/state-manager/set-transition", {
            "model_name": "fis::experiment", "transition": {"progression": "manual", "times": 1}})
        self.assertIn(status, (200, 201))
        status, _ = self.http_json("POST", "/moto-api/state-manager/unset-transition", {
            "model_name": "fis::experiment"})
        self.assertIn(status, (200, 201))


class ResetTest(EmulatorCase):
    def test_reset_clears_backends(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/reset/me")
        status, body = self.http_json("POST", "/_gameday/reset")
        self.assertEqual((status, body["status"]), (200, "ok"))
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/reset")["logGroups"], [])


class LifecycleTest(unittest.TestCase):
    def test_exits_when_stdin_closes(self) -> None:
        proc, url = start_server()
        with urllib.request.urlopen(f"{url}/_gameday/health", timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        self.assertEqual(stop_server(proc), 0)
        assert proc.stdout is not None
        self.assertEqual(proc.stdout.read(), b"", "nothing but the URL line on stdout")
        proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
