//! The dashboard's files, embedded in the binary at compile time. They are served under a
//! directory named after a hash of their contents (the build id), so a browser may cache them for
//! a year and still never runs a stale file after an upgrade.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("assets/", $name)) }
    };
}

/// Every file under `/dashboard/assets/{build}/`.
pub const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("overview.js", JS),
    asset!("chart.js", JS),
    asset!("pipeline.js", JS),
    asset!("logs.js", JS),
    asset!("records.js", JS),
    asset!("subscriptions.js", JS),
    asset!("deliveries.js", JS),
    asset!("icon.svg", "image/svg+xml"),
];

/// The page shell; `{{BUILD}}`, `{{AUTH}}` and `{{EVENTS}}` are filled in when it is served.
pub const INDEX_HTML: &str = include_str!("assets/index.html");

/// The first 16 hex digits of a SHA-256 over every asset's name and bytes.
pub fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut hash = Sha256::new();
        for asset in ASSETS {
            hash.update(asset.name.as_bytes());
            hash.update([0]);
            hash.update((asset.body.len() as u64).to_le_bytes());
            hash.update(asset.body);
        }
        hex::encode(&hash.finalize()[..8])
    })
}

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_id_is_stable_and_short() {
        assert_eq!(build_id().len(), 16);
        assert_eq!(build_id(), build_id());
    }

    #[test]
    fn every_module_the_pages_import_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit_once("'./").map(|(_, rest)| rest.trim_end_matches("';")).unwrap();
                assert!(find(target).is_some(), "{} imports {target}, which is not embedded", asset.name);
            }
        }
        assert!(INDEX_HTML.contains("{{BUILD}}/app.js"));
    }
}
