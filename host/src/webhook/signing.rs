//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): a tool with a
//! signing secret sends `webhook-id` (the call id), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so the endpoint can
//! prove the request came from Switchboard and was not replayed or altered.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The secret's key bytes, from its `whsec_<base64>` form (24 to 64 bytes).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!("must start with '{SECRET_PREFIX}' (the Standard Webhooks format)")
    })?;
    let key = STANDARD
        .decode(b64)
        .map_err(|_| format!("must be '{SECRET_PREFIX}' followed by base64"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "must decode to 24 to 64 bytes of key, got {}",
            key.len()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` value for a message.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example from the Standard Webhooks specification.
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn refuses_malformed_secrets() {
        assert!(decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(decode_secret("whsec_***").is_err());
        assert!(
            decode_secret("whsec_c2hvcnQ=")
                .unwrap_err()
                .contains("24 to 64")
        );
    }
}
