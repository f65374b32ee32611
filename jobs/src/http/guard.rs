//! Outbound HTTP: one client for operator-configured endpoints and one SSRF-guarded client for
//! user-supplied URLs (self-managed GitLab, Azure DevOps Server).
//!
//! The guard refuses non-https URLs and any address that is loopback, private, link-local,
//! cloud-metadata or otherwise not publicly routable. Names are resolved by our own resolver,
//! which vets every address; reqwest then connects only to those vetted addresses, so the
//! address checked is the address used (no DNS-rebinding window). Redirects are re-checked.

use crate::check::CheckError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Whether user-supplied URLs may point at private networks (an operator's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkPolicy {
    /// Allow loopback/private/link-local addresses and plain http for user-supplied URLs.
    pub allow_private_networks: bool,
}

/// Why the guard refused an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, unique-local, carrier-grade NAT.
    Private,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// Cloud instance-metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200).
    Metadata,
    /// Unspecified, broadcast, multicast, documentation, benchmarking, reserved ranges.
    NotRoutable,
}

impl Refusal {
    fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private network address",
            Self::LinkLocal => "a link-local address",
            Self::Metadata => "a cloud metadata address",
            Self::NotRoutable => "an address that is not publicly routable",
        }
    }
}

/// The guard's verdict on one address: `None` when it may be contacted.
pub fn verdict(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => verdict_v4(v4),
        IpAddr::V6(v6) => verdict_v6(v6),
    }
}

fn verdict_v4(ip: Ipv4Addr) -> Option<Refusal> {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some(Refusal::Metadata);
    }
    if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some(Refusal::Private)
    } else if ip.is_link_local() {
        Some(Refusal::LinkLocal)
    } else if a == 0
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a >= 240
        || (a == 198 && (18..20).contains(&b))
        || (a == 192 && b == 0 && c == 0)
    {
        Some(Refusal::NotRoutable)
    } else {
        None
    }
}

fn verdict_v6(ip: Ipv6Addr) -> Option<Refusal> {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return verdict_v4(v4);
    }
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses embed an IPv4 address.
    let [a, b] = seg[6].to_be_bytes();
    let [c, d] = seg[7].to_be_bytes();
    let embedded = Ipv4Addr::new(a, b, c, d);
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0; 4] {
        return verdict_v4(embedded);
    }
    if seg[0..6] == [0; 6] && seg[6] != 0 {
        return Some(verdict_v4(embedded).unwrap_or(Refusal::NotRoutable));
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(Refusal::Metadata);
    }
    if ip.is_loopback() {
        Some(Refusal::Loopback)
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        Some(Refusal::Private)
    } else if (seg[0] & 0xffc0) == 0xfe80 || (seg[0] & 0xffc0) == 0xfec0 {
        Some(Refusal::LinkLocal)
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        || (seg[0] == 0x2001 && seg[1] == 0)
        || seg[0] == 0x2002
        || (seg[0] & 0xe000) != 0x2000
    {
        // Documentation, Teredo, 6to4 and anything outside global unicast 2000::/3.
        Some(Refusal::NotRoutable)
    } else {
        None
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {}", refusal.describe())]
struct Blocked {
    host: String,
    refusal: Refusal,
}

/// A resolver that refuses names resolving to any forbidden address.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(refusal) = addrs.iter().find_map(|a| verdict(a.ip())) {
                return Err(
                    Box::new(Blocked { host, refusal }) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

const MAX_REDIRECTS: usize = 5;

/// Providers' credentials travel in headers reqwest does not strip on cross-host redirects
/// (`PRIVATE-TOKEN`), so redirects are followed only within the origin that was asked.
fn same_origin(attempt: &Attempt<'_>) -> Result<(), String> {
    if attempt.previous().len() >= MAX_REDIRECTS {
        return Err("too many redirects".to_owned());
    }
    let (Some(first), next) = (attempt.previous().first(), attempt.url()) else {
        return Ok(());
    };
    if first.origin() == next.origin() {
        Ok(())
    } else {
        Err(format!(
            "refused a redirect to another origin ({})",
            next.origin().ascii_serialization()
        ))
    }
}

fn trusted_redirects(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    match same_origin(&attempt) {
        Ok(()) => attempt.follow(),
        Err(reason) => attempt.error(reason),
    }
}

fn guarded_redirects(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    match same_origin(&attempt).and_then(|()| literal_refusal(attempt.url())) {
        Ok(()) => attempt.follow(),
        Err(reason) => attempt.error(reason),
    }
}

/// Checks the parts of a URL that need no DNS: https, and IP-literal hosts.
fn literal_refusal(url: &Url) -> Result<(), String> {
    if url.scheme() != "https" {
        return Err(format!("{url} is not https"));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err("the URL has no host".to_owned()),
    };
    match verdict(ip) {
        Some(refusal) => Err(format!("{ip} is {}", refusal.describe())),
        None => Ok(()),
    }
}

/// Building an outbound client failed (TLS backend initialisation).
pub type ClientError = reqwest::Error;

/// The two outbound clients and the policy that decides between them.
#[derive(Clone)]
pub struct HttpClients {
    trusted: reqwest::Client,
    guarded: reqwest::Client,
    policy: NetworkPolicy,
}

impl HttpClients {
    /// Builds both clients with Tether's timeouts.
    pub fn new(policy: NetworkPolicy) -> Result<Self, reqwest::Error> {
        let base = || {
            reqwest::Client::builder()
                .user_agent(concat!("Tether/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20))
                .pool_idle_timeout(Duration::from_secs(60))
        };
        let trusted = base().redirect(Policy::custom(trusted_redirects)).build()?;
        let guarded = if policy.allow_private_networks {
            trusted.clone()
        } else {
            // No proxy: a proxy would resolve the target itself, out of the guard's sight.
            base()
                .dns_resolver(Arc::new(GuardedResolver))
                .redirect(Policy::custom(guarded_redirects))
                .https_only(true)
                .no_proxy()
                .build()?
        };
        Ok(Self {
            trusted,
            guarded,
            policy,
        })
    }

    /// The client for operator-configured endpoints.
    pub fn trusted(&self) -> &reqwest::Client {
        &self.trusted
    }

    /// The client for user-supplied URLs.
    pub fn guarded(&self) -> &reqwest::Client {
        &self.guarded
    }

    /// Vets a user-supplied URL before any request: scheme, IP literals, and every address its
    /// host resolves to. Requests through [`Self::guarded`] re-check at connect time.
    pub async fn vet(&self, url: &Url, field: &'static str) -> Result<(), CheckError> {
        if self.policy.allow_private_networks {
            return Ok(());
        }
        let invalid = |message: String| CheckError::InvalidInput { field, message };
        literal_refusal(url).map_err(|reason| invalid(format!("refused: {reason}")))?;
        let Some(Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| CheckError::Unreachable(format!("{host} could not be resolved")))?
            .collect();
        match addrs.iter().find_map(|a| verdict(a.ip())) {
            Some(refusal) => Err(invalid(format!(
                "refused: {host} resolves to {} (ask an operator to allow private networks)",
                refusal.describe()
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ip: &str) -> Option<Refusal> {
        verdict(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "140.82.112.3",
            "8.8.8.8",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(v(ip), None, "{ip}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_with_a_reason() {
        let cases = [
            ("127.0.0.1", Refusal::Loopback),
            ("127.255.0.9", Refusal::Loopback),
            ("::1", Refusal::Loopback),
            ("10.1.2.3", Refusal::Private),
            ("172.16.0.1", Refusal::Private),
            ("192.168.1.1", Refusal::Private),
            ("100.64.0.1", Refusal::Private),
            ("fd12::1", Refusal::Private),
            ("169.254.1.1", Refusal::LinkLocal),
            ("fe80::1", Refusal::LinkLocal),
            ("169.254.169.254", Refusal::Metadata),
            ("fd00:ec2::254", Refusal::Metadata),
            ("100.100.100.200", Refusal::Metadata),
            ("0.0.0.0", Refusal::NotRoutable),
            ("::", Refusal::NotRoutable),
            ("255.255.255.255", Refusal::NotRoutable),
            ("224.0.0.1", Refusal::NotRoutable),
            ("198.18.0.1", Refusal::NotRoutable),
            ("2001:db8::1", Refusal::NotRoutable),
        ];
        for (ip, expected) in cases {
            assert_eq!(v(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn ipv4_hidden_in_ipv6_is_judged_as_ipv4() {
        assert_eq!(v("::ffff:127.0.0.1"), Some(Refusal::Loopback));
        assert_eq!(v("::ffff:169.254.169.254"), Some(Refusal::Metadata));
        assert_eq!(v("64:ff9b::10.0.0.1"), Some(Refusal::Private));
        assert_eq!(v("::127.0.0.1"), Some(Refusal::Loopback));
        assert_eq!(v("2002:7f00:1::1"), Some(Refusal::NotRoutable));
    }

    #[test]
    fn literal_urls_are_checked_without_dns() {
        for url in [
            "http://example.com",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:10.0.0.1]/",
            "https://0x7f000001/",
            "https://2130706433/",
        ] {
            assert!(literal_refusal(&Url::parse(url).unwrap()).is_err(), "{url}");
        }
        assert!(literal_refusal(&Url::parse("https://gitlab.example.com").unwrap()).is_ok());
    }

    #[tokio::test]
    async fn vet_refuses_names_resolving_to_loopback_and_allows_them_when_configured() {
        let strict = HttpClients::new(NetworkPolicy::default()).unwrap();
        let url = Url::parse("https://localhost:8443/").unwrap();
        let err = strict.vet(&url, "instanceUrl").await.unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        assert!(err.to_string().contains("loopback"), "{err}");
        let open = HttpClients::new(NetworkPolicy {
            allow_private_networks: true,
        })
        .unwrap();
        assert!(open.vet(&url, "instanceUrl").await.is_ok());
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_to_connect_to_loopback_names() {
        let strict = HttpClients::new(NetworkPolicy::default()).unwrap();
        // Resolution is refused inside our resolver, before any connection is attempted.
        let err = strict
            .guarded()
            .get("https://localhost:9/")
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect() || err.is_request(), "{err:?}");
        let chain = format!("{err:?}").to_lowercase();
        assert!(chain.contains("loopback"), "{chain}");
    }
}
