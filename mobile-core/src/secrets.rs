//! Where the device token lives. On a phone it is the platform's secure
//! storage, which the app implements as a [`SecretStore`] (Android Keystore,
//! iOS Keychain) and passes to `KvoClient::open`. Only tests and tools open
//! a client without one (`KvoClient::open_for_tests`): the token is then in
//! the queue's SQLite file, readable by anything that can read the app's files.

/// The platform's secure storage, implemented in Kotlin or Swift.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `key`, if any.
    fn load(&self, key: String) -> Option<String>;
    /// Stores (`Some`) or removes (`None`) the secret under `key`; `false`
    /// when the platform refused (the core then reports a storage error).
    fn save(&self, key: String, value: Option<String>) -> bool;
}

/// The key the device token is stored under.
pub const DEVICE_TOKEN: &str = "kvo.device_token";
