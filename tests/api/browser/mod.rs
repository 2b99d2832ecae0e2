//! Browser tests: the dashboard in a real headless Chromium, driven over WebDriver (fantoccini)
//! against the real server. Each test starts its own chromedriver on a free port and kills it at
//! the end; a test fails on any JavaScript error, CSP violation or `console.error` the page logs.
//! Without `chromium` and `chromedriver` the tests print one `skipped` line and pass.

mod replay;
mod stats;
mod subscriptions;
mod views;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use axum::http;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const CHROMEDRIVER: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);
const WAIT: Duration = Duration::from_secs(10);

/// The admin token of the browser tests' servers.
pub const TOKEN: &str = "dashboard-test-token";

/// The app with the admin token set, and deliveries tried once at once to loopback receivers.
pub async fn app(engine: crate::helpers::Engine) -> Option<crate::helpers::TestApp> {
    let delivery = crate::outgoing::fast_delivery(&[0]);
    crate::helpers::spawn_app_with(engine, move |c| {
        c.admin_token = Some(crm_webhooks::config::Secret::new(TOKEN));
        c.delivery = delivery;
    })
    .await
}

/// One browser at a time: the machine may have two cores, and Chromium wants them both.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn first_existing(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|path| path.exists())
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    let found = first_existing(&CHROMIUM).zip(first_existing(&CHROMEDRIVER));
    if found.is_none() {
        static SKIPPED: Once = Once::new();
        SKIPPED.call_once(|| {
            let _ = writeln!(std::io::stderr(), "skipped: browser tests (install chromium chromium-driver)");
        });
    }
    found
}

/// A chromedriver process of this test. Dropping it first ends the browser session (so Chromium
/// quits even when the test failed before closing it), then kills chromedriver.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(session) = &self.session {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request =
                    format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(request.as_bytes());
                let _ = std::io::Read::read(&mut stream, &mut [0u8; 1024]);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `POST /session/{id}/se/log`: the browser's console and page errors since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.0, "params": self.1}).to_string()))
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    errors: Vec<String>,
    /// Network errors the test provokes on purpose (a refused token), matched by substring.
    expected_network: Vec<String>,
    _driver: Driver,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    /// A headless Chromium at the desktop size, pointed at `base` (the server's address).
    pub async fn start(base: &str) -> Option<Browser> {
        let (chromium, chromedriver) = tools()?;
        let turn = ONE_BROWSER.lock().await;
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut driver = Driver { child, port, session: None };
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                         format!("--window-size={},{}", DESKTOP.0, DESKTOP.1)],
            },
        });
        let caps: fantoccini::wd::Capabilities = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match builder.capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(err) if started.elapsed() > Duration::from_secs(15) => panic!("chromedriver did not start: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        driver.session = client.session_id().await.ok().flatten();
        Some(Browser {
            client,
            base: base.to_string(),
            errors: Vec::new(),
            expected_network: Vec::new(),
            _driver: driver,
            _turn: turn,
        })
    }

    pub async fn open(&mut self, hash: &str) {
        self.collect_errors().await;
        self.client.goto(&format!("{}/dashboard{hash}", self.base)).await.expect("open the dashboard");
    }

    /// Opens the dashboard and signs in with `token`.
    pub async fn sign_in(&mut self, token: &str) {
        self.open("").await;
        self.type_into("#token", token).await;
        self.click("#sign-in button[type=submit]").await;
        self.find("#view-overview").await;
    }

    /// Moves within the page (no reload), as a click on a link would.
    pub async fn go(&mut self, hash: &str) {
        self.client.execute("window.location.hash = arguments[0];", vec![json!(hash)]).await.expect("navigate");
    }

    pub fn expect_network_error(&mut self, needle: &str) {
        self.expected_network.push(needle.to_string());
    }

    async fn collect_errors(&mut self) {
        let Ok(Value::Array(entries)) = self.client.issue_cmd(BrowserLog).await else { return };
        for entry in entries {
            if entry["level"] != "SEVERE" {
                continue;
            }
            let message = entry["message"].as_str().unwrap_or_default().to_string();
            let network = entry["source"] == "network";
            if network && self.expected_network.iter().any(|needle| message.contains(needle)) {
                continue;
            }
            self.errors.push(message);
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"))
    }

    /// Waits until the element matching `css` shows `text`; returns its whole text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            let mut seen = String::new();
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                seen = element.text().await.unwrap_or_default();
                if seen.contains(text) {
                    return seen;
                }
            }
            if started.elapsed() > WAIT {
                let page = self.client.source().await.unwrap_or_default();
                panic!("{css} never showed {text:?}; it shows {seen:?}; the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }

    /// Types `keys` (text or `fantoccini::key::Key`s) into whatever has the focus.
    pub async fn press(&self, keys: &str) {
        let focused = self.client.active_element().await.expect("a focused element");
        focused.send_keys(keys).await.expect("type");
    }

    /// Saves `target/screenshots/{name}-{desktop|phone}.png` at both sizes, then goes back to the
    /// desktop size.
    pub async fn screenshots(&mut self, name: &str, ready_css: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        for (size, (width, height)) in [("phone", PHONE), ("desktop", DESKTOP)] {
            self.viewport(width, height).await;
            self.find(ready_css).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
            let png = self.client.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{size}.png")), png).expect("write screenshot");
        }
    }

    /// Makes the page's viewport exactly `width`×`height` CSS pixels (a phone's is a mobile one).
    pub async fn viewport(&self, width: u32, height: u32) {
        let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600});
        self.client.issue_cmd(Cdp("Emulation.setDeviceMetricsOverride", params)).await.expect("set the viewport");
    }

    /// Emulates the operating system's dark (or light) colour scheme.
    pub async fn color_scheme(&self, scheme: &str) {
        let params = json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]});
        self.client.issue_cmd(Cdp("Emulation.setEmulatedMedia", params)).await.expect("emulate the colour scheme");
    }

    /// Emulates a browser whose language is `locale` (`de-DE`); reload the page for it to apply.
    pub async fn locale(&self, locale: &str) {
        let params = json!({"locale": locale});
        self.client.issue_cmd(Cdp("Emulation.setLocaleOverride", params)).await.expect("emulate the locale");
    }

    /// A JavaScript expression's value in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client.execute(&format!("return {expression};"), vec![]).await.expect(expression)
    }

    /// Ends the session and fails the test on any error the page logged.
    pub async fn finish(mut self) {
        self.collect_errors().await;
        let errors = std::mem::take(&mut self.errors);
        let _ = self.client.clone().close().await;
        assert!(errors.is_empty(), "the page logged errors:\n{}", errors.join("\n"));
    }
}
