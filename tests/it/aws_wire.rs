//! gameday's own client layer over the wire against the local emulator: FIS, CloudWatch (through
//! our CBOR adapter) and CloudWatch Logs.

use std::collections::BTreeMap;

use chrono::{Duration as ChronoDuration, DurationRound as _, TimeDelta, Utc};
use gameday::provider::{
    AlarmMetric, AlarmSpec, AlarmStateValue, AlarmStore as _, Comparison, FaultInjector as _,
    LogSource as _, MetricDataQuery, MetricDatum, MetricSource as _, MetricStatQuery,
};
use serde_json::json;

use crate::support::{clients, unique};

fn template(name: &str) -> serde_json::Value {
    json!({
        "description": format!("gameday wire test {name}"),
        "roleArn": "arn:aws:iam::123456789012:role/gameday-fis",
        "stopConditions": [{"source": "aws:cloudwatch:alarm",
                            "value": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:gameday-checkout-error_rate"}],
        "targets": {"checkoutPods": {
            "resourceType": "aws:eks:pod",
            "selectionMode": "COUNT(1)",
            "parameters": {"clusterIdentifier": "staging-eks", "namespace": "shop",
                           "selectorType": "labelSelector", "selectorValue": "app=checkout"}}},
        "actions": {"cpu": {
            "actionId": "aws:eks:pod-cpu-stress",
            "targets": {"Pods": "checkoutPods"},
            "parameters": {"duration": "PT5M", "kubernetesServiceAccount": "fis-experiment"}}},
        "tags": {"gameday:test": name},
        "logConfiguration": {"logSchemaVersion": 2,
            "cloudWatchLogsConfiguration": {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/gameday/fis:*"}},
        "experimentOptions": {"emptyTargetResolutionMode": "fail"}
    })
}

#[tokio::test]
async fn fis_create_start_get_stop() {
    let c = clients().await;
    let name = unique("fis");
    let template_id = c
        .create_template(&template(&name))
        .await
        .expect("create template");
    assert!(!template_id.is_empty());
    let listed = c.list_templates().await.expect("list templates");
    let found = listed
        .iter()
        .find(|t| t.id == template_id)
        .expect("template listed");
    assert_eq!(found.tags.get("gameday:test"), Some(&name));

    let tags = BTreeMap::from([("gameday:run".to_owned(), name.clone())]);
    let started = c.start(&template_id, &tags, false).await.expect("start");
    assert_eq!(started.template_id.as_deref(), Some(template_id.as_str()));
    assert!(
        !started.is_terminal(),
        "a fresh experiment is not finished: {}",
        started.status
    );

    let got = c.get(&started.id).await.expect("get");
    assert_eq!(got.id, started.id);
    assert!(
        got.actions.contains_key("cpu"),
        "actions reported: {:?}",
        got.actions
    );

    let stopping = c.stop(&started.id).await.expect("stop");
    assert!(
        matches!(stopping.status.as_str(), "stopping" | "stopped"),
        "status after stop: {}",
        stopping.status
    );
    let mut last = c.get(&started.id).await.expect("get after stop");
    for _ in 0..5 {
        if last.is_terminal() {
            break;
        }
        last = c.get(&started.id).await.expect("get after stop");
    }
    assert_eq!(last.status, "stopped");

    let runs = c.list().await.expect("list experiments");
    let mine = runs
        .iter()
        .find(|e| e.id == started.id)
        .expect("experiment listed");
    assert_eq!(
        mine.tags.get("gameday:run"),
        Some(&name),
        "experiments are found by run tag"
    );
}

#[tokio::test]
async fn fis_preview_start_is_recorded() {
    let c = clients().await;
    let name = unique("preview");
    let template_id = c
        .create_template(&template(&name))
        .await
        .expect("create template");
    let exp = c
        .start(&template_id, &BTreeMap::new(), true)
        .await
        .expect("preview start");
    assert!(!exp.id.is_empty());
    c.stop(&exp.id).await.expect("stop preview");
}

#[tokio::test]
async fn fis_errors_carry_the_service_code() {
    let c = clients().await;
    let err = c
        .get("EXPnonexistent000")
        .await
        .expect_err("unknown experiment");
    assert!(err.code().is_some(), "error code surfaced: {err:?}");
}

#[tokio::test]
async fn cloudwatch_metrics_round_trip_through_the_adapter() {
    let c = clients().await;
    let service = unique("svc");
    let dims = BTreeMap::from([("Service".to_owned(), service.clone())]);
    let now = Utc::now()
        .duration_trunc(TimeDelta::minutes(1))
        .expect("truncate to the minute");
    let start = now - ChronoDuration::minutes(30);
    let data: Vec<MetricDatum> = (0..30)
        .map(|i| MetricDatum {
            name: "Errors".into(),
            dimensions: dims.clone(),
            timestamp: start + ChronoDuration::minutes(i),
            value: f64::from(u32::try_from(i).unwrap()),
            high_resolution: false,
        })
        .chain((0..30).map(|i| MetricDatum {
            name: "Requests".into(),
            dimensions: dims.clone(),
            timestamp: start + ChronoDuration::minutes(i),
            value: 100.0,
            high_resolution: false,
        }))
        .collect();
    c.put_metric_data("GameDay/Test", &data)
        .await
        .expect("put metric data");

    let stat = |name: &str| MetricStatQuery {
        namespace: "GameDay/Test".into(),
        name: name.into(),
        dimensions: dims.clone(),
        stat: "Sum".into(),
        period: std::time::Duration::from_secs(60),
    };
    let queries = vec![
        MetricDataQuery::Stat {
            id: "errors".into(),
            stat: stat("Errors"),
            return_data: true,
        },
        MetricDataQuery::Stat {
            id: "requests".into(),
            stat: stat("Requests"),
            return_data: false,
        },
    ];
    let series = c
        .metric_data(&queries, start, now + ChronoDuration::minutes(1))
        .await
        .expect("get metric data");
    let errors = series
        .iter()
        .find(|s| s.id == "errors")
        .expect("errors series");
    assert_eq!(errors.points.len(), 30, "one point per minute");
    assert!(
        errors
            .points
            .windows(2)
            .all(|w| w[0].timestamp < w[1].timestamp),
        "points come back oldest first"
    );
    assert_eq!(errors.points[0].timestamp, start);
    assert_eq!(errors.points[0].value, 0.0);
    assert_eq!(errors.points[29].value, 29.0);
    assert!(
        series.iter().all(|s| s.id != "requests"),
        "hidden inputs are not returned"
    );
}

#[tokio::test]
async fn cloudwatch_alarms_put_describe_and_set_state() {
    let c = clients().await;
    let name = unique("gameday-checkout-error_rate");
    let spec = AlarmSpec {
        name: name.clone(),
        description: "gameday stop condition (test)".into(),
        metric: AlarmMetric::Single {
            namespace: "GameDay/Test".into(),
            metric_name: "ErrorRate".into(),
            dimensions: BTreeMap::from([("Service".to_owned(), "checkout".to_owned())]),
            statistic: "p99".into(),
        },
        period_secs: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 2.5,
        comparison: Comparison::GreaterThanThreshold,
        treat_missing_data: "notBreaching".into(),
        tags: BTreeMap::from([("gameday:managed".to_owned(), "true".to_owned())]),
    };
    c.put_alarm(&spec).await.expect("put alarm");
    let alarms = c
        .describe_alarms(std::slice::from_ref(&name))
        .await
        .expect("describe");
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].threshold, Some(2.5));
    let described = alarms[0]
        .spec
        .as_ref()
        .expect("the configuration is read back");
    assert!(
        described.same_alarm(&spec),
        "read back {described:?}, wrote {spec:?}"
    );
    assert!(alarms[0].arn.as_deref().is_some_and(|a| a.ends_with(&name)));

    c.set_alarm_state(
        &name,
        AlarmStateValue::Alarm,
        "test: the system is under fault",
    )
    .await
    .expect("set alarm state");
    let alarms = c
        .describe_alarms(std::slice::from_ref(&name))
        .await
        .expect("describe");
    assert_eq!(alarms[0].state, AlarmStateValue::Alarm);
    assert!(alarms[0].updated.is_some(), "state timestamp decoded");

    let by_prefix = c
        .alarm_names_with_prefix(&name)
        .await
        .expect("prefix listing");
    assert_eq!(by_prefix, vec![name.clone()]);

    let missing = c
        .describe_alarms(&[unique("no-such-alarm")])
        .await
        .expect("describe");
    assert!(missing.is_empty());
    let err = c
        .set_alarm_state(&unique("no-such-alarm"), AlarmStateValue::Ok, "x")
        .await
        .expect_err("unknown alarm");
    assert_eq!(err.code(), Some("ResourceNotFound"), "{err:?}");
}

#[tokio::test]
async fn logs_put_filter_and_insights() {
    let c = clients().await;
    let group = format!("/gameday/test/{}", unique("logs"));
    c.ensure_log_group(&group).await.expect("create group");
    c.ensure_log_group(&group)
        .await
        .expect("existing group is fine");
    c.ensure_log_stream(&group, "app")
        .await
        .expect("create stream");
    let now_ms = Utc::now().timestamp_millis();
    let events: Vec<(i64, String)> = (0..50)
        .map(|i| {
            let level = if i % 5 == 0 { "ERROR" } else { "INFO" };
            (
                now_ms - 60_000 + i * 100,
                format!("{level} request {i} done"),
            )
        })
        .collect();
    c.put_log_events(&group, "app", &events)
        .await
        .expect("put events");

    let all = c
        .filter_events(&group, now_ms - 120_000, now_ms + 1_000, None)
        .await
        .expect("filter all");
    assert_eq!(all.len(), 50);
    let errors = c
        .filter_events(&group, now_ms - 120_000, now_ms + 1_000, Some("ERROR"))
        .await
        .expect("filter errors");
    assert_eq!(errors.len(), 10);
    assert!(errors.iter().all(|e| e.message.starts_with("ERROR")));

    let res = c
        .insights_query(
            std::slice::from_ref(&group),
            "fields @timestamp, @message | sort @timestamp asc",
            (now_ms - 120_000) / 1000,
            now_ms / 1000 + 1,
            10_000,
        )
        .await
        .expect("insights query");
    assert_eq!(res.status, "Complete");
    assert_eq!(res.rows.len(), 50);
    assert!(res.rows.iter().all(|r| r.contains_key("@message")));
}

#[tokio::test]
async fn logs_rejected_events_are_an_error_not_silence() {
    let c = clients().await;
    let group = format!("/gameday/test/{}", unique("old"));
    c.ensure_log_group(&group).await.expect("create group");
    c.ensure_log_stream(&group, "app")
        .await
        .expect("create stream");
    let old = Utc::now().timestamp_millis() - 30 * 86_400_000;
    let err = c
        .put_log_events(&group, "app", &[(old, "ancient".into())])
        .await
        .expect_err("events older than 14 days are rejected");
    assert!(err.to_string().contains("rejected"), "{err}");
}

#[tokio::test]
async fn metric_math_alarms_round_trip_and_apply_idempotently() {
    use gameday::provider::Change;
    use gameday::steady_state::cloudwatch::apply_alarms;
    let c = clients().await;
    let name = unique("gameday-checkout-error_rate");
    let input = |metric: &str| MetricStatQuery {
        namespace: "AWS/ApplicationELB".into(),
        name: metric.into(),
        dimensions: BTreeMap::from([("LoadBalancer".to_owned(), "app/shop/abc".to_owned())]),
        stat: "Sum".into(),
        period: std::time::Duration::from_secs(60),
    };
    let mut spec = AlarmSpec {
        name: name.clone(),
        description: "error rate stop condition (test)".into(),
        metric: AlarmMetric::Math {
            expression: "100 * errors / requests".into(),
            inputs: BTreeMap::from([
                ("errors".to_owned(), input("HTTPCode_Target_5XX_Count")),
                ("requests".to_owned(), input("RequestCount")),
            ]),
        },
        period_secs: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 1.5,
        comparison: Comparison::GreaterThanThreshold,
        treat_missing_data: "notBreaching".into(),
        tags: BTreeMap::new(),
    };
    let first = apply_alarms(&c, std::slice::from_ref(&spec))
        .await
        .expect("apply");
    assert_eq!(first, vec![(name.clone(), Change::Created)]);
    let again = apply_alarms(&c, std::slice::from_ref(&spec))
        .await
        .expect("apply again");
    assert_eq!(again, vec![(name.clone(), Change::Unchanged)]);
    spec.threshold = 2.0;
    let changed = apply_alarms(&c, std::slice::from_ref(&spec))
        .await
        .expect("apply changed");
    assert_eq!(changed, vec![(name.clone(), Change::Updated)]);
    let live = c.describe_alarms(&[name]).await.expect("describe");
    assert_eq!(live[0].threshold, Some(2.0));
}

#[tokio::test]
async fn fis_templates_apply_by_tags_create_update_unchanged() {
    use gameday::provider::Change;
    let c = clients().await;
    let name = unique("apply");
    let identity = BTreeMap::from([("gameday:test".to_owned(), name.clone())]);
    let mut request = template(&name);
    let (id, change) = c.apply_template(&identity, &request).await.expect("apply");
    assert_eq!(change, Change::Created);
    let (again, change) = c
        .apply_template(&identity, &request)
        .await
        .expect("apply again");
    assert_eq!((again.as_str(), change), (id.as_str(), Change::Unchanged));
    request["actions"]["cpu"]["parameters"]["duration"] = json!("PT7M");
    let (updated, change) = c
        .apply_template(&identity, &request)
        .await
        .expect("apply changed");
    assert_eq!((updated.as_str(), change), (id.as_str(), Change::Updated));
    let read = c.template_request(&id).await.expect("read back");
    assert_eq!(read["actions"]["cpu"]["parameters"]["duration"], "PT7M");
    let (_, change) = c
        .apply_template(&identity, &request)
        .await
        .expect("apply once more");
    assert_eq!(
        change,
        Change::Unchanged,
        "the update is read back as matching"
    );
}
