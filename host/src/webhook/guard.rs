//! The outbound SSRF guard: decides whether a tenant-supplied webhook destination may be
//! contacted, once on the parsed URL ([`NetPolicy::check_url`]) and again on every address a
//! name resolves to ([`GuardedResolver`]).
//!
//! It must never perform a lookup whose answer isn't checked, nor let a caller connect
//! anywhere other than a checked address. The resolver only sees what reqwest resolves, so
//! the webhook client has to keep three rules for that to hold:
//!
//! - call [`NetPolicy::check_url`] before *every* request: reqwest connects to an IP-literal
//!   host (`http://10.0.0.1/`) without resolving it;
//! - build the client with `.no_proxy()`: through a proxy the resolver sees the proxy's name,
//!   never the destination;
//! - build it with `.redirect(reqwest::redirect::Policy::none())`: a redirect is a new URL
//!   that `check_url` never saw.
//!
//! Anything that is not globally routable is refused unless the operator allowed its CIDR
//! (`--allow-net`). Tunnelled IPv6 forms are seen through: the IPv4 address inside
//! IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo addresses is classified and its range
//! reported. Only the IPv4-mapped form and the NAT64 well-known prefix (RFC 6052, globally
//! reachable; what DNS64 hands out) are let through when the embedded address is public; the
//! deprecated or relay-dependent forms (IPv4-compatible, 6to4, Teredo) and the local-use NAT64
//! prefix are refused as `reserved` even then, since the hop that unwraps them is not ours to
//! vouch for and no real webhook receiver needs them.

use std::{
    error::Error,
    fmt,
    future::Future,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why an address is refused; [`BlockedRange::as_str`] is the stable name used in messages,
/// logs and API errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockedRange {
    /// 0.0.0.0/8 ("this network"; Linux connects 0.0.0.0 to itself) and `::`.
    Unspecified,
    /// 127.0.0.0/8 and `::1`.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and deprecated IPv6 site-local fec0::/10.
    Private,
    /// 100.64.0.0/10 carrier-grade NAT (also Alibaba's metadata service, 100.100.100.200).
    Cgnat,
    /// 169.254.0.0/16 (cloud metadata at 169.254.169.254) and fe80::/10.
    LinkLocal,
    /// fc00::/7 (AWS's IPv6 metadata endpoint fd00:ec2::254 lives here).
    UniqueLocal,
    /// 192.0.0.0/24 and 2001::/23 leftovers: IETF protocol assignments (Oracle metadata is
    /// 192.0.0.192).
    ProtocolAssignment,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15 and 2001:2::/48.
    Benchmarking,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// Everything else that is not global unicast: 240/4, the 6to4 relay anycast 192.88.99/24,
    /// IPv6 outside 2000::/3 (e.g. the discard prefix 100::/64), ORCHID, and tunnelled forms
    /// refused by policy (see the module docs).
    Reserved,
}

impl BlockedRange {
    /// The stable lowercase snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Cgnat => "cgnat",
            Self::LinkLocal => "link_local",
            Self::UniqueLocal => "unique_local",
            Self::ProtocolAssignment => "protocol_assignment",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for BlockedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use BlockedRange as R;

/// Special-purpose IPv4 ranges, first match wins (broadcast sits inside 240/4).
const V4_RANGES: &[(Ipv4Addr, u8, BlockedRange)] = &[
    (Ipv4Addr::new(255, 255, 255, 255), 32, R::Broadcast),
    (Ipv4Addr::new(0, 0, 0, 0), 8, R::Unspecified),
    (Ipv4Addr::new(10, 0, 0, 0), 8, R::Private),
    (Ipv4Addr::new(100, 64, 0, 0), 10, R::Cgnat),
    (Ipv4Addr::new(127, 0, 0, 0), 8, R::Loopback),
    (Ipv4Addr::new(169, 254, 0, 0), 16, R::LinkLocal),
    (Ipv4Addr::new(172, 16, 0, 0), 12, R::Private),
    (Ipv4Addr::new(192, 0, 0, 0), 24, R::ProtocolAssignment),
    (Ipv4Addr::new(192, 0, 2, 0), 24, R::Documentation),
    (Ipv4Addr::new(192, 88, 99, 0), 24, R::Reserved),
    (Ipv4Addr::new(192, 168, 0, 0), 16, R::Private),
    (Ipv4Addr::new(198, 18, 0, 0), 15, R::Benchmarking),
    (Ipv4Addr::new(198, 51, 100, 0), 24, R::Documentation),
    (Ipv4Addr::new(203, 0, 113, 0), 24, R::Documentation),
    (Ipv4Addr::new(224, 0, 0, 0), 4, R::Multicast),
    (Ipv4Addr::new(240, 0, 0, 0), 4, R::Reserved),
];

/// Special-purpose IPv6 ranges with no IPv4 inside, first match wins. The tunnelling
/// prefixes are handled in [`classify_v6`] before this table is consulted.
const V6_RANGES: &[(Ipv6Addr, u8, BlockedRange)] = &[
    (
        Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0),
        48,
        R::Benchmarking,
    ),
    (
        Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0),
        28,
        R::Reserved,
    ),
    (
        Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0),
        28,
        R::Reserved,
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        R::ProtocolAssignment,
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        R::Documentation,
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        R::Documentation,
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        R::UniqueLocal,
    ),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, R::LinkLocal),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, R::Private),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, R::Multicast),
];

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Classify an address: `None` = public (globally routable), `Some(range)` = special-purpose.
///
/// IPv4 carried inside IPv6 (mapped, compatible, NAT64, 6to4, Teredo) is classified and its
/// range reported; which tunnelled forms stay refused when the IPv4 inside is public is
/// explained in the module docs.
pub fn classify(ip: IpAddr) -> Option<BlockedRange> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<BlockedRange> {
    V4_RANGES
        .iter()
        .find(|&&(net, len, _)| v4_in(ip, net, len))
        .map(|&(_, _, range)| range)
}

fn classify_v6(ip: Ipv6Addr) -> Option<BlockedRange> {
    let bits = u128::from(ip);
    // The IPv4 address in the low 32 bits (mapped, compatible, NAT64 /96).
    let low32 = Ipv4Addr::from(bits as u32);
    // What a tunnelled form gets when its IPv4 is public: through, or refused as reserved.
    let tunnelled = |v4: Ipv4Addr, public: Option<BlockedRange>| classify_v4(v4).or(public);

    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(R::Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(R::Loopback);
    }
    if v6_in(ip, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        return tunnelled(low32, None);
    }
    if v6_in(ip, Ipv6Addr::UNSPECIFIED, 96) {
        return tunnelled(low32, Some(R::Reserved));
    }
    if v6_in(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return tunnelled(low32, None);
    }
    if v6_in(ip, Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48) {
        return tunnelled(low32, Some(R::Reserved));
    }
    if v6_in(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return tunnelled(Ipv4Addr::from((bits >> 80) as u32), Some(R::Reserved));
    }
    if v6_in(ip, Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32) {
        // Teredo: server IPv4 in bits 32..64, client IPv4 (inverted) in the last 32 bits.
        let server = Ipv4Addr::from((bits >> 64) as u32);
        let client = Ipv4Addr::from(!(bits as u32));
        return classify_v4(client)
            .or(classify_v4(server))
            .or(Some(R::Reserved));
    }
    if let Some(&(_, _, range)) = V6_RANGES.iter().find(|&&(net, len, _)| v6_in(ip, net, len)) {
        return Some(range);
    }
    // Only 2000::/3 is allocated for global unicast; the rest of the space is not routable.
    if !v6_in(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return Some(R::Reserved);
    }
    None
}

/// The operator's exceptions to the guard; the default allows nothing special-purpose.
#[derive(Clone, Debug, Default)]
pub struct NetPolicy {
    /// CIDRs from `--allow-net`, opened even though they are special-purpose.
    allow: Vec<IpNet>,
}

impl NetPolicy {
    /// A policy that also opens the given CIDRs (for development and tests only).
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Ok if the address is public or inside an allowed CIDR; an allowed IPv4 CIDR also opens
    /// the IPv4-mapped form of its addresses, which a dual-stack socket treats as the same.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        match classify(ip) {
            Some(range) if !self.allows(ip) => Err(Blocked::in_range(ip.to_string(), None, range)),
            _ => Ok(()),
        }
    }

    fn allows(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allow
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
    }

    /// Check a parsed URL before any connection: http/https only, a host must exist, and an
    /// IP-literal host is checked now (reqwest connects to it without resolving). Domain names
    /// pass, to be checked when they resolve, except `localhost` and `*.localhost`, which are
    /// loopback by definition (RFC 6761) and refused unless loopback is allowed.
    pub fn check_url(&self, url: &Url) -> Result<(), Blocked> {
        let written = url.host_str().unwrap_or_default();
        if !matches!(url.scheme(), "http" | "https") {
            let reason = Reason::Scheme(url.scheme().to_owned());
            return Err(Blocked::new(written.to_owned(), None, reason));
        }
        let with_host = |b: Blocked| Blocked {
            host: written.to_owned(),
            ..b
        };
        match url.host() {
            None => Err(Blocked::new(String::new(), None, Reason::NoHost)),
            Some(Host::Ipv4(v4)) => self.check_ip(v4.into()).map_err(with_host),
            Some(Host::Ipv6(v6)) => self.check_ip(v6.into()).map_err(with_host),
            Some(Host::Domain(name)) if is_local_name(name) => {
                let loopback = [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
                if loopback.into_iter().any(|ip| self.allows(ip)) {
                    Ok(())
                } else {
                    Err(Blocked::in_range(written.to_owned(), None, R::Loopback))
                }
            }
            Some(Host::Domain(_)) => Ok(()),
        }
    }
}

/// `localhost` and its subdomains, whatever the case and however many trailing dots.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// What a [`Blocked`] refusal is about.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reason {
    /// The address is special-purpose.
    Range(BlockedRange),
    /// The URL's scheme is not http or https.
    Scheme(String),
    /// The URL has no host to connect to.
    NoHost,
}

/// A refusal: the host as written, the address it was refused for (when it came from a
/// lookup), and why. Its `Display` is meant for the tenant and the operator alike.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Blocked {
    /// The URL's host or the name that was resolved, as the caller wrote it.
    host: String,
    /// The refused address, when `host` is a name that resolved to it.
    addr: Option<IpAddr>,
    /// Why it was refused.
    reason: Reason,
}

impl Blocked {
    fn new(host: String, addr: Option<IpAddr>, reason: Reason) -> Self {
        Self { host, addr, reason }
    }

    fn in_range(host: String, addr: Option<IpAddr>, range: BlockedRange) -> Self {
        Self::new(host, addr, Reason::Range(range))
    }

    /// The special-purpose range refused, or `None` when the URL itself was refused.
    pub fn range(&self) -> Option<BlockedRange> {
        match self.reason {
            Reason::Range(range) => Some(range),
            Reason::Scheme(_) | Reason::NoHost => None,
        }
    }

    /// A stable name for the refusal: the range's name, `scheme` or `no_host`.
    pub fn reason(&self) -> &'static str {
        match self.reason {
            Reason::Range(range) => range.as_str(),
            Reason::Scheme(_) => "scheme",
            Reason::NoHost => "no_host",
        }
    }

    /// The host or name that was refused.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn describe(&self) -> String {
        let host = &self.host;
        match (&self.reason, self.addr) {
            (Reason::Range(range), None) => format!(
                "destination {host} is blocked ({range}); the operator can allow it with --allow-net"
            ),
            (Reason::Range(range), Some(addr)) => format!(
                "destination {host} resolves only to blocked addresses ({addr} is {range}); \
                 the operator can allow it with --allow-net"
            ),
            (Reason::Scheme(scheme), _) => {
                format!("destination scheme \"{scheme}\" is not allowed; only http and https are")
            }
            (Reason::NoHost, _) => "destination URL has no host".to_owned(),
        }
    }
}

/// What a [`Lookup`] returns: every address the name has, unfiltered.
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a name into addresses. The guard checks whatever this answers, every time it
/// answers; the service uses the system resolver ([`system_lookup`]), tests inject their own
/// (a resolver that rebinds, one that answers public and private addresses together).
pub type Lookup = Arc<dyn Fn(&str) -> LookupFuture + Send + Sync>;

/// The system resolver (`getaddrinfo` through `tokio::net::lookup_host`).
pub fn system_lookup(host: &str) -> LookupFuture {
    let host = host.to_owned();
    Box::pin(async move {
        Ok(tokio::net::lookup_host((host.as_str(), 0))
            .await?
            .map(|addr| addr.ip())
            .collect())
    })
}

/// A reqwest DNS resolver that returns only the addresses the policy allows, so the client
/// connects to nothing but checked addresses: there is no second lookup to rebind. Each
/// resolution is checked on its own; nothing from an earlier answer is trusted later.
#[derive(Clone)]
pub struct GuardedResolver {
    policy: Arc<NetPolicy>,
    lookup: Lookup,
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for GuardedResolver {
    fn default() -> Self {
        Self::new(NetPolicy::default())
    }
}

impl GuardedResolver {
    /// A resolver that asks the system and filters every answer through `policy`.
    pub fn new(policy: NetPolicy) -> Self {
        Self::with_lookup(policy, Arc::new(system_lookup))
    }

    /// A resolver that asks `lookup` instead of the system, and filters every answer through
    /// `policy` just the same.
    pub fn with_lookup(policy: NetPolicy, lookup: Lookup) -> Self {
        Self {
            policy: Arc::new(policy),
            lookup,
        }
    }

    /// Resolves `host` and keeps only the addresses `policy` allows; when there are none, the
    /// error is the [`Blocked`] refusal of the first address, or an [`io::Error`] when the
    /// lookup failed or the name has no address at all.
    pub async fn resolve_checked(
        &self,
        host: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn Error + Send + Sync>> {
        let mut allowed = Vec::new();
        let mut first_refused = None;
        for ip in (self.lookup)(host).await? {
            match self.policy.check_ip(ip) {
                Ok(()) => allowed.push(ip),
                Err(blocked) if first_refused.is_none() => first_refused = Some((ip, blocked)),
                Err(_) => {}
            }
        }
        if !allowed.is_empty() {
            return Ok(allowed);
        }
        Err(match first_refused {
            Some((ip, blocked)) => Blocked {
                host: host.to_owned(),
                addr: Some(ip),
                ..blocked
            }
            .into(),
            None => {
                io::Error::new(io::ErrorKind::NotFound, format!("{host} has no addresses")).into()
            }
        })
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.resolve_checked(name.as_str()).await?;
            let addrs = addrs.into_iter().map(|ip| SocketAddr::new(ip, 0));
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

/// Walk an error's source chain (e.g. a `reqwest::Error`) and return the [`Blocked`] inside.
pub fn find_blocked<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a Blocked> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(blocked) = err.downcast_ref::<Blocked>() {
            return Some(blocked);
        }
        // `io::Error::source` skips the error it wraps, so look inside it by hand.
        if let Some(blocked) = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<Blocked>())
        {
            return Some(blocked);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::{
        str::FromStr,
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
        time::timeout,
    };

    use super::*;

    /// Parse and check `url`; `None` if allowed, else the refusal's reason, after asserting
    /// that `range()` agrees with it.
    fn url_verdict(policy: &NetPolicy, url: &str) -> Option<&'static str> {
        let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{url} does not parse: {e}"));
        let blocked = policy.check_url(&parsed).err()?;
        let range = blocked.range().map(BlockedRange::as_str);
        match blocked.reason() {
            "scheme" | "no_host" => assert_eq!(range, None, "{url}"),
            reason => assert_eq!(range, Some(reason), "{url}"),
        }
        Some(blocked.reason())
    }

    #[test]
    fn urls_are_allowed_or_refused_with_the_right_range() {
        const TEREDO_CLIENT_LOOPBACK: &str = "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/";
        let cases: &[(&str, Option<&str>)] = &[
            // Loopback in every spelling url normalises to 127.0.0.1.
            ("http://127.1/", Some("loopback")),
            ("http://0x7f.1/", Some("loopback")),
            ("http://2130706433/", Some("loopback")),
            ("http://017700000001/", Some("loopback")),
            ("http://0177.0.0.1/", Some("loopback")),
            ("http://0x7f.0x0.0x0.0x1/", Some("loopback")),
            ("http://%31%32%37.0.0.1/", Some("loopback")),
            ("http://127.0.0.1.", Some("loopback")),
            ("HTTP://127.0.0.1", Some("loopback")),
            ("http:127.0.0.1", Some("loopback")),
            ("http://[::1]/", Some("loopback")),
            ("http://[::ffff:127.0.0.1]/", Some("loopback")),
            ("http://[::ffff:7f00:1]/", Some("loopback")),
            ("http://[::127.0.0.1]/", Some("loopback")),
            (TEREDO_CLIENT_LOOPBACK, Some("loopback")),
            // Names that are loopback by definition.
            ("http://localhost./", Some("loopback")),
            ("http://LOCALHOST/", Some("loopback")),
            ("http://foo.localhost/", Some("loopback")),
            ("http://Foo.LocalHost../", Some("loopback")),
            ("http://localhost%2e/", Some("loopback")),
            ("http://%6cocalhost:8080/", Some("loopback")),
            // Userinfo, fragments and backslashes don't move the host.
            ("http://user:pass@127.0.0.1/", Some("loopback")),
            ("http://example.com@127.0.0.1/", Some("loopback")),
            ("http://127.0.0.1#@example.com/", Some("loopback")),
            ("http://127.0.0.1:80\\@example.com/", Some("loopback")),
            // Cloud metadata services.
            (
                "http://169.254.169.254/latest/meta-data",
                Some("link_local"),
            ),
            ("http://[::ffff:a9fe:a9fe]:8080/x", Some("link_local")),
            ("http://[64:ff9b::a9fe:a9fe]/", Some("link_local")),
            ("http://[2002:a9fe:a9fe::1]/", Some("link_local")),
            ("http://[fd00:ec2::254]/", Some("unique_local")),
            ("http://100.100.100.200/", Some("cgnat")),
            ("http://192.0.0.192/", Some("protocol_assignment")),
            // Not http(s).
            ("file:///etc/passwd", Some("scheme")),
            ("gopher://127.0.0.1/", Some("scheme")),
            ("ftp://example.com/", Some("scheme")),
            // The rest of the table.
            ("http://0/", Some("unspecified")),
            ("http://0.0.0.0/", Some("unspecified")),
            ("http://[::]/", Some("unspecified")),
            ("http://10.0.0.1/", Some("private")),
            ("http://172.31.255.255/", Some("private")),
            ("http://192.168.1.1/", Some("private")),
            ("http://[fec0::1]/", Some("private")),
            ("http://198.18.0.1/", Some("benchmarking")),
            ("http://224.0.0.1/", Some("multicast")),
            ("http://255.255.255.255/", Some("broadcast")),
            ("http://240.0.0.1/", Some("reserved")),
            ("http://[100::1]/", Some("reserved")),
            ("http://192.0.2.1/", Some("documentation")),
            ("http://[fe80::1]/", Some("link_local")),
            ("http://[ff02::1]/", Some("multicast")),
            ("http://[2001:db8::1]/", Some("documentation")),
            // Public destinations.
            ("http://93.184.216.34/", None),
            ("https://example.com/", None),
            ("http://8.8.8.8/", None),
            ("http://[2606:4700:4700::1111]/", None),
            ("http://[::ffff:8.8.8.8]/", None),
            ("http://[64:ff9b::808:808]/", None),
            ("http://172.32.0.1/", None),
            ("http://100.128.0.1/", None),
            ("https://localhost.example.com/", None),
            // The userinfo ends at the last '@': the host is example.com, checked on lookup.
            ("http://127.0.0.1%2f@example.com/", None),
            // A backslash ends the authority in http(s): the host is example.com.
            ("http://example.com\\@127.0.0.1/", None),
        ];
        let policy = NetPolicy::default();
        for &(url, want) in cases {
            assert_eq!(url_verdict(&policy, url), want, "{url}");
        }
    }

    #[test]
    fn url_normalisation_we_rely_on() {
        let host = |s: &str| Url::parse(s).unwrap().host().map(|h| h.to_owned());
        // A trailing dot is dropped from an IPv4 host, but kept on a name.
        assert_eq!(
            host("http://127.0.0.1./"),
            Some(Host::Ipv4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            host("http://localhost./"),
            Some(Host::Domain("localhost.".into()))
        );
        // Hosts that smuggle in a separator don't parse at all.
        assert!(Url::parse("http://127.0.0.1%2f/").is_err());
        assert!(Url::parse("http://127.0.0.1%00/").is_err());
        assert!(Url::parse("http://[fe80::1%25eth0]/").is_err());
        // Only special schemes get IPv4 parsing; gopher's host stays a name (refused anyway).
        assert_eq!(host("gopher://127.1/"), Some(Host::Domain("127.1".into())));
        let smuggled = Url::parse("http://127.0.0.1%2f@example.com/").unwrap();
        assert_eq!(smuggled.username(), "127.0.0.1%2f");
        assert_eq!(smuggled.host_str(), Some("example.com"));
    }

    /// A Teredo address with the given server and (un-obfuscated) client IPv4.
    fn teredo(server: Ipv4Addr, client: Ipv4Addr) -> IpAddr {
        let bits = (0x2001_0000_u128 << 96)
            | (u128::from(u32::from(server)) << 64)
            | u128::from(!u32::from(client));
        IpAddr::V6(Ipv6Addr::from(bits))
    }

    #[test]
    fn addresses_are_classified_at_range_edges_and_through_tunnels() {
        let ip = |s: &str| IpAddr::from_str(s).unwrap();
        let public = Ipv4Addr::new(8, 8, 8, 8);
        let teredo_server = Ipv4Addr::new(65, 54, 227, 120);
        let cases: &[(IpAddr, Option<BlockedRange>)] = &[
            (ip("0.1.2.3"), Some(R::Unspecified)),
            (ip("1.1.1.1"), None),
            (ip("100.63.255.255"), None),
            (ip("100.64.0.0"), Some(R::Cgnat)),
            (ip("100.127.255.255"), Some(R::Cgnat)),
            (ip("172.15.255.255"), None),
            (ip("172.16.0.0"), Some(R::Private)),
            (ip("192.0.0.170"), Some(R::ProtocolAssignment)),
            (ip("192.0.1.1"), None),
            (ip("192.88.99.1"), Some(R::Reserved)),
            (ip("198.17.255.255"), None),
            (ip("198.19.255.255"), Some(R::Benchmarking)),
            (ip("198.20.0.0"), None),
            (ip("198.51.100.7"), Some(R::Documentation)),
            (ip("203.0.113.7"), Some(R::Documentation)),
            (ip("223.255.255.255"), None),
            (ip("239.255.255.255"), Some(R::Multicast)),
            (ip("255.255.255.254"), Some(R::Reserved)),
            // IPv6 outside the tunnels.
            (ip("2001:200::1"), None),
            (ip("2001:1::1"), Some(R::ProtocolAssignment)),
            (ip("2001:2::1"), Some(R::Benchmarking)),
            (ip("2001:10::1"), Some(R::Reserved)),
            (ip("2001:20::1"), Some(R::Reserved)),
            (ip("3fff::1"), Some(R::Documentation)),
            (ip("fc00::1"), Some(R::UniqueLocal)),
            (ip("febf::1"), Some(R::LinkLocal)),
            (ip("4000::1"), Some(R::Reserved)),
            (ip("1::1"), Some(R::Reserved)),
            // Tunnels: the embedded range wins; a public inside is refused except for
            // IPv4-mapped and the NAT64 well-known prefix.
            (ip("::ffff:0:808:808"), Some(R::Reserved)),
            (ip("::8.8.8.8"), Some(R::Reserved)),
            (ip("::10.0.0.1"), Some(R::Private)),
            (ip("64:ff9b:1::808:808"), Some(R::Reserved)),
            (ip("64:ff9b:1::a00:1"), Some(R::Private)),
            (ip("2002:808:808::1"), Some(R::Reserved)),
            (ip("2002:a00:1::1"), Some(R::Private)),
            (teredo(teredo_server, public), Some(R::Reserved)),
            (teredo(Ipv4Addr::new(10, 0, 0, 1), public), Some(R::Private)),
            (
                teredo(teredo_server, Ipv4Addr::new(169, 254, 169, 254)),
                Some(R::LinkLocal),
            ),
        ];
        for &(addr, want) in cases {
            assert_eq!(classify(addr), want, "{addr}");
        }
    }

    #[test]
    fn allow_list_opens_its_cidr_and_the_mapped_form_only() {
        let policy = NetPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let verdict = |s: &str| {
            policy
                .check_ip(s.parse().unwrap())
                .err()
                .and_then(|b| b.range())
        };
        assert_eq!(verdict("127.0.0.1"), None);
        assert_eq!(verdict("127.255.0.9"), None);
        assert_eq!(verdict("::ffff:127.0.0.1"), None);
        assert_eq!(verdict("10.0.0.1"), Some(R::Private));
        assert_eq!(verdict("::1"), Some(R::Loopback));
        assert_eq!(url_verdict(&policy, "http://localhost:3000/hook"), None);
        assert_eq!(url_verdict(&policy, "http://[::1]/"), Some("loopback"));
        let v6_only = NetPolicy::new(vec!["::1/128".parse().unwrap()]);
        assert_eq!(url_verdict(&v6_only, "http://localhost/"), None);
        assert_eq!(url_verdict(&v6_only, "http://127.0.0.1/"), Some("loopback"));
    }

    #[test]
    fn refusals_explain_themselves() {
        let msg = |url: &str| {
            let url = Url::parse(url).unwrap();
            NetPolicy::default()
                .check_url(&url)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            msg("http://169.254.169.254/latest/meta-data"),
            "destination 169.254.169.254 is blocked (link_local); \
             the operator can allow it with --allow-net"
        );
        assert_eq!(
            msg("http://[fd00:ec2::254]/"),
            "destination [fd00:ec2::254] is blocked (unique_local); \
             the operator can allow it with --allow-net"
        );
        assert_eq!(
            msg("file:///etc/passwd"),
            "destination scheme \"file\" is not allowed; only http and https are"
        );
    }

    async fn resolve(policy: NetPolicy, name: &str) -> Result<Vec<SocketAddr>, BoxError> {
        let name = Name::from_str(name).unwrap();
        Ok(GuardedResolver::new(policy).resolve(name).await?.collect())
    }

    type BoxError = Box<dyn Error + Send + Sync>;

    #[tokio::test]
    async fn resolver_returns_only_allowed_addresses() {
        let err = resolve(NetPolicy::default(), "localhost")
            .await
            .unwrap_err();
        let blocked = find_blocked(err.as_ref()).expect("a Blocked in the chain");
        assert_eq!(blocked.range(), Some(R::Loopback));
        assert_eq!(blocked.host(), "localhost");

        let policy = NetPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let addrs = resolve(policy, "localhost").await.unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "{addrs:?}"
        );
    }

    #[tokio::test]
    async fn resolver_lookup_failure_is_an_io_error_not_a_refusal() {
        // A NUL byte fails the lookup before any query leaves the machine.
        let err = resolve(NetPolicy::default(), "bad\0name")
            .await
            .unwrap_err();
        assert!(find_blocked(err.as_ref()).is_none());
        assert!(err.downcast_ref::<io::Error>().is_some(), "{err:?}");
    }

    /// A lookup that gives its n-th answer on its n-th call (the last one from then on), like
    /// an attacker's name server with a TTL of zero, and counts how often it was asked.
    fn scripted(answers: &[&[&str]]) -> (Lookup, Arc<AtomicUsize>) {
        let answers: Vec<Vec<IpAddr>> = answers
            .iter()
            .map(|ips| ips.iter().map(|ip| ip.parse().unwrap()).collect())
            .collect();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let lookup: Lookup = Arc::new(move |_host: &str| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)].clone();
            Box::pin(async move { Ok(answer) })
        });
        (lookup, calls)
    }

    #[tokio::test]
    async fn a_mixed_answer_yields_only_its_public_addresses() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        for answer in [
            &["93.184.216.34", "127.0.0.1"][..],
            &["127.0.0.1", "93.184.216.34"],
            &[
                "10.0.0.1",
                "93.184.216.34",
                "169.254.169.254",
                "::ffff:127.0.0.1",
            ],
        ] {
            let (lookup, _) = scripted(&[answer]);
            let resolver = GuardedResolver::with_lookup(NetPolicy::default(), lookup);
            let checked = resolver.resolve_checked("mixed.test").await.unwrap();
            assert_eq!(checked, [public], "{answer:?}");
            // What reqwest connects to is exactly that, whatever the port.
            let name = Name::from_str("mixed.test").unwrap();
            let addrs: Vec<SocketAddr> = resolver.resolve(name).await.unwrap().collect();
            assert_eq!(addrs, [SocketAddr::new(public, 0)], "{answer:?}");
        }
    }

    #[tokio::test]
    async fn a_rebinding_name_server_never_gets_its_private_answer_through() {
        let (lookup, calls) = scripted(&[
            &["93.184.216.34"],
            &["127.0.0.1"],
            &["169.254.169.254"],
            &["::ffff:10.0.0.1"],
        ]);
        let resolver = GuardedResolver::with_lookup(NetPolicy::default(), lookup);

        // The first answer is public and is let through...
        let first = resolver.resolve_checked("rebind.test").await.unwrap();
        assert_eq!(first, [IpAddr::from([93, 184, 216, 34])]);

        // ...and every later answer is checked again on its own: the public first answer
        // earns the name nothing.
        for (addr, range) in [
            ("127.0.0.1", R::Loopback),
            ("169.254.169.254", R::LinkLocal),
            ("::ffff:10.0.0.1", R::Private),
        ] {
            let err = resolver.resolve_checked("rebind.test").await.unwrap_err();
            let blocked = find_blocked(err.as_ref())
                .unwrap_or_else(|| panic!("{addr}: not a refusal: {err:?}"));
            assert_eq!(blocked.range(), Some(range), "{addr}");
            assert_eq!(blocked.addr, Some(addr.parse().unwrap()));
            assert_eq!(blocked.host(), "rebind.test");
            assert!(blocked.to_string().contains(addr), "{blocked}");
        }
        // Through reqwest's trait too: an error, never an address to connect to.
        let name = Name::from_str("rebind.test").unwrap();
        let err = resolver.resolve(name).await.err().expect("refused");
        assert!(find_blocked(err.as_ref()).is_some(), "{err:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            5,
            "every resolution asked again"
        );
    }

    fn client(policy: NetPolicy) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(policy)))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    /// A listener on 127.0.0.1 and its port.
    async fn receiver() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    /// Accept one connection, read its request head and answer 204.
    async fn answer_once(listener: TcpListener) {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut buf = [0; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert_ne!(n, 0, "the client hung up mid-request");
            request.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn client_never_connects_to_a_refused_name() {
        let (listener, port) = receiver().await;
        let err = client(NetPolicy::default())
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let blocked = find_blocked(&err).unwrap_or_else(|| panic!("no Blocked in {err:?}"));
        assert_eq!(blocked.range(), Some(R::Loopback));
        let accepted = timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "the receiver was contacted");
    }

    #[tokio::test]
    async fn client_reaches_an_allowed_name_on_its_checked_address() {
        let (listener, port) = receiver().await;
        let server = tokio::spawn(answer_once(listener));
        let policy = NetPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let resp = client(policy)
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        server.await.unwrap();
    }

    /// Why `check_url` is mandatory: reqwest connects to an IP literal without resolving it.
    #[tokio::test]
    async fn ip_literals_bypass_the_resolver() {
        let (listener, port) = receiver().await;
        let server = tokio::spawn(answer_once(listener));
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert!(NetPolicy::default().check_url(&url).is_err());
        let resp = client(NetPolicy::default()).get(url).send().await.unwrap();
        assert_eq!(resp.status(), 204);
        server.await.unwrap();
    }
}
