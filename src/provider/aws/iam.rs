//! IAM reads over `aws-sdk-iam`: the FIS experiment role and its policies, for `doctor`.
//!
//! Input: a role name. Output: [`RoleFacts`] — the trust policy and every policy document the
//! role carries (inline, and the default version of each attached managed policy), decoded
//! from IAM's URL-encoded form. Must not: change anything in IAM, but for the emulator's
//! simulated FIS role that `gameday demo seed` creates.

use serde_json::Value;

use super::{AwsClients, call_error};
use crate::provider::{ProviderError, ProviderResult};

/// What IAM says about a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleFacts {
    /// The role ARN.
    pub arn: String,
    /// The trust (assume-role) policy.
    pub trust_policy: Value,
    /// Every permissions policy: `(name, document)`, inline ones first.
    pub policies: Vec<(String, Value)>,
}

/// Decodes `%XX` escapes and `+` (IAM returns policy documents URL-encoded).
pub(super) fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document as IAM returns it: JSON, or URL-encoded JSON.
pub(super) fn document(op: &'static str, text: &str) -> ProviderResult<Value> {
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&url_decode(text)))
        .map_err(|e| ProviderError::Unexpected {
            operation: op,
            message: format!("policy document is not JSON: {e}"),
        })
}

impl AwsClients {
    /// Creates a role with this trust policy and one inline permissions policy, unless a role
    /// of that name exists. Only for the emulator's simulated FIS role (`demo seed`, which
    /// refuses any endpoint but loopback); returns whether it was created.
    ///
    /// # Errors
    /// [`ProviderError::Call`] when IAM refuses the role or its policy.
    pub async fn create_role_unless_exists(
        &self,
        role_name: &str,
        trust: &Value,
        policy_name: &str,
        policy: &Value,
    ) -> ProviderResult<bool> {
        use aws_sdk_iam::error::ProvideErrorMetadata;
        match self
            .iam
            .create_role()
            .role_name(role_name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.code() == Some("EntityAlreadyExists") => return Ok(false),
            Err(e) => return Err(call_error("iam:CreateRole", e)),
        }
        self.iam
            .put_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .policy_document(policy.to_string())
            .send()
            .await
            .map_err(|e| call_error("iam:PutRolePolicy", e))?;
        Ok(true)
    }

    /// The role and its policies, or `None` when the role does not exist.
    ///
    /// # Errors
    /// [`ProviderError::Call`] when IAM refuses a read (other than "no such role").
    pub async fn role_facts(&self, role_name: &str) -> ProviderResult<Option<RoleFacts>> {
        use aws_sdk_iam::error::ProvideErrorMetadata;
        const GET_ROLE: &str = "iam:GetRole";
        const LIST_INLINE: &str = "iam:ListRolePolicies";
        const GET_INLINE: &str = "iam:GetRolePolicy";
        const LIST_ATTACHED: &str = "iam:ListAttachedRolePolicies";
        const GET_POLICY: &str = "iam:GetPolicy";
        const GET_VERSION: &str = "iam:GetPolicyVersion";
        let role = match self.iam.get_role().role_name(role_name).send().await {
            Ok(out) => out.role,
            Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(call_error(GET_ROLE, e)),
        };
        let Some(role) = role else { return Ok(None) };
        let trust_policy = match role.assume_role_policy_document() {
            Some(text) => document(GET_ROLE, text)?,
            None => Value::Null,
        };
        let mut policies = Vec::new();
        let inline = self
            .iam
            .list_role_policies()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| call_error(LIST_INLINE, e))?;
        for name in inline.policy_names() {
            let out = self
                .iam
                .get_role_policy()
                .role_name(role_name)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| call_error(GET_INLINE, e))?;
            policies.push((name.clone(), document(GET_INLINE, out.policy_document())?));
        }
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| call_error(LIST_ATTACHED, e))?;
        for p in attached.attached_policies() {
            let Some(arn) = p.policy_arn() else { continue };
            let policy = self
                .iam
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| call_error(GET_POLICY, e))?;
            let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
                continue;
            };
            let out = self
                .iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| call_error(GET_VERSION, e))?;
            if let Some(text) = out.policy_version().and_then(|v| v.document()) {
                policies.push((arn.to_owned(), document(GET_VERSION, text)?));
            }
        }
        Ok(Some(RoleFacts {
            arn: role.arn().to_owned(),
            trust_policy,
            policies,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_restores_policy_json() {
        assert_eq!(
            url_decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(url_decode("a+b%2"), "a b%2");
        let v = document("x", "%7B%22a%22%3A1%7D").expect("decodes");
        assert_eq!(v["a"], 1);
    }
}
