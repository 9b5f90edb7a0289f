//! [`ResourceInventory`] over EKS, RDS and IAM: the read-only calls preflight makes before a
//! fault beyond pods (node groups, DB clusters, IAM roles and their trust policies). Must not
//! change anything.

use std::collections::BTreeMap;

use super::{AwsClients, call_error};
use crate::provider::{
    DbClusterFacts, NodegroupFacts, ProviderResult, ResourceInventory, RoleFacts,
};

impl ResourceInventory for AwsClients {
    async fn nodegroups(&self, cluster: &str) -> ProviderResult<Vec<NodegroupFacts>> {
        const LIST: &str = "eks:ListNodegroups";
        const DESCRIBE: &str = "eks:DescribeNodegroup";
        let mut names = Vec::new();
        let mut pages = self
            .eks
            .list_nodegroups()
            .cluster_name(cluster)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error(LIST, e))?;
            names.extend(page.nodegroups().iter().cloned());
        }
        let mut out = Vec::new();
        for name in names {
            let ng = self
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&name)
                .send()
                .await
                .map_err(|e| call_error(DESCRIBE, e))?;
            let Some(ng) = ng.nodegroup() else { continue };
            out.push(NodegroupFacts {
                name,
                tags: ng
                    .tags()
                    .map(|t| t.clone().into_iter().collect())
                    .unwrap_or_default(),
                desired_size: ng
                    .scaling_config()
                    .and_then(|s| s.desired_size())
                    .unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn db_clusters(&self) -> ProviderResult<Vec<DbClusterFacts>> {
        const OP: &str = "rds:DescribeDBClusters";
        let mut out = Vec::new();
        let mut pages = self.rds.describe_db_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error(OP, e))?;
            for c in page.db_clusters() {
                out.push(DbClusterFacts {
                    id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
                    tags: c
                        .tag_list()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                        .collect(),
                    members: c
                        .db_cluster_members()
                        .iter()
                        .map(|m| {
                            (
                                m.db_instance_identifier().unwrap_or_default().to_owned(),
                                m.is_cluster_writer().unwrap_or(false),
                            )
                        })
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    async fn role(&self, arn: &str) -> ProviderResult<Option<RoleFacts>> {
        const GET: &str = "iam:GetRole";
        const TAGS: &str = "iam:ListRoleTags";
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let role = match self.iam.get_role().role_name(name).send().await {
            Ok(r) => r,
            Err(e) => {
                let not_found = e.as_service_error().is_some_and(
                    aws_sdk_iam::operation::get_role::GetRoleError::is_no_such_entity_exception,
                );
                if not_found {
                    return Ok(None);
                }
                return Err(call_error(GET, e));
            }
        };
        let tags = self
            .iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(|e| call_error(TAGS, e))?;
        let tags: BTreeMap<String, String> = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        let trust_policy = match role.role().and_then(|r| r.assume_role_policy_document()) {
            Some(text) => super::iam::document(GET, text)?,
            None => serde_json::Value::Null,
        };
        Ok(Some(RoleFacts {
            arn: role
                .role()
                .map_or_else(|| arn.to_owned(), |r| r.arn().to_owned()),
            tags,
            trust_policy,
        }))
    }
}
