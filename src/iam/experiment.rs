//! The FIS experiment role: its trust policy and the permissions of exactly the planned
//! actions.
//!
//! Input: a [`GameDayScenario`] (its action IDs, clusters, FIS log group and report settings).
//! Output: [`trust_policy`] (`fis.amazonaws.com`, limited to this account's experiments) and
//! [`permissions_policy`]: one statement per action family, from [`ACTION_PERMISSIONS`] (the
//! FIS user guide's actions reference and the `AWSFaultInjectionSimulator*Access` managed
//! policies), plus log delivery when a log group is set and the report's S3 and dashboard
//! reads when reports are configured. A new FIS action needs one row here; a test fails for a
//! catalogue action without one. Must not call AWS.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::plan::GameDayScenario;

/// One FIS action's IAM permissions: `(action ID, family, IAM actions)`. Actions of one family
/// share a statement. `aws:fis:wait` and `aws:eks:inject-kubernetes-custom-resource` need none
/// (the latter only Kubernetes RBAC).
pub const ACTION_PERMISSIONS: &[(&str, &str, &[&str])] = &[
    // EKS pod actions (AWSFaultInjectionSimulatorEKSAccess).
    ("aws:eks:pod-cpu-stress", "EksPods", EKS_POD),
    ("aws:eks:pod-memory-stress", "EksPods", EKS_POD),
    ("aws:eks:pod-io-stress", "EksPods", EKS_POD),
    ("aws:eks:pod-delete", "EksPods", EKS_POD),
    ("aws:eks:pod-network-latency", "EksPods", EKS_POD),
    ("aws:eks:pod-network-packet-loss", "EksPods", EKS_POD),
    ("aws:eks:pod-network-blackhole-port", "EksPods", EKS_POD),
    (
        "aws:eks:terminate-nodegroup-instances",
        "EksNodegroups",
        &[
            "ec2:DescribeInstances",
            "ec2:TerminateInstances",
            "eks:DescribeNodegroup",
            "tag:GetResources",
        ],
    ),
    (
        "aws:eks:inject-kubernetes-custom-resource",
        "EksCustomResource",
        &[],
    ),
    // EC2 (AWSFaultInjectionSimulatorEC2Access).
    (
        "aws:ec2:stop-instances",
        "Ec2Instances",
        &[
            "ec2:DescribeInstances",
            "ec2:StartInstances",
            "ec2:StopInstances",
            "kms:CreateGrant",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ec2:terminate-instances",
        "Ec2Instances",
        &[
            "ec2:DescribeInstances",
            "ec2:TerminateInstances",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ec2:reboot-instances",
        "Ec2Instances",
        &[
            "ec2:DescribeInstances",
            "ec2:RebootInstances",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ec2:send-spot-instance-interruptions",
        "Ec2Instances",
        &[
            "ec2:DescribeInstances",
            "ec2:SendSpotInstanceInterruptions",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ec2:api-insufficient-instance-capacity-error",
        "Ec2Capacity",
        &["ec2:InjectApiError"],
    ),
    (
        "aws:ec2:asg-insufficient-instance-capacity-error",
        "Ec2Capacity",
        &[
            "autoscaling:DescribeAutoScalingGroups",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:InjectApiError",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ebs:pause-volume-io",
        "Ebs",
        &[
            "ec2:DescribeVolumes",
            "ec2:PauseVolumeIO",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ebs:volume-io-latency",
        "Ebs",
        &[
            "ec2:DescribeVolumes",
            "ec2:InjectVolumeIOLatency",
            "tag:GetResources",
        ],
    ),
    // RDS (AWSFaultInjectionSimulatorRDSAccess).
    (
        "aws:rds:failover-db-cluster",
        "Rds",
        &[
            "rds:DescribeDBClusters",
            "rds:FailoverDBCluster",
            "tag:GetResources",
        ],
    ),
    (
        "aws:rds:reboot-db-instances",
        "Rds",
        &[
            "rds:DescribeDBInstances",
            "rds:RebootDBInstance",
            "tag:GetResources",
        ],
    ),
    // Network (AWSFaultInjectionSimulatorNetworkAccess).
    (
        "aws:network:disrupt-connectivity",
        "Network",
        &[
            "ec2:CreateNetworkAcl",
            "ec2:CreateNetworkAclEntry",
            "ec2:CreateTags",
            "ec2:DeleteNetworkAcl",
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:GetManagedPrefixListEntries",
            "ec2:ReplaceNetworkAclAssociation",
            "tag:GetResources",
        ],
    ),
    (
        "aws:network:route-table-disrupt-cross-region-connectivity",
        "Network",
        &[
            "ec2:AssociateRouteTable",
            "ec2:CreateManagedPrefixList",
            "ec2:CreateNetworkInterface",
            "ec2:CreateRoute",
            "ec2:CreateRouteTable",
            "ec2:CreateTags",
            "ec2:DeleteManagedPrefixList",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteRouteTable",
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeVpcs",
            "ec2:DisassociateRouteTable",
            "ec2:GetManagedPrefixListEntries",
            "ec2:ModifyManagedPrefixList",
            "ec2:ModifyVpcEndpoint",
            "ec2:ReplaceRouteTableAssociation",
            "tag:GetResources",
        ],
    ),
    (
        "aws:network:transit-gateway-disrupt-cross-region-connectivity",
        "Network",
        &[
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:DescribeTransitGatewayAttachments",
            "ec2:DescribeTransitGatewayPeeringAttachments",
            "ec2:DescribeTransitGateways",
            "ec2:DisassociateTransitGatewayRouteTable",
            "tag:GetResources",
        ],
    ),
    (
        "aws:network:disrupt-vpc-endpoint",
        "Network",
        &[
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:DeleteSecurityGroup",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcEndpoints",
            "ec2:ModifyVpcEndpoint",
            "ec2:RevokeSecurityGroupEgress",
            "tag:GetResources",
        ],
    ),
    // FIS itself.
    ("aws:fis:wait", "Fis", &[]),
    (
        "aws:fis:inject-api-internal-error",
        "FisApiFaults",
        &["fis:InjectApiInternalError", "iam:ListRoles"],
    ),
    (
        "aws:fis:inject-api-throttle-error",
        "FisApiFaults",
        &["fis:InjectApiThrottleError", "iam:ListRoles"],
    ),
    (
        "aws:fis:inject-api-unavailable-error",
        "FisApiFaults",
        &["fis:InjectApiUnavailableError", "iam:ListRoles"],
    ),
    (
        "aws:cloudwatch:assert-alarm-state",
        "CloudWatch",
        &["cloudwatch:DescribeAlarms"],
    ),
    // SSM (AWSFaultInjectionSimulatorSSMAccess).
    (
        "aws:ssm:send-command",
        "Ssm",
        &[
            "ec2:DescribeInstances",
            "ssm:CancelCommand",
            "ssm:ListCommands",
            "ssm:SendCommand",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ssm:start-automation-execution",
        "Ssm",
        &[
            "iam:PassRole",
            "ssm:GetAutomationExecution",
            "ssm:StartAutomationExecution",
            "ssm:StopAutomationExecution",
        ],
    ),
    // Lambda (the FIS extension reads its configuration from S3).
    ("aws:lambda:invocation-add-delay", "Lambda", LAMBDA),
    ("aws:lambda:invocation-error", "Lambda", LAMBDA),
    (
        "aws:lambda:invocation-http-integration-response",
        "Lambda",
        LAMBDA,
    ),
    // ECS (AWSFaultInjectionSimulatorECSAccess).
    (
        "aws:ecs:drain-container-instances",
        "Ecs",
        &[
            "ecs:DescribeClusters",
            "ecs:ListContainerInstances",
            "ecs:UpdateContainerInstancesState",
            "tag:GetResources",
        ],
    ),
    (
        "aws:ecs:stop-task",
        "Ecs",
        &[
            "ecs:DescribeTasks",
            "ecs:ListTasks",
            "ecs:StopTask",
            "tag:GetResources",
        ],
    ),
    ("aws:ecs:task-cpu-stress", "EcsTasks", ECS_TASK),
    ("aws:ecs:task-io-stress", "EcsTasks", ECS_TASK),
    ("aws:ecs:task-kill-process", "EcsTasks", ECS_TASK),
    ("aws:ecs:task-network-blackhole-port", "EcsTasks", ECS_TASK),
    ("aws:ecs:task-network-latency", "EcsTasks", ECS_TASK),
    ("aws:ecs:task-network-packet-loss", "EcsTasks", ECS_TASK),
    // Data stores and the rest.
    (
        "aws:dynamodb:global-table-pause-replication",
        "DynamoDb",
        &[
            "dynamodb:DeleteResourcePolicy",
            "dynamodb:DescribeTable",
            "dynamodb:GetResourcePolicy",
            "dynamodb:PutResourcePolicy",
            "tag:GetResources",
        ],
    ),
    (
        "aws:elasticache:replicationgroup-interrupt-az-power",
        "ElastiCache",
        &[
            "elasticache:DescribeReplicationGroups",
            "elasticache:InterruptClusterAzPower",
            "tag:GetResources",
        ],
    ),
    // The legacy ID of the action above (still in AWS's workshop templates); same permissions.
    (
        "aws:elasticache:interrupt-cluster-az-power",
        "ElastiCache",
        &[
            "elasticache:DescribeReplicationGroups",
            "elasticache:InterruptClusterAzPower",
            "tag:GetResources",
        ],
    ),
    (
        "aws:kinesis:stream-provisioned-throughput-exception",
        "Kinesis",
        &[
            "kinesis:DescribeStreamSummary",
            "kinesis:InjectApiError",
            "tag:GetResources",
        ],
    ),
    (
        "aws:kinesis:stream-expired-iterator-exception",
        "Kinesis",
        &[
            "kinesis:DescribeStreamSummary",
            "kinesis:InjectApiError",
            "tag:GetResources",
        ],
    ),
    (
        "aws:s3:bucket-pause-replication",
        "S3",
        &[
            "s3:GetReplicationConfiguration",
            "s3:ListAllMyBuckets",
            "s3:PauseReplication",
            "tag:GetResources",
        ],
    ),
    (
        "aws:dsql:cluster-connection-failure",
        "Dsql",
        &["dsql:GetCluster", "dsql:InjectError", "tag:GetResources"],
    ),
    (
        "aws:memorydb:multi-region-cluster-pause-replication",
        "MemoryDb",
        &[
            "memorydb:DescribeMultiRegionClusters",
            "memorydb:PauseMultiRegionClusterReplication",
            "tag:GetResources",
        ],
    ),
    (
        "aws:arc:start-zonal-autoshift",
        "Arc",
        &[
            "arc-zonal-shift:CancelZonalShift",
            "arc-zonal-shift:GetManagedResource",
            "arc-zonal-shift:ListManagedResources",
            "arc-zonal-shift:StartZonalShift",
            "arc-zonal-shift:UpdateZonalShift",
            "autoscaling:DescribeAutoScalingGroups",
            "tag:GetResources",
        ],
    ),
];

/// Catalogue actions whose IAM permissions the reference does not give: planning one makes
/// `gameday iam` refuse ([`unknown_actions`]) rather than guess.
pub const PERMISSIONS_UNKNOWN: &[&str] = &["aws:directconnect:virtual-interface-disconnect"];

const EKS_POD: &[&str] = &[
    "ec2:DescribeSubnets",
    "eks:DescribeCluster",
    "tag:GetResources",
];

const LAMBDA: &[&str] = &["lambda:GetFunction", "tag:GetResources"];

const ECS_TASK: &[&str] = &[
    "ecs:DescribeTasks",
    "ssm:CancelCommand",
    "ssm:ListCommands",
    "ssm:SendCommand",
    "tag:GetResources",
];

/// IAM actions FIS needs to deliver experiment logs to CloudWatch Logs (FIS user guide,
/// "Experiment logging permissions").
pub const LOG_DELIVERY: &[&str] = &[
    "logs:CreateLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy",
];

/// The IAM permissions of a FIS action, or `None` when the table has no row for it.
pub fn action_permissions(action_id: &str) -> Option<(&'static str, &'static [&'static str])> {
    ACTION_PERMISSIONS
        .iter()
        .find(|(id, _, _)| *id == action_id)
        .map(|(_, family, perms)| (*family, *perms))
}

/// Every FIS action ID the GameDay's templates use (the observation wait included), sorted.
pub fn planned_actions(g: &GameDayScenario) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = g
        .scenarios
        .iter()
        .flat_map(|s| s.actions.iter().map(|a| a.action_id.clone()))
        .collect();
    ids.insert("aws:fis:wait".to_owned());
    ids
}

/// Planned action IDs the permissions table has no row for (lint rejects unknown IDs, so this
/// is empty for a loaded scenario unless the catalogue grew without the table).
pub fn unknown_actions(g: &GameDayScenario) -> Vec<String> {
    planned_actions(g)
        .into_iter()
        .filter(|id| action_permissions(id).is_none())
        .collect()
}

/// The role name and path of an IAM role ARN (`arn:aws:iam::1:role/path/name` →
/// (`name`, `/path/`)).
pub fn role_name_and_path(role_arn: &str) -> (String, String) {
    let rest = role_arn.split_once(":role/").map_or(role_arn, |(_, r)| r);
    match rest.rsplit_once('/') {
        Some((path, name)) => (name.to_owned(), format!("/{path}/")),
        None => (rest.to_owned(), "/".to_owned()),
    }
}

/// The trust policy: FIS may assume the role for experiments of this account and region only.
pub fn trust_policy(g: &GameDayScenario) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "FisAssumesTheExperimentRole",
            "Effect": "Allow",
            "Principal": {"Service": "fis.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": g.account_id},
                "ArnLike": {"aws:SourceArn": format!("arn:aws:fis:{}:{}:experiment/*", g.region, g.account_id)}
            }
        }]
    })
}

/// The EKS cluster ARN of a scenario's `cluster` (a name or already an ARN).
fn cluster_arn(g: &GameDayScenario, cluster: &str) -> String {
    if cluster.starts_with("arn:") {
        cluster.to_owned()
    } else {
        format!(
            "arn:aws:eks:{}:{}:cluster/{cluster}",
            g.region, g.account_id
        )
    }
}

/// The role's permissions: one statement per action family (Sid = family), `eks:DescribeCluster`
/// limited to the planned clusters, log delivery for the FIS log group, and — with experiment
/// reports — the dashboard and the report bucket.
pub fn permissions_policy(g: &GameDayScenario) -> Value {
    let mut families: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for id in planned_actions(g) {
        if let Some((family, perms)) = action_permissions(&id) {
            families.entry(family).or_default().extend(perms.iter());
        }
    }
    let clusters: BTreeSet<String> = g
        .scenarios
        .iter()
        .filter(|s| {
            s.actions
                .iter()
                .any(|a| action_permissions(&a.action_id).is_some_and(|(f, _)| f == "EksPods"))
        })
        .map(|s| cluster_arn(g, &s.target.cluster))
        .collect();
    let mut statements = Vec::new();
    for (family, perms) in families {
        if perms.is_empty() {
            continue;
        }
        if family == "EksPods" {
            statements.push(json!({
                "Sid": "EksPodsDescribeCluster",
                "Effect": "Allow",
                "Action": ["eks:DescribeCluster"],
                "Resource": clusters,
            }));
            let rest: Vec<&str> = perms
                .into_iter()
                .filter(|p| *p != "eks:DescribeCluster")
                .collect();
            statements
                .push(json!({"Sid": family, "Effect": "Allow", "Action": rest, "Resource": "*"}));
        } else {
            let perms: Vec<&str> = perms.into_iter().collect();
            statements
                .push(json!({"Sid": family, "Effect": "Allow", "Action": perms, "Resource": "*"}));
        }
    }
    statements.push(json!({
        "Sid": "ExperimentLogDelivery",
        "Effect": "Allow",
        "Action": LOG_DELIVERY,
        "Resource": "*",
    }));
    if let Some(r) = &g.fis.report {
        statements.push(json!({
            "Sid": "ExperimentReportDashboard",
            "Effect": "Allow",
            "Action": ["cloudwatch:GetDashboard"],
            "Resource": [crate::plan::dashboard::dashboard_arn(g)],
        }));
        statements.push(json!({
            "Sid": "ExperimentReportWidgets",
            "Effect": "Allow",
            "Action": ["cloudwatch:GetMetricWidgetImage"],
            "Resource": "*",
        }));
        statements.push(json!({
            "Sid": "ExperimentReportBucket",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [format!("arn:aws:s3:::{}/{}*", r.bucket, r.prefix.as_deref().unwrap_or(""))],
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Every IAM action [`permissions_policy`] grants, sorted (what `doctor` checks the role for).
pub fn required_actions(g: &GameDayScenario) -> BTreeSet<String> {
    let doc = permissions_policy(g);
    doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::actions::{check_policy_document, is_known};
    use crate::plan::generate::tests::planned;

    #[test]
    fn every_catalogue_action_has_a_row_and_every_row_is_real() {
        let cat = crate::plan::catalogue();
        for a in cat
            .actions
            .iter()
            .filter(|a| !PERMISSIONS_UNKNOWN.contains(&a.id.as_str()))
        {
            assert!(
                action_permissions(&a.id).is_some(),
                "FIS action {} has no row in iam::experiment::ACTION_PERMISSIONS: add its IAM \
                 permissions from the FIS actions reference",
                a.id
            );
        }
        for (id, _, perms) in ACTION_PERMISSIONS {
            assert!(cat.action(id).is_some(), "{id} is not a catalogue action");
            for p in *perms {
                assert!(is_known(p), "{id}: {p} is not an IAM action");
            }
        }
    }

    #[test]
    fn the_planned_gameday_gets_eks_pod_permissions_scoped_to_its_cluster() {
        let g = planned();
        assert!(unknown_actions(&g).is_empty());
        let doc = permissions_policy(&g);
        assert_eq!(check_policy_document(&doc, false), Vec::<String>::new());
        let text = doc.to_string();
        let statements = doc["Statement"].as_array().expect("statements");
        let describe = statements
            .iter()
            .find(|s| s["Sid"] == "EksPodsDescribeCluster")
            .expect("eks statement");
        let cluster = &g.scenarios[0].target.cluster;
        assert_eq!(
            describe["Resource"][0],
            format!(
                "arn:aws:eks:{}:{}:cluster/{cluster}",
                g.region, g.account_id
            )
        );
        assert!(text.contains("tag:GetResources") && text.contains("ec2:DescribeSubnets"));
        assert!(text.contains("logs:CreateLogDelivery"));
        // Nothing the plan does not use.
        for absent in ["ec2:TerminateInstances", "rds:", "ssm:", "fis:InjectApi"] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        assert!(required_actions(&g).contains("eks:DescribeCluster"));
    }

    #[test]
    fn trust_policy_names_fis_and_this_account() {
        let g = planned();
        let t = trust_policy(&g);
        assert_eq!(check_policy_document(&t, true), Vec::<String>::new());
        let st = &t["Statement"][0];
        assert_eq!(st["Principal"]["Service"], "fis.amazonaws.com");
        assert_eq!(
            st["Condition"]["StringEquals"]["aws:SourceAccount"],
            g.account_id
        );
    }

    #[test]
    fn role_name_and_path_split_the_arn() {
        assert_eq!(
            role_name_and_path("arn:aws:iam::1:role/gameday-fis"),
            ("gameday-fis".to_owned(), "/".to_owned())
        );
        assert_eq!(
            role_name_and_path("arn:aws:iam::1:role/service-role/x/fis"),
            ("fis".to_owned(), "/service-role/x/".to_owned())
        );
    }
}
