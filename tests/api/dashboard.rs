//! The dashboard's page and assets as HTTP: embedded, cached by build, under a strict CSP.

use crate::helpers::{spawn_app_with, Engine};
use crate::on_both_engines;

on_both_engines!(serves_the_page_with_a_strict_policy_and_versioned_assets, the_root_redirects_to_the_dashboard);

fn header<'a>(reply: &'a reqwest::Response, name: &str) -> &'a str {
    reply.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn serves_the_page_with_a_strict_policy_and_versioned_assets(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = Some(crm_webhooks::config::Secret::new("t"))).await
    else {
        return;
    };
    let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), "no-cache");
    assert!(header(&page, "content-type").starts_with("text/html"));
    let csp = header(&page, "content-security-policy").to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http"), "{csp}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains("data-auth=\"token\""), "the page says a token is needed");
    assert!(!html.contains("<script>") && !html.contains("{{"), "no inline script, no unfilled slot");
    let events = crm_webhooks::outgoing::types::EVENT_TYPES.join(" ");
    assert!(html.contains(&format!("data-events=\"{events}\"")), "the page lists the event types to subscribe to");
    let build = crm_webhooks::dashboard::assets::build_id();
    for asset in crm_webhooks::dashboard::assets::ASSETS {
        let path = format!("/dashboard/assets/{build}/{}", asset.name);
        let reply = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
        assert_eq!(header(&reply, "cache-control"), "public, max-age=31536000, immutable", "{path}");
        assert_eq!(header(&reply, "content-type"), asset.content_type, "{path}");
        assert_eq!(reply.bytes().await.unwrap().as_ref(), asset.body, "{path}");
    }
    // Another build's file, or a file that is not embedded, is not found.
    for path in
        ["/dashboard/assets/0000000000000000/app.js".to_string(), format!("/dashboard/assets/{build}/secret.txt")]
    {
        let reply = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(reply.status(), 404, "{path}");
    }
    // The page and its assets are public; the data behind them is not.
    assert_eq!(app.client.get(app.webhook_url("/logs")).send().await.unwrap().status(), 401);
}

async fn the_root_redirects_to_the_dashboard(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.admin_token = None).await else { return };
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let reply = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(reply.status(), 303);
    assert_eq!(header(&reply, "location"), "/dashboard");
    let html = app.client.get(app.url("/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-auth=\"open\""), "without a token the page opens without sign-in");
}
