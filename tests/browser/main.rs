//! The newsroom's main journeys in a real browser: headless Chromium driven
//! through chromedriver (both from Debian) against the real app and a real
//! database. Every page visited is checked for JavaScript errors and failed
//! requests; screenshots of the key pages at phone and desktop widths are
//! written under target/screenshots/.

#[path = "../app/helpers.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod helpers;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{TestApp, spawn_app_with};
use serde_json::json;

const ANSWER: &str = "E2E";
const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);

/// chromedriver on a free port, stopped with the value.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian: apt-get install chromium chromium-driver fonts-noto-cjk)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, url }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-dev-shm-usage",
                     "--lang=zh-CN", "--window-size=1280,900"],
        }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// chromedriver's log of the page's console and network errors.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Fails on any error the page logged: a script error or a failed request.
async fn assert_clean(client: &Client, context: &str) {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    let errors: Vec<String> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["level"] == "SEVERE")
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(errors.is_empty(), "{context}: {errors:#?}");
}

async fn visit(client: &Client, app: &TestApp, path: &str) {
    client.goto(&app.url(path)).await.unwrap();
    assert_clean(client, path).await;
}

async fn find(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
}

async fn fill(client: &Client, css: &str, text: &str) {
    let field = find(client, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    find(client, css).await.click().await.unwrap();
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css).await.text().await.unwrap()
}

/// Waits until the page says `expected` somewhere in `css`.
async fn wait_for_text(client: &Client, css: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = client.find_all(Locator::Css(css)).await.unwrap_or_default();
        for element in found {
            if element.text().await.unwrap_or_default().contains(expected) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{css} never showed {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Screenshots of the current page at phone and desktop widths.
async fn screenshots(client: &Client, name: &str) {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    for (label, (width, height)) in [("phone", PHONE), ("desktop", DESKTOP)] {
        client.set_window_size(width, height).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let png = client.screenshot().await.unwrap();
        std::fs::write(folder.join(format!("{name}-{label}.png")), png).unwrap();
    }
    client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
}

async fn log_in(client: &Client, app: &TestApp, username: &str, password: &str) {
    client.delete_all_cookies().await.unwrap();
    visit(client, app, "/admin/login").await;
    fill(client, "input[name=username]", username).await;
    fill(client, "input[name=password]", password).await;
    click(client, "form button[type=submit]").await;
    find(client, ".admin-nav").await;
    assert_clean(client, "after login").await;
}

/// Selects the option of `select` whose text is `label`.
async fn choose(client: &Client, select: &str, label: &str) {
    let options = client
        .find_all(Locator::Css(&format!("{select} option")))
        .await
        .unwrap();
    for option in options {
        if option.text().await.unwrap().trim() == label {
            option.click().await.unwrap();
            return;
        }
    }
    panic!("{select} has no option {label}");
}

/// A small JPEG, as a photographer's upload.
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    bytes
}

#[tokio::test]
async fn a_story_travels_from_writer_to_reader_and_back_as_a_comment() {
    let app = spawn_app_with(|config| config.test_captcha = Some(ANSWER.into())).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let writer = app.create_staff("e2e-writer", "correspondent").await;
    let editor = app.create_staff("e2e-editor", "editor").await;
    let chief = app.create_staff("e2e-chief", "chief_editor").await;
    let driver = driver().await;
    let client = browser(&driver).await;

    // A correspondent writes a story with a subheading, bold text and a
    // captioned photo in the editor, and submits it.
    log_in(&client, &app, "e2e-writer", &writer).await;
    visit(&client, &app, "/admin/articles/new").await;
    find(&client, "trix-editor").await;
    fill(&client, "input[name=title]", "特高压工程全线贯通").await;
    choose(&client, "select[name=channel_id]", "要闻").await;
    fill(&client, "input[name=tags]", "电网建设").await;
    let editor_box = find(&client, "trix-editor").await;
    editor_box.click().await.unwrap();
    editor_box
        .send_keys("本报讯 工程历时十八个月建成投运。\n")
        .await
        .unwrap();
    click(&client, "button[data-trix-attribute=heading1]").await;
    find(&client, "button[data-trix-attribute=heading1].trix-active").await;
    editor_box.send_keys("一、攻坚克难\n").await.unwrap();
    click(&client, "button[data-trix-attribute=bold]").await;
    find(&client, "button[data-trix-attribute=bold].trix-active").await;
    editor_box.send_keys("关键节点").await.unwrap();
    click(&client, "button[data-trix-attribute=bold]").await;
    editor_box.send_keys("全部按期完成。\n").await.unwrap();
    client
        .execute(
            "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
             const file = new File([bytes], 'tower.jpg', { type: 'image/jpeg' });
             document.querySelector('trix-editor').editor.insertFile(file);",
            vec![json!(base64_encode(&photo()))],
        )
        .await
        .unwrap();
    find(&client, "trix-editor figure img[src^='/media/']").await;
    click(&client, "trix-editor figure").await;
    let caption = find(&client, "textarea.attachment__caption-editor").await;
    // Everything the editor says is Chinese: its buttons, the link dialog,
    // the caption's placeholder.
    let said: Vec<serde_json::Value> = client
        .execute(
            "return Array.from(document.querySelectorAll(
                 'trix-toolbar button[title], trix-toolbar input[placeholder], trix-toolbar input[type=button], textarea.attachment__caption-editor'))
               .map(e => e.getAttribute('title') || e.getAttribute('placeholder') || e.value)",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(said.len() > 12, "the editor's labels: {said:?}");
    let english: Vec<&serde_json::Value> = said
        .iter()
        .filter(|text| {
            text.as_str()
                .is_some_and(|text| text.chars().filter(char::is_ascii_alphabetic).count() > 2)
        })
        .collect();
    assert!(english.is_empty(), "English in the editor: {english:?}");
    caption.send_keys("建设者在铁塔上作业").await.unwrap();
    editor_box.click().await.unwrap();
    // The editor writes its HTML to the form's hidden field as it changes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body: String = client
            .execute(
                "return document.getElementById('article-body').value",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if body.contains("<h2>一、攻坚克难</h2>")
            && body.contains("<strong>关键节点</strong>")
            && body.contains("建设者在铁塔上作业")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the body lacks the heading, bold text or caption: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshots(&client, "article-form").await;
    click(&client, "button[name=action][value=submit]").await;
    wait_for_text(&client, ".status", "已提交").await;
    assert_clean(&client, "submitted").await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from articles where title = '特高压工程全线贯通'")
            .fetch_one(&app.pool)
            .await
            .unwrap();

    // An editor passes it, a chief editor publishes it.
    for (username, password) in [("e2e-editor", &editor), ("e2e-chief", &chief)] {
        log_in(&client, &app, username, password).await;
        visit(&client, &app, "/admin/articles").await;
        click(&client, &format!("a[href='/admin/articles/{id}']")).await;
        fill(&client, ".review-form textarea[name=opinion]", "同意。").await;
        click(&client, ".review-form button[value=pass]").await;
        find(&client, ".alert").await;
        assert_clean(&client, username).await;
    }
    let number: i64 =
        sqlx::query_scalar("select number from articles where id = $1 and status = 'published'")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    // A reader finds it on the home page and reads it.
    client.delete_all_cookies().await.unwrap();
    visit(&client, &app, "/").await;
    screenshots(&client, "home").await;
    click(&client, &format!("a[href='/articles/{number}']")).await;
    assert_eq!(text(&client, "h1.title").await, "特高压工程全线贯通");
    assert_eq!(text(&client, ".article-body h2").await, "一、攻坚克难");
    assert_eq!(text(&client, ".article-body strong").await, "关键节点");
    assert_eq!(
        text(&client, ".article-body figcaption").await,
        "建设者在铁塔上作业"
    );
    let src = find(&client, ".article-body figure img")
        .await
        .attr("src")
        .await
        .unwrap();
    assert!(src.unwrap_or_default().starts_with("/media/"));
    assert_clean(&client, "article page").await;
    screenshots(&client, "article").await;

    // 听新闻 is offered and toggles between playing and stopped.
    let listen = find(&client, "#listen").await;
    if listen.is_displayed().await.unwrap() {
        click(&client, ".listen-play").await;
        assert!(
            find(&client, ".listen-stop")
                .await
                .is_displayed()
                .await
                .unwrap()
        );
        click(&client, ".listen-stop").await;
        assert!(
            find(&client, ".listen-play")
                .await
                .is_displayed()
                .await
                .unwrap()
        );
    } else {
        let speaks: bool = client
            .execute("return 'speechSynthesis' in window", vec![])
            .await
            .unwrap()
            .as_bool()
            .unwrap_or(false);
        assert!(!speaks, "hidden although the browser can speak");
    }

    // 繁體, then search.
    click(&client, "a.variant-switch").await;
    assert_eq!(text(&client, "h1.title").await, "特高壓工程全線貫通");
    assert_clean(&client, "traditional").await;
    visit(&client, &app, "/").await;
    fill(&client, ".site-header input[name=q]", "特高压").await;
    click(&client, ".site-header .search-form button").await;
    wait_for_text(
        &client,
        ".search-results .story-title a",
        "特高压工程全线贯通",
    )
    .await;
    assert_clean(&client, "search").await;
    screenshots(&client, "search").await;

    // A comment through the captcha, approved by the editor, then shown.
    visit(&client, &app, &format!("/articles/{number}")).await;
    click(&client, "#comment-form input[name=anonymous]").await;
    fill(
        &client,
        "#comment-form textarea[name=body]",
        "祝贺工程顺利投运！",
    )
    .await;
    fill(&client, "#comment-form input[name=captcha_answer]", ANSWER).await;
    click(&client, "#comment-form button[type=submit]").await;
    wait_for_text(&client, ".comments .alert.success", "审核通过后显示").await;
    assert_clean(&client, "comment posted").await;
    log_in(&client, &app, "e2e-editor", &editor).await;
    visit(&client, &app, "/admin/comments").await;
    screenshots(&client, "moderation").await;
    click(&client, ".comments-queue input[name=ids]").await;
    click(&client, ".bulk-actions button[value=approve]").await;
    wait_for_text(&client, ".alert.success", "已通过 1 条评论").await;
    client.delete_all_cookies().await.unwrap();
    visit(&client, &app, &format!("/articles/{number}")).await;
    wait_for_text(&client, ".comment-body", "祝贺工程顺利投运！").await;
    assert_eq!(text(&client, ".comment-total").await, "1");

    client.close().await.unwrap();
}

#[tokio::test]
async fn autosave_brings_a_draft_back_after_a_reload() {
    let app = spawn_app_with(|_| {}).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let writer = app.create_staff("e2e-writer", "correspondent").await;
    let driver = driver().await;
    let client = browser(&driver).await;
    log_in(&client, &app, "e2e-writer", &writer).await;
    visit(&client, &app, "/admin/articles/new").await;
    fill(&client, "input[name=title]", "尚未保存的标题").await;
    let editor_box = find(&client, "trix-editor").await;
    editor_box.click().await.unwrap();
    editor_box.send_keys("尚未保存的正文").await.unwrap();
    client.refresh().await.unwrap();
    find(&client, "#autosave-note").await;
    wait_for_text(&client, "#autosave-note", "自动保存").await;
    // Shown in the site's time (Asia/Shanghai), not the browser's (UTC).
    let note = text(&client, "#autosave-note").await;
    let shanghai = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let day = shanghai.format("%Y/%-m/%-d").to_string();
    let hour = [
        shanghai.format(" %H:").to_string(),
        shanghai.format(" %-H:").to_string(),
    ];
    assert!(
        note.contains(&day) && hour.iter().any(|hour| note.contains(hour)),
        "{note}"
    );
    let restore = client
        .find(Locator::XPath(
            "//p[@id='autosave-note']/button[text()='恢复']",
        ))
        .await
        .unwrap();
    restore.click().await.unwrap();
    let title = find(&client, "input[name=title]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(title.as_deref(), Some("尚未保存的标题"));
    wait_for_text(&client, "trix-editor", "尚未保存的正文").await;
    assert_clean(&client, "restored").await;

    // Saved: a new 写稿 offers no stale copy of what was just saved.
    choose(&client, "select[name=channel_id]", "要闻").await;
    click(&client, "button[name=action][value=save]").await;
    wait_for_text(&client, ".alert.success", "稿件已保存").await;
    visit(&client, &app, "/admin/articles/new").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let offered = client
        .find(Locator::Css("#autosave-note"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap();
    assert!(!offered, "no restore offered after a successful save");
    client.close().await.unwrap();
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A destructive action asks first: dismissing the question sends nothing,
/// accepting it does the action.
#[tokio::test]
async fn destructive_actions_ask_before_they_act() {
    let app = spawn_app_with(|_| {}).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let chief = app.create_staff("e2e-chief", "chief_editor").await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from articles where title like '山东电网%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let status = || async {
        sqlx::query_scalar::<_, String>("select status from articles where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let driver = driver().await;
    let client = browser(&driver).await;
    log_in(&client, &app, "e2e-chief", &chief).await;
    visit(&client, &app, &format!("/admin/articles/{id}")).await;
    fill(&client, "textarea[name=reason]", "数据需要核实").await;
    click(&client, "button[data-confirm^='确定撤下']").await;
    let question = client.get_alert_text().await.unwrap();
    assert!(question.contains("确定撤下"), "{question}");
    client.dismiss_alert().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status().await, "published", "dismissed: nothing sent");

    click(&client, "button[data-confirm^='确定撤下']").await;
    client.accept_alert().await.unwrap();
    wait_for_text(&client, ".alert.success", "稿件已撤下").await;
    assert_eq!(status().await, "unpublished");

    // 全部稿件: the header box ticks every published story of the page.
    visit(&client, &app, "/admin/articles/all?status=published").await;
    click(&client, "input[data-select-all=ids]").await;
    let boxes = client
        .find_all(Locator::Css("input[name=ids]"))
        .await
        .unwrap();
    assert!(!boxes.is_empty());
    for tick in boxes {
        assert_eq!(tick.prop("checked").await.unwrap().as_deref(), Some("true"));
    }
    assert_clean(&client, "全部稿件").await;
    screenshots(&client, "all-stories").await;
    client.close().await.unwrap();
}

/// 换一张 brings a fresh captcha in place on every form that has one, the
/// typed fields kept, without leaving the page.
#[tokio::test]
async fn another_captcha_comes_in_place_on_every_form() {
    let app = spawn_app_with(|_| {}).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '山东电网%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let driver = driver().await;
    let client = browser(&driver).await;
    for (path, kept) in [
        ("/register".to_string(), "input[name=username]"),
        (format!("/articles/{number}"), "textarea[name=body]"),
    ] {
        visit(&client, &app, &path).await;
        fill(&client, kept, "已经填好的内容").await;
        let form = format!("form:has({kept})");
        let id_field = format!("{form} input[name=captcha_id]");
        let before = find(&client, &id_field).await.prop("value").await.unwrap();
        click(&client, &format!("{form} [data-captcha-refresh]")).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = find(&client, &id_field).await.prop("value").await.unwrap();
            if now != before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: the captcha never changed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let typed = find(&client, kept).await.prop("value").await.unwrap();
        assert_eq!(typed.as_deref(), Some("已经填好的内容"), "{path}");
        assert_eq!(
            client.current_url().await.unwrap().path(),
            path,
            "the page stayed"
        );
        assert_clean(&client, &path).await;
    }
    client.close().await.unwrap();
}

/// axe-core, as `.ci/run` installs it (`npm ci --prefix tests/browser`).
fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (install it with `npm ci --prefix tests/browser`)",
            path.display()
        )
    })
}

/// The WCAG 2.0/2.1 level A and AA rules axe-core finds broken on the
/// current page, one line each: the rule, its help and the elements.
async fn wcag_violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.unwrap();
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag',
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' — '
                   + v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + n.failureSummary.replace(/\\s+/g, ' ')).join(' | '))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    result
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| line.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every kind of page a reader or the newsroom uses passes axe-core's
/// WCAG 2.1 A and AA rules, at desktop and phone widths, in 长者模式 too.
#[tokio::test]
async fn every_page_meets_wcag_2_1_aa() {
    let app = spawn_app_with(|config| config.test_captcha = Some(ANSWER.into())).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let writer = app.create_staff("a11y-writer", "correspondent").await;
    let editor = app.create_staff("a11y-editor", "editor").await;
    let chief = app.create_staff("a11y-chief", "chief_editor").await;
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '山东电网%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let channel: String = sqlx::query_scalar(
        "select c.slug from channels c join articles a on a.channel_id = c.id where a.number = $1",
    )
    .bind(number)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let axe = axe_source();
    let driver = driver().await;
    let client = browser(&driver).await;
    let mut found = Vec::new();
    let mut check = async |label: &str| {
        for (width, height) in [DESKTOP, PHONE] {
            client.set_window_size(width, height).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            for violation in wcag_violations(&client, &axe).await {
                found.push(format!("{label} at {width} px: {violation}"));
            }
        }
        client.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    };

    for path in [
        "/".to_string(),
        format!("/channels/{channel}"),
        format!("/articles/{number}"),
        format!("/zh-hant/articles/{number}"),
        "/search?q=电网".to_string(),
        "/login".to_string(),
        "/register".to_string(),
        "/admin/login".to_string(),
        "/api/v1".to_string(),
    ] {
        visit(&client, &app, &path).await;
        check(&path).await;
    }
    // A search the page refuses (422), with its message and the form.
    let backwards = "/search?q=电网&from=2026-05-01&to=2026-01-01";
    client.goto(&app.url(backwards)).await.unwrap();
    find(&client, ".search-page .alert, .alert").await;
    check(backwards).await;
    // The 422 is in the browser's log by design; the log is read empty.
    client.issue_cmd(BrowserLog).await.unwrap();
    // The comment form as a reader sees it after a wrong answer: the message
    // and the kept fields.
    visit(&client, &app, &format!("/articles/{number}")).await;
    click(&client, "#comment-form input[name=anonymous]").await;
    fill(&client, "#comment-form textarea[name=body]", "写得好").await;
    fill(&client, "#comment-form input[name=captcha_answer]", "WRONG").await;
    click(&client, "#comment-form button[type=submit]").await;
    find(&client, ".comments .alert").await;
    check("comment form with an error").await;
    client.issue_cmd(BrowserLog).await.unwrap();
    // A field the browser refuses says so in Chinese, whatever the
    // browser's own language.
    visit(&client, &app, "/register").await;
    click(
        &client,
        "form:has(input[name=username]) button[type=submit]",
    )
    .await;
    let said: String = client
        .execute(
            "return document.querySelector('input[name=username]').validationMessage",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(said, "请填写此项");
    // Keyboard only: the first Tab reaches the skip link, visibly, and it
    // takes the focus to the story; 听新闻 waits to be asked.
    visit(&client, &app, &format!("/articles/{number}")).await;
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .unwrap();
    let focused = client.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "跳到正文");
    let outline: String = client
        .execute(
            "const s = getComputedStyle(document.activeElement);
             const r = document.activeElement.getBoundingClientRect();
             return s.outlineStyle + ' ' + (r.top >= 0 && r.height > 0)",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(outline, "solid true", "the focused skip link is seen");
    focused
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .unwrap();
    let now: String = client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(now, "main");
    let speaking: bool = client
        .execute(
            "return 'speechSynthesis' in window && speechSynthesis.speaking",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false);
    assert!(!speaking, "听新闻 does not start by itself");
    // 长者模式.
    visit(&client, &app, "/").await;
    click(&client, "a.elder-switch").await;
    find(&client, "body.elder").await;
    check("home in 长者模式").await;
    visit(&client, &app, &format!("/articles/{number}")).await;
    check("article in 长者模式").await;

    // The newsroom: the story form, the review page, statistics, 全部稿件,
    // the dashboard.
    log_in(&client, &app, "a11y-writer", &writer).await;
    check("dashboard").await;
    visit(&client, &app, "/admin/articles/new").await;
    find(&client, "trix-editor").await;
    check("story form").await;
    fill(&client, "input[name=title]", "无障碍检查稿件").await;
    choose(&client, "select[name=channel_id]", "要闻").await;
    let body = find(&client, "trix-editor").await;
    body.click().await.unwrap();
    body.send_keys("本报讯 正文一段。").await.unwrap();
    click(&client, "button[name=action][value=submit]").await;
    wait_for_text(&client, ".status", "已提交").await;
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from articles where title = '无障碍检查稿件'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    log_in(&client, &app, "a11y-editor", &editor).await;
    visit(&client, &app, &format!("/admin/articles/{id}")).await;
    find(&client, ".review-form").await;
    check("review page").await;
    visit(&client, &app, "/admin/comments").await;
    check("comment queue").await;
    log_in(&client, &app, "a11y-chief", &chief).await;
    for path in ["/admin/stats", "/admin/stats/quotas", "/admin/articles/all"] {
        visit(&client, &app, path).await;
        check(path).await;
    }
    client.close().await.unwrap();
    assert!(
        found.is_empty(),
        "WCAG 2.1 AA violations:\n{}",
        found.join("\n")
    );
}
