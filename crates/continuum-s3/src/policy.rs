//! What an STS session may touch: the session policy, session name and
//! session tags sent with each AssumeRole. Pure functions over the config,
//! so a test can compare what the broker sends with what it should send.
//!
//! The role's own policy bounds its class (one bucket, or one prefix of a
//! shared bucket); the session policy narrows each session to one wallet:
//! objects under `<bucket>/[<class prefix>/]<wallet>/*` and listings of that
//! prefix only. AWS intersects the two on every request.

use crate::config::{ClassStorage, DataClass};
use serde_json::{json, Value};

/// Longest wallet the broker scopes (the store's label limit).
pub const MAX_WALLET_BYTES: usize = 128;

/// What one set of credentials covers within a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    /// One wallet and everything below it (`persona/p1` covers
    /// `persona/p1/...`, never `persona/p10/...`).
    Wallet(&'a str),
    /// The whole class (owner listings across wallets).
    Class,
}

impl<'a> Scope<'a> {
    /// The wallet, if the scope is one.
    pub fn wallet(self) -> Option<&'a str> {
        match self {
            Scope::Wallet(wallet) => Some(wallet),
            Scope::Class => None,
        }
    }
}

/// Why a wallet cannot be scoped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wallet {wallet:?} cannot scope S3 credentials: it must be 1 to {MAX_WALLET_BYTES} bytes of segments of letters, digits, '.', '_', ':' or '-' joined by '/' (no '.' or '..' segment)")]
pub struct BadWallet {
    /// The wallet refused.
    pub wallet: String,
}

/// Checks a wallet before it goes into a policy's resource, a key or a tag.
/// Stricter than a plain label on purpose: `*`, `?` and `$` would be
/// wildcards or policy variables in an IAM resource and widen the session;
/// `.` and `..` segments could be normalized away on the path.
pub fn check_wallet(wallet: &str) -> Result<(), BadWallet> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    let ok = !wallet.is_empty()
        && wallet.len() <= MAX_WALLET_BYTES
        && wallet.split('/').all(|segment| {
            !segment.is_empty() && segment != "." && segment != ".." && segment.chars().all(allowed)
        });
    if ok {
        Ok(())
    } else {
        Err(BadWallet {
            wallet: wallet.to_owned(),
        })
    }
}

/// The object actions a session of `class` may use on its prefix: vault
/// and memory read, write and delete; audit only reads and appends (with a
/// retention date), never deletes.
pub fn object_actions(class: DataClass) -> &'static [&'static str] {
    match class {
        DataClass::Vault | DataClass::Memory => {
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        }
        DataClass::Audit => &["s3:GetObject", "s3:PutObject", "s3:PutObjectRetention"],
    }
}

/// The key prefix `scope` covers in `storage`: `[<class prefix>/]<wallet>/`,
/// or the class prefix (possibly empty) for [`Scope::Class`].
pub fn scope_prefix(storage: &ClassStorage, scope: Scope<'_>) -> String {
    match scope {
        Scope::Wallet(wallet) => storage.wallet_prefix(wallet),
        Scope::Class => storage.class_prefix(),
    }
}

/// The session policy sent with AssumeRole for `scope` in `class`: objects
/// under `arn:aws:s3:::<bucket>/<prefix>*` with [`object_actions`], and
/// `s3:ListBucket` on the bucket only for listings under that prefix.
/// `scope`'s wallet must have passed [`check_wallet`].
pub fn session_policy(class: DataClass, storage: &ClassStorage, scope: Scope<'_>) -> String {
    let prefix = scope_prefix(storage, scope);
    let bucket = &storage.bucket;
    let mut listing = json!({
        "Sid": "ListOwnPrefix",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": format!("arn:aws:s3:::{bucket}"),
    });
    // An empty prefix is the whole bucket: no condition (a StringLike on an
    // absent `s3:prefix` would refuse a listing of the whole bucket).
    if !prefix.is_empty() {
        listing["Condition"] = json!({ "StringLike": { "s3:prefix": [format!("{prefix}*")] } });
    }
    let policy: Value = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnPrefixObjects",
                "Effect": "Allow",
                "Action": object_actions(class),
                "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
            },
            listing,
        ],
    });
    policy.to_string()
}

/// The session name (what CloudTrail shows): `cu-<class>-<wallet>`, the
/// wallet's characters that STS refuses made `-`, at most 64 characters.
pub fn session_name(class: DataClass, scope: Scope<'_>) -> String {
    let who = scope.wallet().unwrap_or("all");
    let name: String = format!("cu-{class}-{who}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name
}

/// The session tags: `class`, and `wallet` for a wallet scope.
pub fn session_tags(class: DataClass, scope: Scope<'_>) -> Vec<(&'static str, String)> {
    let mut tags = vec![("class", class.as_str().to_owned())];
    if let Some(wallet) = scope.wallet() {
        tags.push(("wallet", wallet.to_owned()));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(prefix: &str) -> ClassStorage {
        ClassStorage {
            bucket: "cu-memory".into(),
            role_arn: "arn:aws:iam::123456789012:role/m".into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn a_wallet_session_reaches_only_its_prefix() {
        let scope = Scope::Wallet("persona/p1");
        let policy: Value =
            serde_json::from_str(&session_policy(DataClass::Memory, &storage(""), scope)).unwrap();
        assert_eq!(
            policy,
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OwnPrefixObjects",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        "Resource": "arn:aws:s3:::cu-memory/persona/p1/*",
                    },
                    {
                        "Sid": "ListOwnPrefix",
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": "arn:aws:s3:::cu-memory",
                        "Condition": { "StringLike": { "s3:prefix": ["persona/p1/*"] } },
                    },
                ],
            })
        );
    }

    #[test]
    fn a_shared_bucket_puts_the_class_prefix_first() {
        let policy = session_policy(DataClass::Audit, &storage("audit"), Scope::Wallet("owner"));
        assert!(
            policy.contains("\"arn:aws:s3:::cu-memory/audit/owner/*\""),
            "{policy}"
        );
        assert!(policy.contains("[\"audit/owner/*\"]"), "{policy}");
        assert!(
            !policy.contains("DeleteObject"),
            "audit never deletes: {policy}"
        );
        let whole = session_policy(DataClass::Vault, &storage(""), Scope::Class);
        assert!(whole.contains("\"arn:aws:s3:::cu-memory/*\""), "{whole}");
        assert!(!whole.contains("Condition"), "{whole}");
    }

    #[test]
    fn wildcards_and_dot_segments_never_reach_a_policy() {
        for good in ["owner", "persona/p1", "persona/p-1.x:y_z", &"w".repeat(128)] {
            assert!(check_wallet(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "*",
            "persona/*",
            "p?",
            "${aws:username}",
            "a//b",
            "/a",
            "a/",
            "a/../b",
            ".",
            "a b",
            "é",
            &"w".repeat(129),
        ] {
            assert!(check_wallet(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn session_names_and_tags_carry_class_and_wallet() {
        let scope = Scope::Wallet("persona/p1:x");
        assert_eq!(
            session_name(DataClass::Vault, scope),
            "cu-vault-persona-p1-x"
        );
        assert_eq!(session_name(DataClass::Vault, Scope::Class), "cu-vault-all");
        let long_wallet = "w".repeat(128);
        let long = Scope::Wallet(&long_wallet);
        assert_eq!(session_name(DataClass::Memory, long).len(), 64);
        assert_eq!(
            session_tags(DataClass::Memory, scope),
            [
                ("class", "memory".to_owned()),
                ("wallet", "persona/p1:x".to_owned())
            ]
        );
    }
}
