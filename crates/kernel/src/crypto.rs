//! Secrets and personal data: random tokens, hashes, password hashing (argon2id) and
//! encryption at rest for sensitive fields (AES-256-GCM with a key from configuration).

use crate::error::{AppError, AppResult};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A URL-safe random token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random numeric code of `digits` digits (for SMS login codes).
pub fn random_digits(digits: u32) -> String {
    use rand::Rng;
    let n = rand::thread_rng().gen_range(0..10u64.pow(digits));
    format!("{n:0width$}", width = digits as usize)
}

/// SHA-256 of a token, hex; tokens are stored only this way.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> AppResult<String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored)
        .map(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Checks a password against a stored hash, or against a stand-in when there is none (an
/// unknown number, an SMS-only account, a damaged hash): every path costs one argon2
/// verification, so how long a refusal takes does not tell who is registered.
fn verify_password_or_stand_in(password: &str, stored: Option<&str>) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    static STAND_IN: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("not-a-real-password").expect("argon2 hashes"));
    let real = stored.and_then(|s| PasswordHash::new(s).ok());
    let target = match &real {
        Some(h) => h.clone(),
        None => PasswordHash::new(&STAND_IN).expect("stand-in hash parses"),
    };
    let matched = argon2::Argon2::default().verify_password(password.as_bytes(), &target).is_ok();
    matched && real.is_some()
}

/// argon2 is deliberately slow (tens of milliseconds of one core): it runs on the blocking
/// pool, at most one computation per CPU, so a flood of logins queues here instead of
/// starving the async workers that answer every other request.
async fn on_argon2_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    static ARGON2: std::sync::LazyLock<crate::workers::Workers> = std::sync::LazyLock::new(|| crate::workers::Workers::per_cpu(64));
    ARGON2.run(work).await.map_err(|e| match e {
        crate::workers::Refused::Busy => AppError::TooManyRequests { retry_after_s: 5 },
        crate::workers::Refused::Failed(why) => AppError::internal(why),
    })
}

/// [`hash_password`] off the async workers; every caller outside tests uses this one.
pub async fn hash_password_async(password: &str) -> AppResult<String> {
    let password = password.to_string();
    on_argon2_pool(move || hash_password(&password)).await?
}

/// Checks a password off the async workers. `stored` is the account's hash, `None` when there
/// is no account or no password: that still costs one verification (against a stand-in) and
/// answers `false`.
pub async fn verify_password_async(password: &str, stored: Option<&str>) -> AppResult<bool> {
    let (password, stored) = (password.to_string(), stored.map(str::to_string));
    on_argon2_pool(move || verify_password_or_stand_in(&password, stored.as_deref())).await
}

/// Encrypts and blind-indexes sensitive fields, and signs the server's own tokens, with keys
/// derived from the configured secret.
#[derive(Clone)]
pub struct FieldCipher {
    aead: Aes256Gcm,
    index_key: [u8; 32],
    signing_key: [u8; 32],
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(..)")
    }
}

impl FieldCipher {
    /// Derives the encryption and index keys from the secret.
    pub fn from_secret(secret: &str) -> Self {
        let enc_key = Sha256::digest(format!("linli-field-encryption:{secret}").as_bytes());
        let index_key: [u8; 32] = Sha256::digest(format!("linli-blind-index:{secret}").as_bytes()).into();
        let signing_key: [u8; 32] = Sha256::digest(format!("linli-signing:{secret}").as_bytes()).into();
        Self { aead: Aes256Gcm::new_from_slice(&enc_key).expect("32-byte key"), index_key, signing_key }
    }

    /// Encrypts `plain` into `v1:<base64(nonce || ciphertext)>`.
    pub fn encrypt(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self.aead.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).expect("encryption");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", STANDARD.encode(out))
    }

    /// Decrypts a value made by [`FieldCipher::encrypt`].
    pub fn decrypt(&self, stored: &str) -> AppResult<String> {
        let raw = stored
            .strip_prefix("v1:")
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|r| r.len() > 12)
            .ok_or_else(|| AppError::internal("malformed encrypted field"))?;
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| AppError::internal("encrypted field does not decrypt with this key"))?;
        String::from_utf8(plain).map_err(AppError::internal)
    }

    /// A keyed hash for finding a record by a sensitive value without storing it in clear.
    pub fn blind_index(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("hmac key");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A MAC of `value` for one `purpose` (base64url): only a holder of the secret can make it,
    /// so a token carrying it was issued by this deployment. Purposes keep one token from
    /// passing for another.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.signing_key).expect("hmac key");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// Compares two secrets in time that depends only on their length.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A mainland China resident ID number (18 characters, ISO 7064 check digit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCardNumber(String);

impl IdCardNumber {
    /// Validates format, birth date and check digit. Wide digits and a wide Ｘ, as a phone's
    /// keyboard gives them, are read as typed on a plain keyboard.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        use unicode_normalization::UnicodeNormalization;
        let s: String = input.nfkc().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        // Eighteen bytes of other scripts are not eighteen characters: check before slicing.
        if s.len() != 18 || !s.is_ascii() || !s[..17].bytes().all(|b| b.is_ascii_digit()) {
            return Err("id_number_format");
        }
        let last = s.as_bytes()[17];
        if !(last.is_ascii_digit() || last == b'X') {
            return Err("id_number_format");
        }
        let birth = &s[6..14];
        if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
            return Err("id_number_birth");
        }
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = s.bytes().take(17).zip(WEIGHTS).map(|(b, w)| (b - b'0') as u32 * w).sum();
        if CHECK[(sum % 11) as usize] != last {
            return Err("id_number_checksum");
        }
        Ok(Self(s))
    }
    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Year of birth.
    pub fn birth_year(&self) -> i32 {
        self.0[6..10].parse().unwrap_or(0)
    }
    /// Birth date as `YYYY-MM-DD`.
    pub fn birth_date(&self) -> String {
        format!("{}-{}-{}", &self.0[6..10], &self.0[10..12], &self.0[12..14])
    }
    /// `男`/`女` from the 17th digit, as a code: `male` / `female`.
    pub fn gender(&self) -> &'static str {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { "male" } else { "female" }
    }
    /// Masked for display: `3201**********1234`.
    pub fn masked(&self) -> String {
        mask_id_number(&self.0)
    }
    /// Builds a valid number from its first 17 digits (for demo data and tests).
    pub fn with_check_digit(first17: &str) -> Self {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: &[u8; 11] = b"10X98765432";
        let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| (b - b'0') as u32 * w).sum();
        Self(format!("{first17}{}", CHECK[(sum % 11) as usize] as char))
    }
}

/// Masks an ID number: the first four and last four characters stay.
pub fn mask_id_number(s: &str) -> String {
    if s.len() < 8 {
        return "*".repeat(s.len());
    }
    format!("{}{}{}", &s[..4], "*".repeat(s.len() - 8), &s[s.len() - 4..])
}

/// A mainland mobile number: 11 digits starting 13–19, an optional +86 prefix removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Validates and normalises: spaces (any kind), dashes and wide digits or plus signs, as a
    /// phone's keyboard or a copied number may give them, are read as typed on a plain keyboard.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '－' | '‐' | '‑' | '–' | '—'))
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '＋' => '+',
                c => c,
            })
            .collect();
        let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit) {
            Ok(Self(digits.to_string()))
        } else {
            Err("phone_invalid")
        }
    }
    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Masked for display: `138****5678`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks a phone number, keeping the first three and last four digits.
pub fn mask_phone(s: &str) -> String {
    if s.len() != 11 {
        return mask_id_number(s);
    }
    format!("{}****{}", &s[..3], &s[7..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_number_check_digit_is_enforced() {
        let good = IdCardNumber::with_check_digit("32010219500101123");
        assert!(IdCardNumber::parse(good.as_str()).is_ok());
        let mut bad = good.as_str().to_string();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(IdCardNumber::parse(&bad), Err("id_number_checksum"));
        assert_eq!(IdCardNumber::parse("3201021950"), Err("id_number_format"));
        assert_eq!(IdCardNumber::parse("320102195013011230"), Err("id_number_birth"));
        // Eighteen bytes that are six Chinese characters, or digits with one wide character.
        assert_eq!(IdCardNumber::parse("身份证号码填"), Err("id_number_format"));
        assert_eq!(IdCardNumber::parse("320102195001011க"), Err("id_number_format"));
    }

    #[test]
    fn known_public_example_validates() {
        // The worked example from GB 11643-1999.
        assert!(IdCardNumber::parse("11010519491231002X").is_ok());
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask_id_number("320102195001011234"), "3201**********1234");
        assert_eq!(PhoneNumber::parse("+86 138-0000-5678").unwrap().masked(), "138****5678");
        assert!(PhoneNumber::parse("12345678901").is_err());
        for typed in ["139 0000 0006", "１３９０００００００６", "139-0000-0006", "＋８６ １３９　００００　０００６", "139－0000－0006"] {
            assert_eq!(PhoneNumber::parse(typed).unwrap().as_str(), "13900000006", "{typed}");
        }
        assert!(PhoneNumber::parse("１３９０００").is_err());
        let typed = IdCardNumber::with_check_digit("32010219560312042");
        let wide: String = typed.as_str().chars().map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c)).collect();
        assert_eq!(IdCardNumber::parse(&wide).unwrap(), typed, "{wide}");
        proptest::proptest!(|(typed in "\\PC{0,40}|[0-9０-９ \u{3000}\\-－+＋]{0,30}")| {
            // Whatever is typed: a valid number is eleven ASCII digits, anything else is refused.
            if let Ok(p) = PhoneNumber::parse(&typed) {
                proptest::prop_assert!(p.as_str().len() == 11 && p.as_str().bytes().all(|b| b.is_ascii_digit()));
            }
        });
        assert!(PhoneNumber::parse("139０000０００6😀").is_err());
    }

    #[test]
    fn field_encryption_round_trips_and_is_randomised() {
        let c = FieldCipher::from_secret("a test secret of enough length");
        let a = c.encrypt("320102195001011234");
        assert_ne!(a, c.encrypt("320102195001011234"));
        assert_eq!(c.decrypt(&a).unwrap(), "320102195001011234");
        assert!(FieldCipher::from_secret("another secret entirely!").decrypt(&a).is_err());
        assert_eq!(c.blind_index("x"), c.blind_index("x"));
    }

    #[test]
    fn signatures_depend_on_secret_purpose_and_value() {
        let c = FieldCipher::from_secret("a test secret of enough length");
        assert_eq!(c.sign("p", "v"), c.sign("p", "v"));
        assert_ne!(c.sign("p", "v"), c.sign("q", "v"));
        assert_ne!(c.sign("p", "v"), c.sign("p", "w"));
        assert_ne!(c.sign("p", "v"), FieldCipher::from_secret("another secret entirely!").sign("p", "v"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
    }

    #[tokio::test]
    async fn async_checks_refuse_missing_and_damaged_hashes() {
        let h = hash_password_async("correct horse").await.unwrap();
        assert!(verify_password_async("correct horse", Some(&h)).await.unwrap());
        assert!(!verify_password_async("wrong", Some(&h)).await.unwrap());
        // The stand-in's own password opens nothing.
        assert!(!verify_password_async("not-a-real-password", None).await.unwrap());
        assert!(!verify_password_async("not-a-real-password", Some("$argon2id$damaged")).await.unwrap());
    }
}
