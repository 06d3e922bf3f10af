//! Secrets at rest. Secret header values and signing secrets are sealed with
//! XChaCha20-Poly1305 under the operator's key before they are stored, and opened only when
//! an outbound request is built (DESIGN step 5). Each ciphertext is bound, as associated
//! data, to its tenant, tool and secret name: moved to another row, it fails to open.
//!
//! The key comes from `SWITCHBOARD_SECRET_KEY` (64 hex characters) or from
//! `DATA_DIR/secret-key`, generated with mode 0600 on first start. This module never logs a
//! secret or the key; its errors say which secret failed, never what it was.

use std::path::Path;

use anyhow::Context;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};

use crate::ids::{TenantId, ToolId};

/// Marks a sealed value, with the format version.
const PREFIX: &str = "enc:v1:";

/// Where a secret belongs; part of what is authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The owning tenant.
    pub tenant: &'a TenantId,
    /// The owning tool.
    pub tool: &'a ToolId,
    /// Which secret of the tool, e.g. `header:authorization` or `signing-secret`.
    pub name: &'a str,
}

impl Binding<'_> {
    fn aad(&self) -> Vec<u8> {
        format!(
            "switchboard/secret/v1\0{}\0{}\0{}",
            self.tenant,
            self.tool,
            self.name.to_ascii_lowercase()
        )
        .into_bytes()
    }
}

/// A sealed value could not be opened (wrong key, tampered, or moved from another row).
#[derive(Debug, thiserror::Error)]
#[error(
    "secret '{0}' could not be decrypted (wrong SWITCHBOARD_SECRET_KEY, or the stored value was altered or moved)"
)]
pub struct OpenError(pub String);

/// Seals and opens secrets with the operator's key (cheap to clone).
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// The configured key, or the one in `DATA_DIR/secret-key` (generated when absent).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(hex) = configured {
            return Ok(Self::new(parse_key(hex).context("SWITCHBOARD_SECRET_KEY")?));
        }
        let path = data_dir.join("secret-key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = parse_key(text.trim())
                .with_context(|| format!("the key file {}", path.display()))?;
            return Ok(Self::new(key));
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        crate::state::write_private(&path, to_hex(&key).as_bytes())
            .with_context(|| format!("writing the secret key to {}", path.display()))?;
        tracing::info!(path = %path.display(), "generated the key that encrypts tenant secrets (mode 0600); back it up with the database");
        Ok(Self::new(key))
    }

    /// Whether `value` is already sealed.
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Seals `plaintext` for `binding`.
    pub fn seal(&self, binding: Binding<'_>, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS random source failed");
        let aad = binding.aad();
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", STANDARD.encode(raw))
    }

    /// Opens a value sealed for `binding`.
    pub fn open(&self, binding: Binding<'_>, sealed: &str) -> Result<String, OpenError> {
        let fail = || OpenError(binding.name.to_owned());
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|raw| raw.len() > 24)
            .ok_or_else(fail)?;
        let aad = binding.aad();
        let plaintext = self
            .cipher
            .decrypt(
                XNonce::from_slice(&raw[..24]),
                Payload {
                    msg: &raw[24..],
                    aad: &aad,
                },
            )
            .map_err(|_| fail())?;
        String::from_utf8(plaintext).map_err(|_| fail())
    }
}

fn parse_key(hex: &str) -> anyhow::Result<[u8; 32]> {
    anyhow::ensure!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "the secret key must be 64 hex characters (32 bytes)"
    );
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(key)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, ToolId, ToolId) {
        (TenantId::generate(), ToolId::generate(), ToolId::generate())
    }

    #[test]
    fn seals_and_opens_with_a_fresh_nonce_each_time() {
        let sb = SecretBox::new([7; 32]);
        let (tenant, tool, _) = ids();
        let b = Binding {
            tenant: &tenant,
            tool: &tool,
            name: "header:Authorization",
        };
        let a = sb.seal(b, "Bearer sentinel");
        let c = sb.seal(b, "Bearer sentinel");
        assert_ne!(a, c);
        assert!(!a.contains("sentinel") && SecretBox::is_sealed(&a));
        assert_eq!(sb.open(b, &a).unwrap(), "Bearer sentinel");
        // The name's case does not matter (HTTP header names are case-insensitive).
        let lower = Binding {
            name: "header:authorization",
            ..b
        };
        assert_eq!(sb.open(lower, &a).unwrap(), "Bearer sentinel");
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_or_key_does_not_open() {
        let sb = SecretBox::new([7; 32]);
        let (tenant, tool, other_tool) = ids();
        let other_tenant = TenantId::generate();
        let b = Binding {
            tenant: &tenant,
            tool: &tool,
            name: "header:x-api-key",
        };
        let sealed = sb.seal(b, "s3cret");
        for moved in [
            Binding {
                tool: &other_tool,
                ..b
            },
            Binding {
                tenant: &other_tenant,
                ..b
            },
            Binding {
                name: "header:x-other",
                ..b
            },
        ] {
            assert!(sb.open(moved, &sealed).is_err());
        }
        assert!(
            SecretBox::new([8; 32]).open(b, &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(sb.open(b, &tampered).is_err());
        assert!(sb.open(b, "enc:v1:!!!").is_err());
        assert!(sb.open(b, "plain").is_err());
    }

    #[test]
    fn keys_are_64_hex_characters() {
        assert!(parse_key(&"ab".repeat(32)).is_ok());
        assert!(parse_key("abc").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }
}
