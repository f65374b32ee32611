//! Who is calling: passwords (argon2id), bearer tokens (sessions and API tokens), login
//! throttling, and the resolved [`Viewer`].

pub mod cookie;
pub mod password;
pub mod throttle;
pub mod token;
pub mod viewer;

pub use throttle::LoginThrottle;
pub use viewer::Viewer;
