//! [`MetricSource`] and [`AlarmStore`] over `aws-sdk-cloudwatch`.
//!
//! Input: metric queries, alarm specs, datapoints. Output: series sorted oldest first (the API
//! answers newest first by default), alarm states. Must not: interpret values.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery as SdkQuery, MetricDatum as SdkDatum,
    MetricStat, ScanBy, StateValue, Tag,
};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, TimeZone, Utc};

use super::{AwsClients, call_error};
use crate::provider::{
    AlarmMetric, AlarmSpec, AlarmStateValue, AlarmStatus, AlarmStore, Comparison, Datapoint,
    MetricDataQuery, MetricDatum, MetricSeries, MetricSource, MetricStatQuery, ProviderResult,
};

/// GetMetricData takes at most this many queries per call.
const MAX_QUERIES_PER_CALL: usize = 500;
/// PutMetricData takes at most this many datums per call.
const MAX_DATUMS_PER_CALL: usize = 1000;

fn to_smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_millis(t.timestamp_millis())
}

fn from_smithy(t: &SmithyTime) -> Option<DateTime<Utc>> {
    t.to_millis()
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

fn dimensions(d: &BTreeMap<String, String>) -> Vec<Dimension> {
    d.iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
}

fn period_secs(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

fn metric_stat(q: &MetricStatQuery) -> MetricStat {
    MetricStat::builder()
        .metric(
            Metric::builder()
                .namespace(&q.namespace)
                .metric_name(&q.name)
                .set_dimensions(Some(dimensions(&q.dimensions)))
                .build(),
        )
        .period(period_secs(q.period))
        .stat(&q.stat)
        .build()
}

fn sdk_query(q: &MetricDataQuery) -> SdkQuery {
    match q {
        MetricDataQuery::Stat {
            id,
            stat,
            return_data,
        } => SdkQuery::builder()
            .id(id)
            .metric_stat(metric_stat(stat))
            .return_data(*return_data)
            .build(),
        MetricDataQuery::Expression {
            id,
            expression,
            period,
            return_data,
        } => SdkQuery::builder()
            .id(id)
            .expression(expression)
            .period(period_secs(*period))
            .return_data(*return_data)
            .build(),
    }
}

/// Splits queries into calls of at most [`MAX_QUERIES_PER_CALL`] without separating an
/// expression from the hidden inputs listed before it.
fn batches(queries: &[MetricDataQuery]) -> Vec<&[MetricDataQuery]> {
    let mut out = Vec::new();
    let (mut start, mut group_start) = (0, 0);
    for (i, q) in queries.iter().enumerate() {
        let returns = match q {
            MetricDataQuery::Stat { return_data, .. }
            | MetricDataQuery::Expression { return_data, .. } => *return_data,
        };
        if returns {
            // The group [group_start, i] ends here; close the batch before it if it won't fit.
            if i + 1 - start > MAX_QUERIES_PER_CALL && group_start > start {
                out.push(&queries[start..group_start]);
                start = group_start;
            }
            group_start = i + 1;
        }
    }
    if start < queries.len() {
        out.push(&queries[start..]);
    }
    out
}

impl MetricSource for AwsClients {
    async fn metric_data(
        &self,
        queries: &[MetricDataQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> ProviderResult<Vec<MetricSeries>> {
        const OP: &str = "cloudwatch:GetMetricData";
        let mut series: BTreeMap<String, Vec<Datapoint>> = BTreeMap::new();
        let mut order = Vec::new();
        for batch in batches(queries) {
            let mut pages = self
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(batch.iter().map(sdk_query).collect()))
                .start_time(to_smithy(start))
                .end_time(to_smithy(end))
                .scan_by(ScanBy::TimestampAscending)
                .into_paginator()
                .send();
            while let Some(out) = pages.next().await {
                let out = out.map_err(|e| call_error(OP, e))?;
                for r in out.metric_data_results() {
                    let id = r.id().unwrap_or_default().to_owned();
                    let points = series.entry(id.clone()).or_insert_with(|| {
                        order.push(id.clone());
                        Vec::new()
                    });
                    for (t, v) in r.timestamps().iter().zip(r.values()) {
                        if let Some(timestamp) = from_smithy(t) {
                            points.push(Datapoint {
                                timestamp,
                                value: *v,
                            });
                        }
                    }
                }
            }
        }
        Ok(order
            .into_iter()
            .map(|id| {
                let mut points = series.remove(&id).unwrap_or_default();
                // Whatever order pages arrive in, callers get oldest first, one point per time.
                points.sort_by_key(|p| p.timestamp);
                points.dedup_by_key(|p| p.timestamp);
                MetricSeries { id, points }
            })
            .collect())
    }
}

impl AlarmStore for AwsClients {
    async fn put_alarm(&self, spec: &AlarmSpec) -> ProviderResult<()> {
        const OP: &str = "cloudwatch:PutMetricAlarm";
        let operator = match spec.comparison {
            Comparison::GreaterThanThreshold => ComparisonOperator::GreaterThanThreshold,
            Comparison::GreaterThanOrEqualToThreshold => {
                ComparisonOperator::GreaterThanOrEqualToThreshold
            }
            Comparison::LessThanThreshold => ComparisonOperator::LessThanThreshold,
            Comparison::LessThanOrEqualToThreshold => {
                ComparisonOperator::LessThanOrEqualToThreshold
            }
        };
        let period = i32::try_from(spec.period_secs).unwrap_or(i32::MAX);
        let mut req = self
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(&spec.description)
            .evaluation_periods(i32::try_from(spec.evaluation_periods).unwrap_or(i32::MAX))
            .datapoints_to_alarm(i32::try_from(spec.datapoints_to_alarm).unwrap_or(i32::MAX))
            .threshold(spec.threshold)
            .comparison_operator(operator)
            .treat_missing_data(&spec.treat_missing_data)
            .set_tags(Some(
                spec.tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        req = match &spec.metric {
            AlarmMetric::Single {
                namespace,
                metric_name,
                dimensions: dims,
                statistic,
            } => {
                let req = req
                    .namespace(namespace)
                    .metric_name(metric_name)
                    .set_dimensions(Some(dimensions(dims)))
                    .period(period);
                // Percentiles go in ExtendedStatistic; the rest in Statistic.
                if is_standard_statistic(statistic) {
                    req.statistic(aws_sdk_cloudwatch::types::Statistic::from(
                        statistic.as_str(),
                    ))
                } else {
                    req.extended_statistic(statistic)
                }
            }
            AlarmMetric::Math { expression, inputs } => {
                let mut metrics: Vec<SdkQuery> = inputs
                    .iter()
                    .map(|(id, stat)| {
                        SdkQuery::builder()
                            .id(id)
                            .metric_stat(metric_stat(stat))
                            .return_data(false)
                            .build()
                    })
                    .collect();
                metrics.push(
                    SdkQuery::builder()
                        .id(MATH_ALARM_EXPRESSION_ID)
                        .expression(expression)
                        .period(period)
                        .return_data(true)
                        .build(),
                );
                req.set_metrics(Some(metrics))
            }
        };
        req.send().await.map_err(|e| call_error(OP, e))?;
        Ok(())
    }

    async fn describe_alarms(&self, names: &[String]) -> ProviderResult<Vec<AlarmStatus>> {
        const OP: &str = "cloudwatch:DescribeAlarms";
        let mut found = Vec::new();
        // DescribeAlarms takes at most 100 names per call.
        for chunk in names.chunks(100) {
            let mut pages = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(out) = pages.next().await {
                let out = out.map_err(|e| call_error(OP, e))?;
                for a in out.metric_alarms() {
                    found.push(AlarmStatus {
                        name: a.alarm_name().unwrap_or_default().to_owned(),
                        arn: a.alarm_arn().map(str::to_owned),
                        state: match a.state_value() {
                            Some(StateValue::Ok) => AlarmStateValue::Ok,
                            Some(StateValue::Alarm) => AlarmStateValue::Alarm,
                            _ => AlarmStateValue::InsufficientData,
                        },
                        reason: a.state_reason().map(str::to_owned),
                        threshold: a.threshold(),
                        updated: a.state_updated_timestamp().and_then(from_smithy),
                        spec: spec_of(a),
                    });
                }
            }
        }
        Ok(found)
    }
}

/// The id gameday gives the returned expression of a metric-math alarm.
const MATH_ALARM_EXPRESSION_ID: &str = "gameday_expr";

fn stat_of(ms: &MetricStat) -> Option<MetricStatQuery> {
    let metric = ms.metric()?;
    Some(MetricStatQuery {
        namespace: metric.namespace()?.to_owned(),
        name: metric.metric_name()?.to_owned(),
        dimensions: dimension_map(metric.dimensions()),
        stat: ms.stat()?.to_owned(),
        period: std::time::Duration::from_secs(u64::try_from(ms.period()?).ok()?),
    })
}

fn dimension_map(dims: &[Dimension]) -> BTreeMap<String, String> {
    dims.iter()
        .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
        .collect()
}

/// Rebuilds the [`AlarmSpec`] of a described alarm (without tags, which DescribeAlarms omits).
fn spec_of(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> Option<AlarmSpec> {
    let comparison = match a.comparison_operator()? {
        ComparisonOperator::GreaterThanThreshold => Comparison::GreaterThanThreshold,
        ComparisonOperator::GreaterThanOrEqualToThreshold => {
            Comparison::GreaterThanOrEqualToThreshold
        }
        ComparisonOperator::LessThanThreshold => Comparison::LessThanThreshold,
        ComparisonOperator::LessThanOrEqualToThreshold => Comparison::LessThanOrEqualToThreshold,
        _ => return None,
    };
    let math = a
        .metrics()
        .iter()
        .find(|q| q.return_data() == Some(true) && q.expression().is_some());
    let (metric, period) = match math {
        Some(expr) => {
            let inputs = a
                .metrics()
                .iter()
                .filter_map(|q| Some((q.id()?.to_owned(), stat_of(q.metric_stat()?)?)))
                .collect();
            (
                AlarmMetric::Math {
                    expression: expr.expression()?.to_owned(),
                    inputs,
                },
                expr.period().or(a.period())?,
            )
        }
        None => (
            AlarmMetric::Single {
                namespace: a.namespace()?.to_owned(),
                metric_name: a.metric_name()?.to_owned(),
                dimensions: dimension_map(a.dimensions()),
                statistic: a
                    .statistic()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| a.extended_statistic().map(str::to_owned))?,
            },
            a.period()?,
        ),
    };
    let evaluation_periods = u32::try_from(a.evaluation_periods()?).ok()?;
    Some(AlarmSpec {
        name: a.alarm_name()?.to_owned(),
        description: a.alarm_description().unwrap_or_default().to_owned(),
        metric,
        period_secs: u32::try_from(period).ok()?,
        evaluation_periods,
        datapoints_to_alarm: a
            .datapoints_to_alarm()
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(evaluation_periods),
        threshold: a.threshold()?,
        comparison,
        treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_owned(),
        tags: BTreeMap::new(),
    })
}

/// Whether a statistic goes in `Statistic` (rather than `ExtendedStatistic`).
fn is_standard_statistic(stat: &str) -> bool {
    matches!(
        stat,
        "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum"
    )
}

impl AwsClients {
    /// Publishes datapoints, in batches the API accepts.
    ///
    /// # Errors
    /// [`ProviderError::Call`](crate::provider::ProviderError::Call) when a batch is refused.
    pub async fn put_metric_data(
        &self,
        namespace: &str,
        data: &[MetricDatum],
    ) -> ProviderResult<()> {
        const OP: &str = "cloudwatch:PutMetricData";
        for chunk in data.chunks(MAX_DATUMS_PER_CALL) {
            let datums = chunk
                .iter()
                .map(|d| {
                    SdkDatum::builder()
                        .metric_name(&d.name)
                        .set_dimensions(Some(dimensions(&d.dimensions)))
                        .timestamp(to_smithy(d.timestamp))
                        .value(d.value)
                        .storage_resolution(if d.high_resolution { 1 } else { 60 })
                        .build()
                })
                .collect();
            self.cloudwatch
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(datums))
                .send()
                .await
                .map_err(|e| call_error(OP, e))?;
        }
        Ok(())
    }

    /// Makes the dashboard `name` hold exactly `body`: creates it if absent, replaces it if its
    /// body differs (compared as JSON), and sends nothing when it already matches.
    ///
    /// # Errors
    /// [`ProviderError::Call`](crate::provider::ProviderError::Call) when CloudWatch refuses a
    /// call (other than "not found" for a dashboard that does not exist yet).
    pub async fn apply_dashboard(
        &self,
        name: &str,
        body: &serde_json::Value,
    ) -> ProviderResult<crate::provider::Change> {
        use crate::provider::Change;
        use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
        const GET: &str = "cloudwatch:GetDashboard";
        const PUT: &str = "cloudwatch:PutDashboard";
        let existing = match self
            .cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
        {
            Ok(out) => out.dashboard_body().map(str::to_owned),
            Err(e) if e.code().is_some_and(|c| c.contains("NotFound")) => None,
            Err(e) => return Err(call_error(GET, e)),
        };
        let change = match existing {
            None => Change::Created,
            Some(text) => {
                if serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .as_ref()
                    == Some(body)
                {
                    return Ok(Change::Unchanged);
                }
                Change::Updated
            }
        };
        self.cloudwatch
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body.to_string())
            .send()
            .await
            .map_err(|e| call_error(PUT, e))?;
        Ok(change)
    }

    /// Sets an alarm's state by hand (a testing aid; CloudWatch re-evaluates soon after).
    ///
    /// # Errors
    /// [`ProviderError::Call`](crate::provider::ProviderError::Call), e.g. with code `ResourceNotFound` for an unknown alarm.
    pub async fn set_alarm_state(
        &self,
        name: &str,
        state: AlarmStateValue,
        reason: &str,
    ) -> ProviderResult<()> {
        const OP: &str = "cloudwatch:SetAlarmState";
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::from(state.as_str()))
            .state_reason(reason)
            .send()
            .await
            .map_err(|e| call_error(OP, e))?;
        Ok(())
    }

    /// Lists alarm names starting with a prefix (all pages).
    ///
    /// # Errors
    /// [`ProviderError::Call`](crate::provider::ProviderError::Call) when CloudWatch cannot be reached or refuses.
    pub async fn alarm_names_with_prefix(&self, prefix: &str) -> ProviderResult<Vec<String>> {
        const OP: &str = "cloudwatch:DescribeAlarms";
        let mut names = Vec::new();
        let mut pages = self
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .into_paginator()
            .page_size(100)
            .send();
        while let Some(out) = pages.next().await {
            let out = out.map_err(|e| call_error(OP, e))?;
            names.extend(
                out.metric_alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name().map(str::to_owned)),
            );
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stat(id: &str, return_data: bool) -> MetricDataQuery {
        MetricDataQuery::Stat {
            id: id.to_owned(),
            stat: MetricStatQuery {
                namespace: "N".into(),
                name: "M".into(),
                dimensions: BTreeMap::new(),
                stat: "Sum".into(),
                period: Duration::from_secs(60),
            },
            return_data,
        }
    }

    fn expr(id: &str) -> MetricDataQuery {
        MetricDataQuery::Expression {
            id: id.to_owned(),
            expression: "a/b".into(),
            period: Duration::from_secs(60),
            return_data: true,
        }
    }

    #[test]
    fn batches_respect_the_limit_and_keep_groups_whole() {
        // 333 groups of (hidden, hidden, expression) = 999 queries.
        let mut qs = Vec::new();
        for i in 0..333 {
            qs.push(stat(&format!("a{i}"), false));
            qs.push(stat(&format!("b{i}"), false));
            qs.push(expr(&format!("e{i}")));
        }
        let b = batches(&qs);
        assert!(b.iter().all(|b| b.len() <= MAX_QUERIES_PER_CALL));
        assert_eq!(b.iter().map(|b| b.len()).sum::<usize>(), 999);
        // Every batch ends with a returned query, so no expression loses its inputs.
        for batch in &b {
            assert!(matches!(
                batch.last(),
                Some(MetricDataQuery::Expression { .. })
            ));
            assert_eq!(batch.len() % 3, 0);
        }
    }

    #[test]
    fn small_requests_are_one_batch() {
        let qs = vec![stat("a", true), stat("b", true)];
        assert_eq!(batches(&qs).len(), 1);
        assert!(batches(&[]).is_empty());
    }
}
