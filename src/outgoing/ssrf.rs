//! The guard against server-side request forgery: a subscription URL must be `http` or `https`,
//! and unless private addresses are allowed, every address a delivery goes to must be public.
//! IP-literal hosts are checked before sending (the URL parser already reads `2130706433` and
//! `0x7f.1` as 127.0.0.1); names go through [`GuardedResolver`], which drops every non-public
//! address it resolves, so the connection is made to an address that was checked (no second
//! lookup that a rebinding DNS server could answer differently).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("url must be an absolute http or https URL")]
    Malformed,
    #[error("url must use http or https, not {0}")]
    Scheme(String),
    #[error("address not allowed: {0} is not a public address")]
    Private(IpAddr),
    #[error("address not allowed: {0} resolves to no public address")]
    NoPublicAddress(String),
}

/// Parses and checks a subscription URL (scheme, host, and an IP-literal host's address).
pub fn check_url(text: &str, allow_private: bool) -> Result<Url, Refused> {
    let url = Url::parse(text.trim()).map_err(|_| Refused::Malformed)?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(Refused::Scheme(other.to_string())),
    }
    check_host(&url, allow_private)?;
    Ok(url)
}

/// An IP-literal host must be allowed; a name is checked when it is resolved.
pub fn check_host(url: &Url, allow_private: bool) -> Result<(), Refused> {
    match url.host() {
        None => Err(Refused::Malformed),
        Some(url::Host::Domain(_)) => Ok(()),
        Some(url::Host::Ipv4(ip)) => allowed(IpAddr::V4(ip), allow_private),
        Some(url::Host::Ipv6(ip)) => allowed(IpAddr::V6(ip), allow_private),
    }
}

fn allowed(ip: IpAddr, allow_private: bool) -> Result<(), Refused> {
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(Refused::Private(ip))
    }
}

/// Whether `ip` is a global unicast address: not loopback, private, link-local (cloud metadata
/// at 169.254.169.254), shared, documentation, benchmarking, multicast or reserved; an IPv6
/// address that embeds an IPv4 one (mapped, NAT64) is judged by that one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let octets = v6.octets();
                return is_public_v4(Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
                || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// A DNS resolver for the delivery client that keeps only the addresses deliveries may go to.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> =
                resolved.into_iter().filter(|addr| allow_private || is_public(addr.ip())).collect();
            if kept.is_empty() {
                return Err(Box::new(Refused::NoPublicAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> Refused {
        check_url(url, false).unwrap_err()
    }

    #[test]
    fn private_addresses_are_refused_in_every_spelling() {
        let cases = [
            ("http://127.0.0.1/hook", "127.0.0.1"),
            ("http://localhost.:8080/", ""),
            ("http://10.1.2.3/", "10.1.2.3"),
            ("http://192.168.0.10/", "192.168.0.10"),
            ("http://172.16.5.4/", "172.16.5.4"),
            ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
            ("http://[::1]/", "::1"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[fd00::1]/", "fd00::1"),
            ("http://[fe80::1]/", "fe80::1"),
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://100.64.0.1/", "100.64.0.1"),
        ];
        for (url, ip) in cases {
            if ip.is_empty() {
                // A name: checked when resolved.
                assert!(check_url(url, false).is_ok(), "{url}");
                continue;
            }
            assert_eq!(refused(url), Refused::Private(ip.parse().unwrap()), "{url}");
            assert!(check_url(url, true).is_ok(), "{url} with private addresses allowed");
        }
    }

    #[test]
    fn public_addresses_and_names_pass() {
        for url in ["https://example.com/hooks", "http://93.184.216.34:8080/x", "https://[2606:4700::1111]/"] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
        assert!(is_public("64:ff9b::8.8.8.8".parse().unwrap()));
        assert!(!is_public("64:ff9b::10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn other_schemes_and_malformed_urls_are_refused() {
        assert_eq!(refused("ftp://example.com/"), Refused::Scheme("ftp".into()));
        assert_eq!(refused("file:///etc/passwd"), Refused::Scheme("file".into()));
        assert_eq!(refused("not a url"), Refused::Malformed);
        assert_eq!(refused("/relative/path"), Refused::Malformed);
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers() {
        let guarded = GuardedResolver { allow_private: false };
        let err = guarded.resolve("localhost".parse().unwrap()).await.err().expect("refused");
        assert!(err.to_string().contains("resolves to no public address"), "{err}");
        let open = GuardedResolver { allow_private: true };
        let addrs: Vec<SocketAddr> = open.resolve("localhost".parse().unwrap()).await.expect("resolved").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
