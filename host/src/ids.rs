//! Prefixed identifiers and secrets: every id says what it names when it shows up in a log
//! (`ten_…`, `tool_…`, `key_…`, `call_…`), and every credential says it is a Switchboard
//! key (`sbk_…`) so a leaked one is recognisable by secret scanners.
//!
//! This module never stores or logs a secret: it only mints them and hashes them.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from [0-9A-Za-z] with the OS's CSPRNG.
pub fn random_alnum(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        os_random(&mut buf);
        // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[(*b % 62) as usize] as char);
        }
    }
    out
}

/// Fills `out` with bytes from the OS's CSPRNG, drawn 4 KiB at a time per thread: every
/// call id is random, and one `getrandom` syscall per call was 2% of an invocation. Bytes
/// are handed out once and wiped from the pool as they go. (The process never forks, so
/// no two processes share a pool.)
fn os_random(out: &mut [u8]) {
    use std::cell::RefCell;
    const POOL: usize = 4096;
    struct Pool {
        bytes: [u8; POOL],
        next: usize,
    }
    thread_local! {
        static RANDOM: RefCell<Pool> = const {
            RefCell::new(Pool {
                bytes: [0; POOL],
                next: POOL,
            })
        };
    }
    RANDOM.with_borrow_mut(|pool| {
        let mut filled = 0;
        while filled < out.len() {
            if pool.next == POOL {
                getrandom::fill(&mut pool.bytes).expect("the OS random source failed");
                pool.next = 0;
            }
            let take = (out.len() - filled).min(POOL - pool.next);
            let drawn = &mut pool.bytes[pool.next..pool.next + take];
            out[filled..filled + take].copy_from_slice(drawn);
            drawn.fill(0);
            pool.next += take;
            filled += take;
        }
    });
}

/// Lowercase hex of SHA-256: how keys and tokens are stored and compared.
pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// Equality whose running time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, example = json!(concat!($prefix, "3kT9vQ2mX8pL1nR4wZ6y")))]
        pub struct $name(pub String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_alnum(20)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

prefixed_id!(
    /// A tenant (a business).
    TenantId,
    "ten_"
);
prefixed_id!(
    /// A webhook tool definition.
    ToolId,
    "tool_"
);
prefixed_id!(
    /// An API key's public id (not the secret).
    KeyId,
    "key_"
);
prefixed_id!(
    /// An uploaded Wasm component.
    ComponentId,
    "cmp_"
);
prefixed_id!(
    /// One invocation of a tool.
    CallId,
    "call_"
);

/// The prefix of every tenant API key.
pub const KEY_PREFIX: &str = "sbk_";

/// A new tenant API key: `sbk_` + 40 random characters (~238 bits).
pub fn new_api_key() -> String {
    format!("{KEY_PREFIX}{}", random_alnum(40))
}

/// A new operator token, used when the operator gave none.
pub fn new_admin_token() -> String {
    format!("sbo_{}", random_alnum(40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = ToolId::generate();
        let b = ToolId::generate();
        assert!(a.as_str().starts_with("tool_"));
        assert_eq!(a.as_str().len(), 25);
        assert_ne!(a, b);
    }

    #[test]
    fn pooled_randomness_never_repeats_across_refills() {
        // 5,000 ids draw ~130 KiB: the per-thread pool refills dozens of times.
        let ids: std::collections::HashSet<String> =
            (0..5_000).map(|_| CallId::generate().0).collect();
        assert_eq!(ids.len(), 5_000);
        // A request larger than the pool is served across refills, not truncated.
        let mut big = vec![0u8; 10_000];
        os_random(&mut big);
        assert!(big.chunks(4096).all(|c| c.iter().any(|b| *b != 0)));
        assert_ne!(big[..4096], big[4096..8192]);
    }

    #[test]
    fn keys_are_alphanumeric_after_the_prefix() {
        let key = new_api_key();
        assert!(key.starts_with(KEY_PREFIX));
        assert!(key[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(key.len(), 44);
    }

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_inputs() {
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"sama"));
        assert!(!constant_time_eq(b"same", b"sam"));
    }
}
