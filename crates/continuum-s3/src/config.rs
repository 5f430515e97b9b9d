//! Where each data class lives on S3, and which role may touch it: the `[s3]`
//! table of the home's storage file (`docs/adr/0013-s3-and-sts.md`).
//!
//! ```toml
//! storage = "s3"
//!
//! [s3]
//! endpoint = "http://127.0.0.1:5000"  # optional: a non-AWS server (moto)
//! region = "eu-west-1"
//! force_path_style = true             # optional, default false
//! session_duration_secs = 3600        # optional, 900..=43200, default 3600
//! refresh_before_secs = 300           # optional, default 300
//!
//! [s3.vault]
//! bucket = "acme-continuum-vault"
//! role_arn = "arn:aws:iam::123456789012:role/continuum-vault"
//! # prefix = "vault"                  # only when classes share a bucket
//!
//! [s3.memory]
//! ...
//! [s3.audit]
//! ...
//! ```

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The kinds of data kept apart on S3: each has its own bucket (or, for
/// development, its own prefix in one bucket) and its own IAM role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Sealed credentials (vault blobs): versioned, encrypted.
    Vault,
    /// Persona memories: versioned, encrypted.
    Memory,
    /// Shipped audit segments: object lock (COMPLIANCE), versioned, encrypted.
    Audit,
}

impl DataClass {
    /// Every class, in a fixed order.
    pub const ALL: [DataClass; 3] = [DataClass::Vault, DataClass::Memory, DataClass::Audit];

    /// Its name in configuration, session names and tags.
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Vault => "vault",
            DataClass::Memory => "memory",
            DataClass::Audit => "audit",
        }
    }

    /// Its position in [`DataClass::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for DataClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shortest session STS grants.
pub const MIN_SESSION_SECS: u32 = 900;
/// Longest session STS grants (a role's maximum may be lower).
pub const MAX_SESSION_SECS: u32 = 43_200;

fn default_session_secs() -> u32 {
    3600
}

fn default_refresh_before_secs() -> u32 {
    300
}

/// S3 storage: the `[s3]` table of the storage file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// A non-AWS endpoint for S3 and STS (`http://127.0.0.1:PORT` for moto);
    /// AWS's own endpoints when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The AWS region.
    pub region: String,
    /// Address buckets in the path (`host/bucket/key`), as moto and most
    /// S3-compatible servers want.
    #[serde(default)]
    pub force_path_style: bool,
    /// How long each set of temporary credentials lasts.
    #[serde(default = "default_session_secs")]
    pub session_duration_secs: u32,
    /// Credentials are replaced this long before they expire.
    #[serde(default = "default_refresh_before_secs")]
    pub refresh_before_secs: u32,
    /// Sealed credentials.
    pub vault: ClassStorage,
    /// Persona memories.
    pub memory: ClassStorage,
    /// Shipped audit segments.
    pub audit: ClassStorage,
}

/// Where one data class lives and the role that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassStorage {
    /// The bucket.
    pub bucket: String,
    /// The IAM role assumed for this class (its policy allows this bucket,
    /// or this prefix of it, and nothing else).
    pub role_arn: String,
    /// A key prefix for the class, without slashes at the ends; needed only
    /// when classes share a bucket (development), empty otherwise.
    #[serde(default)]
    pub prefix: String,
}

impl ClassStorage {
    /// The key prefix of `wallet` in this class: `[<prefix>/]<wallet>/`.
    pub fn wallet_prefix(&self, wallet: &str) -> String {
        format!("{}{wallet}/", self.class_prefix())
    }

    /// The key prefix of the whole class: `<prefix>/`, or empty.
    pub fn class_prefix(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

/// Why a storage configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML, or not the expected shape (TOML's message names the key and line).
    #[error("storage config: {0}")]
    Syntax(String),
    /// A value is wrong.
    #[error("storage config: {field}: {reason}")]
    Invalid {
        /// The TOML key at fault, e.g. `s3.memory.role_arn`.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl S3Config {
    /// The `[s3]` table of a storage file (other keys, such as `storage`,
    /// belong to the caller), checked.
    pub fn from_storage_toml(text: &str) -> Result<S3Config, ConfigError> {
        #[derive(Deserialize)]
        struct File {
            s3: Option<S3Config>,
        }
        let file: File =
            toml::from_str(text).map_err(|err| ConfigError::Syntax(err.to_string()))?;
        let config = file
            .s3
            .ok_or_else(|| invalid("s3", "missing: storage on S3 needs an [s3] table"))?;
        config.check()?;
        Ok(config)
    }

    /// Where `class` lives.
    pub fn class(&self, class: DataClass) -> &ClassStorage {
        match class {
            DataClass::Vault => &self.vault,
            DataClass::Memory => &self.memory,
            DataClass::Audit => &self.audit,
        }
    }

    /// How long each set of credentials lasts.
    pub fn session_duration(&self) -> Duration {
        Duration::from_secs(self.session_duration_secs.into())
    }

    /// How long before expiry credentials are replaced.
    pub fn refresh_before(&self) -> Duration {
        Duration::from_secs(self.refresh_before_secs.into())
    }

    /// Every rule, each refusal naming its key.
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint)?;
        }
        if self.region.is_empty()
            || !self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                "s3.region",
                format!("{:?} is not a region (like \"eu-west-1\")", self.region),
            ));
        }
        if !(MIN_SESSION_SECS..=MAX_SESSION_SECS).contains(&self.session_duration_secs) {
            return Err(invalid(
                "s3.session_duration_secs",
                format!(
                    "{} is outside STS's {MIN_SESSION_SECS}..={MAX_SESSION_SECS}",
                    self.session_duration_secs
                ),
            ));
        }
        if self.refresh_before_secs >= self.session_duration_secs {
            return Err(invalid(
                "s3.refresh_before_secs",
                format!(
                    "{} must be shorter than the session ({} s), or credentials would never be reused",
                    self.refresh_before_secs, self.session_duration_secs
                ),
            ));
        }
        for class in DataClass::ALL {
            check_class(class, self.class(class))?;
        }
        for (i, a) in DataClass::ALL.iter().enumerate() {
            for b in &DataClass::ALL[i + 1..] {
                check_apart(*a, self.class(*a), *b, self.class(*b))?;
            }
        }
        Ok(())
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    let host = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    match host {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(invalid(
            "s3.endpoint",
            format!("{endpoint:?} is not an http:// or https:// URL with a host"),
        )),
    }
}

fn check_class(class: DataClass, storage: &ClassStorage) -> Result<(), ConfigError> {
    let field = |name: &str| format!("s3.{class}.{name}");
    let bucket = &storage.bucket;
    let bucket_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let bucket_ends = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !bucket_chars || !bucket_ends || bucket.contains("..") {
        return Err(invalid(
            field("bucket"),
            format!(
                "{bucket:?} is not a bucket name (3-63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit)"
            ),
        ));
    }
    if !is_role_arn(&storage.role_arn) {
        return Err(invalid(
            field("role_arn"),
            format!(
                "{:?} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
                storage.role_arn
            ),
        ));
    }
    let prefix_ok = storage.prefix.is_empty()
        || storage.prefix.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if !prefix_ok || storage.prefix.len() > 64 {
        return Err(invalid(
            field("prefix"),
            format!(
                "{:?}: segments of letters, digits, '.', '_', '-' joined by '/', no '/' at either end, at most 64 bytes",
                storage.prefix
            ),
        ));
    }
    Ok(())
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn is_role_arn(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let name_ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    partition.starts_with("aws")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("role/").is_some_and(|name| {
            !name.is_empty() && !name.ends_with('/') && name.chars().all(name_ok)
        })
}

/// Two classes in one bucket need prefixes that never overlap, or one
/// class's role would reach the other's objects.
fn check_apart(
    a: DataClass,
    a_storage: &ClassStorage,
    b: DataClass,
    b_storage: &ClassStorage,
) -> Result<(), ConfigError> {
    if a_storage.bucket != b_storage.bucket {
        return Ok(());
    }
    let (pa, pb) = (a_storage.class_prefix(), b_storage.class_prefix());
    if pa.is_empty() || pb.is_empty() || pa.starts_with(&pb) || pb.starts_with(&pa) {
        return Err(invalid(
            format!("s3.{b}.prefix"),
            format!(
                "{a} and {b} share bucket {:?}: each needs its own prefix, neither inside the other",
                a_storage.bucket
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
storage = "s3"
[s3]
endpoint = "http://127.0.0.1:5000"
region = "us-east-1"
force_path_style = true
[s3.vault]
bucket = "cu-vault"
role_arn = "arn:aws:iam::123456789012:role/continuum-vault"
[s3.memory]
bucket = "cu-memory"
role_arn = "arn:aws:iam::123456789012:role/continuum-memory"
[s3.audit]
bucket = "cu-audit"
role_arn = "arn:aws:iam::123456789012:role/path/continuum-audit"
"#;

    fn with(from: &str, to: &str) -> Result<S3Config, ConfigError> {
        assert!(GOOD.contains(from), "{from}");
        S3Config::from_storage_toml(&GOOD.replacen(from, to, 1))
    }

    fn field_of(result: Result<S3Config, ConfigError>) -> String {
        match result {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn a_full_config_reads_with_defaults() {
        let config = S3Config::from_storage_toml(GOOD).unwrap();
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(config.force_path_style);
        assert_eq!(config.session_duration(), Duration::from_secs(3600));
        assert_eq!(config.refresh_before(), Duration::from_secs(300));
        assert_eq!(config.class(DataClass::Memory).bucket, "cu-memory");
        assert_eq!(config.memory.wallet_prefix("persona/p1"), "persona/p1/");
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let cases = [
            (
                ("region = \"us-east-1\"", "region = \"US East\""),
                "s3.region",
            ),
            (
                (
                    "endpoint = \"http://127.0.0.1:5000\"",
                    "endpoint = \"127.0.0.1:5000\"",
                ),
                "s3.endpoint",
            ),
            (
                ("bucket = \"cu-memory\"", "bucket = \"Cu_Memory\""),
                "s3.memory.bucket",
            ),
            (
                ("bucket = \"cu-vault\"", "bucket = \"cu\""),
                "s3.vault.bucket",
            ),
            (
                (
                    "role_arn = \"arn:aws:iam::123456789012:role/continuum-memory\"",
                    "role_arn = \"arn:aws:iam::1234:role/x\"",
                ),
                "s3.memory.role_arn",
            ),
            (
                (
                    "role_arn = \"arn:aws:iam::123456789012:role/continuum-vault\"",
                    "role_arn = \"arn:aws:iam::123456789012:user/x\"",
                ),
                "s3.vault.role_arn",
            ),
            (
                ("force_path_style = true", "session_duration_secs = 600"),
                "s3.session_duration_secs",
            ),
            (
                ("force_path_style = true", "refresh_before_secs = 3600"),
                "s3.refresh_before_secs",
            ),
            (
                (
                    "bucket = \"cu-audit\"",
                    "bucket = \"cu-audit\"\nprefix = \"/audit\"",
                ),
                "s3.audit.prefix",
            ),
        ];
        for ((from, to), field) in cases {
            assert_eq!(field_of(with(from, to)), field, "{to}");
        }
    }

    #[test]
    fn classes_may_share_a_bucket_only_under_separate_prefixes() {
        let shared = |vault: &str, memory: &str| {
            GOOD.replace(
                "bucket = \"cu-vault\"",
                &format!("bucket = \"cu-dev\"\nprefix = \"{vault}\""),
            )
            .replace(
                "bucket = \"cu-memory\"",
                &format!("bucket = \"cu-dev\"\nprefix = \"{memory}\""),
            )
        };
        let config = S3Config::from_storage_toml(&shared("vault", "memory")).unwrap();
        assert_eq!(config.vault.wallet_prefix("owner"), "vault/owner/");
        for (vault, memory) in [("", "memory"), ("data", "data/memory"), ("same", "same")] {
            assert_eq!(
                field_of(S3Config::from_storage_toml(&shared(vault, memory))),
                "s3.memory.prefix",
                "{vault:?} {memory:?}"
            );
        }
    }

    #[test]
    fn shape_errors_are_syntax_errors_naming_the_key() {
        for (text, key) in [
            (GOOD.replace("region = \"us-east-1\"\n", ""), "region"),
            (
                GOOD.replace("force_path_style", "force_path_styles"),
                "force_path_styles",
            ),
            ("storage = [".to_owned(), ""),
        ] {
            match S3Config::from_storage_toml(&text) {
                Err(ConfigError::Syntax(message)) => assert!(message.contains(key), "{message}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            field_of(S3Config::from_storage_toml("storage = \"s3\"")),
            "s3"
        );
    }
}
