//! The contributor desk over HTTP: proofreading lists kept by the desk,
//! suspected errors marked on the story's page, and a pass that needs the
//! reviewer's "已核对" for the version in front of them.

use crate::helpers::{TestApp, attrs, id_of, location, spawn_app, texts};

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

async fn add_term(app: &TestApp, fields: &[(&str, &str)]) -> u16 {
    app.post("/admin/proofreading", fields)
        .await
        .status()
        .as_u16()
}

/// Writes a story with `title` and `body` and submits it; returns its id.
async fn submit(app: &TestApp, title: &str, body: &str) -> String {
    let channel = id_of(app, "select id from channels where slug = $1", "keji").await;
    let unit = id_of(app, "select id from units where name = $1", "国家电网").await;
    let response = app
        .post(
            "/admin/articles/new",
            &[
                ("title", title),
                ("body", body),
                ("channel_id", &channel),
                ("unit_id", &unit),
                ("source", ""),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    location(&response)
        .trim_start_matches("/admin/articles/")
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

async fn state(app: &TestApp, id: &str) -> (String, i16, i32) {
    sqlx::query_as("select status, review_stage, version from articles where id = $1::uuid")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn pass(app: &TestApp, id: &str) -> (u16, scraper::Html) {
    app.post_page(
        &format!("/admin/articles/{id}/review"),
        &[("decision", "pass"), ("opinion", "同意。")],
    )
    .await
}

#[tokio::test]
async fn suspected_errors_are_marked_and_a_pass_needs_the_check_of_that_version() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("delete from proof_terms")
        .execute(&app.pool)
        .await
        .unwrap();
    let desk = app.other_client();
    desk.login_as("desk_chief", "chief_editor").await;
    for fields in [
        &[("kind", "typo"), ("term", "按装"), ("suggestion", "安装")][..],
        &[
            ("kind", "typo"),
            ("term", "截止"),
            ("suggestion", "截至"),
            ("followed_by", "#、目前"),
        ],
        &[
            ("kind", "leader"),
            ("term", "张建国"),
            ("suggestion", "董事长、党组书记"),
        ],
    ] {
        assert_eq!(add_term(&desk, fields).await, 303, "{fields:?}");
    }

    let writer = app.other_client();
    writer.login_as("writer", "correspondent").await;
    let body = "<p>截止12月，已按装完毕。</p><p>报名于12月1日截止。</p><p>總經理張建國出席。</p>";
    let id = submit(&writer, "变电站按装新设备", body).await;

    // The writer sees the same list, and has no check to make.
    let (_, page) = writer.page(&format!("/admin/articles/{id}")).await;
    let findings = texts(&page, ".proofreading .proof-findings li");
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(
        findings[0].contains("按装")
            && findings[0].contains("应为“安装”")
            && findings[0].contains("2 处")
    );
    assert!(findings[1].contains("截止") && findings[1].contains("截至"));
    assert!(
        findings[2].contains("張建國的职务为：董事长、党组书记")
            || findings[2].contains("张建国的职务为：董事长、党组书记"),
        "{findings:?}"
    );
    assert_eq!(
        texts(&page, ".proofreading .proof-summary"),
        ["发现 4 处疑似差错："]
    );
    assert_eq!(texts(&page, ".preview-title mark.proof"), ["按装"]);
    assert_eq!(
        texts(&page, ".article-body mark.proof"),
        ["截止", "按装", "總經理張建國"],
        "the date after 截止 is no error"
    );
    assert!(attrs(&page, "form[action$='/proofread']", "action").is_empty());
    let refused = writer
        .post(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(
        refused.status().as_u16(),
        403,
        "a writer cannot check their own story"
    );

    // An editor of another unit can neither see nor check the story.
    let outsider = app.other_client();
    outsider.login_as("editor_far", "editor").await;
    sqlx::query(
        "update users set unit_id = (select id from units where name = '国网山东电力')
         where username = 'editor_far'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let refused = outsider
        .post(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 404, "another unit's story");
    assert_eq!(count(&app, "select count(*) from proof_checks").await, 0);

    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let (code, html) = pass(&editor, &id).await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["本稿有 4 处疑似差错尚未核对：请逐条核对（需要改的先退回或修改），再点“已核对”后通过。"]
    );
    assert_eq!(
        texts(&html, "textarea[name=opinion]"),
        ["同意。"],
        "the opinion stays typed"
    );
    assert_eq!(state(&app, &id).await, ("submitted".into(), 0, 1));

    // A check of a version no longer in front of the reviewer is refused.
    let (code, html) = editor
        .post_page(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "0")],
        )
        .await;
    assert_eq!(code, 409);
    assert!(texts(&html, ".alert.error")[0].contains("已被修改"));
    assert_eq!(count(&app, "select count(*) from proof_checks").await, 0);

    let (_, page) = editor.page(&format!("/admin/articles/{id}")).await;
    assert_eq!(
        attrs(&page, ".proofreading input[name=version]", "value"),
        ["1"]
    );
    let checked = editor
        .post(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(checked.status().as_u16(), 303);
    let again = editor
        .post(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(
        again.status().as_u16(),
        303,
        "a replayed check changes nothing"
    );
    assert_eq!(count(&app, "select count(*) from proof_checks").await, 1);
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_log where action = 'proof.checked'"
        )
        .await,
        1
    );
    let (_, page) = editor.page(&format!("/admin/articles/{id}")).await;
    assert!(texts(&page, ".proof-checked")[0].contains("editor_a的姓名"));
    let (code, _) = pass(&editor, &id).await;
    assert_eq!(code, 303);
    assert_eq!(state(&app, &id).await, ("in_review".into(), 1, 1));

    // An edit after the check makes a version that is checked again.
    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    let channel = id_of(&app, "select id from channels where slug = $1", "keji").await;
    let unit = id_of(&app, "select id from units where name = $1", "国家电网").await;
    let saved = chief
        .post(
            &format!("/admin/articles/{id}/edit"),
            &[
                ("title", "变电站按装新设备"),
                ("body", "<p>截止目前，已按装完毕。</p>"),
                ("channel_id", &channel),
                ("unit_id", &unit),
                ("version", "1"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    assert_eq!(state(&app, &id).await.2, 2);
    let (code, _) = pass(&chief, &id).await;
    assert_eq!(code, 422, "version 2 is not checked");
    let checked = chief
        .post(
            &format!("/admin/articles/{id}/proofread"),
            &[("version", "2")],
        )
        .await;
    assert_eq!(checked.status().as_u16(), 303);
    let (code, _) = pass(&chief, &id).await;
    assert_eq!(code, 303);
    assert_eq!(state(&app, &id).await.0, "published");

    // The review sheet says who did what, from the story's own events.
    let (code, sheet) = chief.page(&format!("/admin/articles/{id}/sheet")).await;
    assert_eq!(code, 200);
    assert_eq!(texts(&sheet, ".sheet-headline"), ["变电站按装新设备"]);
    let steps: Vec<String> = texts(&sheet, ".sheet-steps tbody tr");
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(
        steps[0].starts_with("送审writer的姓名提交审核"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with("第 1 审（编辑）editor_a的姓名审核通过同意。"),
        "{steps:?}"
    );
    assert!(
        steps[2].starts_with("第 2 审（总编）chief的姓名审核通过同意。"),
        "{steps:?}"
    );
    let whole = texts(&sheet, ".review-sheet").join("");
    assert!(
        whole.contains("疑似差错已由 chief的姓名"),
        "the check of the version published"
    );
    let number: i64 = sqlx::query_scalar("select number from articles where id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(texts(&sheet, ".sheet-url")[0].ends_with(&format!("/articles/{number}")));
    let stranger = app.other_client();
    stranger.login_as("stranger", "correspondent").await;
    assert_eq!(
        stranger
            .get(&format!("/admin/articles/{id}/sheet"))
            .await
            .status()
            .as_u16(),
        404,
        "another correspondent's story is not theirs to see"
    );
    let anonymous = app.other_client();
    assert!(
        location(&anonymous.get(&format!("/admin/articles/{id}/sheet")).await)
            .starts_with("/admin/login")
    );

    // A story without suspected errors passes without any check.
    let clean = submit(&writer, "变电站安装新设备", "<p>已安装完毕。</p>").await;
    let (_, page) = editor.page(&format!("/admin/articles/{clean}")).await;
    assert_eq!(
        texts(&page, ".proofreading .proof-clean"),
        ["未发现疑似差错。"]
    );
    let (code, _) = pass(&editor, &clean).await;
    assert_eq!(code, 303);

    // Removing an entry reaches the next page at once.
    let term: i64 = sqlx::query_scalar("select id from proof_terms where term = '按装'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let removed = desk
        .post("/admin/proofreading", &[("remove", &term.to_string())])
        .await;
    assert_eq!(removed.status().as_u16(), 303);
    let (_, page) = writer.page(&format!("/admin/articles/{id}")).await;
    assert!(
        !texts(&page, ".article-body mark.proof")
            .iter()
            .any(|m| m == "按装")
    );
    assert_eq!(texts(&page, ".article-body mark.proof"), ["截止"]);
}

#[tokio::test]
async fn the_lists_are_kept_by_the_desk_with_bad_entries_refused() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let before = count(&app, "select count(*) from proof_terms").await;
    assert!(before > 0, "the demo has lists");
    for role in ["editor", "correspondent", "audit_admin", "security_admin"] {
        let client = app.other_client();
        client.login_as(&format!("user_{role}"), role).await;
        assert_eq!(
            client.get("/admin/proofreading").await.status().as_u16(),
            403
        );
        let status = add_term(
            &client,
            &[("kind", "typo"), ("term", "坏词"), ("suggestion", "好词")],
        )
        .await;
        assert_eq!(status, 403, "{role}");
    }
    let anonymous = app.other_client();
    let to = location(
        &anonymous
            .post(
                "/admin/proofreading",
                &[("kind", "typo"), ("term", "坏词"), ("suggestion", "好词")],
            )
            .await,
    );
    assert!(to.starts_with("/admin/login") || to.is_empty(), "{to}");

    let admin = app.other_client();
    admin.login_as("boss", "system_admin").await;
    for (fields, field, message) in [
        (
            &[("kind", "typo"), ("term", ""), ("suggestion", "安装")][..],
            "term",
            "请填写要提示的写法。",
        ),
        (
            &[("kind", "typo"), ("term", "安装"), ("suggestion", "安装")],
            "suggestion",
            "正确写法与要提示的写法相同。",
        ),
        (
            &[("kind", "leader"), ("term", "李四"), ("suggestion", "")],
            "suggestion",
            "请填写准确职务，多个职务用顿号隔开。",
        ),
        (
            &[("kind", "typo"), ("term", "<b>x</b>"), ("suggestion", "y")],
            "term",
            "不能含有 < > & \" 或控制字符。",
        ),
        (
            &[("kind", "sideways"), ("term", "甲"), ("suggestion", "乙")],
            "kind",
            "请选择词条类别。",
        ),
    ] {
        let (code, html) = admin.post_page("/admin/proofreading", fields).await;
        assert_eq!(code, 422, "{fields:?}");
        assert_eq!(
            texts(&html, &format!("#{field}-error")),
            [message],
            "{fields:?}"
        );
        let typed = fields.iter().find(|(k, _)| *k == "suggestion").unwrap().1;
        assert_eq!(
            attrs(&html, "input[name=suggestion]", "value"),
            [typed],
            "the form is filled again"
        );
    }
    assert_eq!(
        count(&app, "select count(*) from proof_terms").await,
        before
    );

    // The demo's entry saved again is changed, twice; the pasted text
    // shows the last.
    for suggestion in ["既然", "既然（连词）"] {
        let status = add_term(
            &admin,
            &[
                ("kind", "typo"),
                ("term", "即然"),
                ("suggestion", suggestion),
            ],
        )
        .await;
        assert_eq!(status, 303);
    }
    assert_eq!(
        count(&app, "select count(*) from proof_terms").await,
        before
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_log where action = 'proof_term.change' and target = '即然'"
        )
        .await,
        2
    );
    let (code, page) = admin
        .page("/admin/proofreading?sample=%E5%8D%B3%E7%84%B6%E8%A6%81%E6%8C%89%E8%A3%9D")
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        texts(&page, ".proof-sample mark.proof"),
        ["即然", "按裝"],
        "繁體 is proofread too"
    );
    assert!(texts(&page, ".proof-findings li")[0].contains("应为“既然（连词）”"));
}

#[tokio::test]
async fn a_chief_editor_grades_a_story_at_its_last_stage_from_the_desks_list() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let editor = app.other_client();
    editor.login_as("editor_g", "editor").await;
    assert_eq!(editor.get("/admin/grades").await.status().as_u16(), 403);
    let refused = editor
        .post("/admin/grades", &[("name", "特稿"), ("position", "0")])
        .await;
    assert_eq!(refused.status().as_u16(), 403);

    let chief = app.other_client();
    chief.login_as("chief_g", "chief_editor").await;
    let added = chief
        .post("/admin/grades", &[("name", "特稿"), ("position", "0")])
        .await;
    assert_eq!(added.status().as_u16(), 303);
    for (fields, field, message) in [
        (
            &[("name", "特稿"), ("position", "1")][..],
            "name",
            "已有同名的评级。",
        ),
        (
            &[("name", ""), ("position", "1")],
            "name",
            "请填写评级名称。",
        ),
        (
            &[("name", "乙等"), ("position", "x")],
            "position",
            "排序请填写 0 到 999 的整数。",
        ),
    ] {
        let (code, html) = chief.post_page("/admin/grades", fields).await;
        assert_eq!(code, 422, "{fields:?}");
        assert_eq!(texts(&html, &format!("#{field}-error")), [message]);
        assert_eq!(
            attrs(&html, "input[name=name]", "value"),
            [fields[0].1],
            "refilled"
        );
    }
    let (_, page) = chief.page("/admin/grades").await;
    let names: Vec<String> = texts(&page, ".grades tbody td:nth-child(2)");
    assert_eq!(names, ["特稿", "好稿", "一类稿", "二类稿", "三类稿"]);

    // The story waiting for the chief editor's last stage.
    let id = id_of(
        &app,
        "select id from articles where status = $1",
        "in_review",
    )
    .await;
    let grade_id = |name: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>("select id from grades where name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let (_, page) = chief.page(&format!("/admin/articles/{id}")).await;
    let offered = texts(&page, "select[name=grade] option");
    assert_eq!(
        offered,
        ["暂不评级", "特稿", "好稿", "一类稿", "二类稿", "三类稿"]
    );

    // A grade stopped meanwhile is refused, the choice kept, nothing out.
    let stopped = grade_id("三类稿").await;
    let toggled = chief.post("/admin/grades", &[("toggle", &stopped)]).await;
    assert_eq!(toggled.status().as_u16(), 303);
    for chosen in [stopped.as_str(), "999999", "好稿"] {
        let (code, html) = chief
            .post_page(
                &format!("/admin/articles/{id}/review"),
                &[
                    ("decision", "pass"),
                    ("opinion", "同意发布。"),
                    ("placement", "1"),
                    ("grade", chosen),
                ],
            )
            .await;
        assert_eq!(code, 422, "{chosen}");
        assert_eq!(
            texts(&html, "#grade-error"),
            ["所选评级不存在或已停用，请重新选择。"]
        );
    }
    let (code, html) = chief
        .post_page(
            &format!("/admin/articles/{id}/review"),
            &[
                ("decision", "pass"),
                ("opinion", "同意发布。"),
                ("placement", "1"),
                ("grade", &stopped),
            ],
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, "textarea[name=opinion]"), ["同意发布。"]);
    let status: String = sqlx::query_scalar("select status from articles where id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "in_review");
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from article_grades where article_id = '{id}'")
        )
        .await,
        0
    );

    let good = grade_id("好稿").await;
    let (code, _) = chief
        .post_page(
            &format!("/admin/articles/{id}/review"),
            &[
                ("decision", "pass"),
                ("opinion", "同意发布。"),
                ("placement", "1"),
                ("grade", &good),
            ],
        )
        .await;
    assert_eq!(code, 303);
    let (grade, grader): (String, String) = sqlx::query_as(
        "select g.name, a.grader_name from article_grades a join grades g on g.id = a.grade_id
         where a.article_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((grade.as_str(), grader.as_str()), ("好稿", "chief_g的姓名"));
    let (_, sheet) = chief.page(&format!("/admin/articles/{id}/sheet")).await;
    assert!(texts(&sheet, ".sheet-grade")[0].starts_with("好稿（chief_g的姓名"));
    let (_, page) = chief.page("/admin/grades").await;
    assert!(
        texts(&page, ".grades tbody tr.inactive")[0].contains("已停用"),
        "the stopped grade stays listed"
    );

    // A grade sent with an editor's first-stage pass is not given.
    let submitted = id_of(
        &app,
        "select id from articles where status = $1",
        "submitted",
    )
    .await;
    sqlx::query("insert into proof_checks (article_id, version, hits, checker_name) select id, version, 0, 'x' from articles where id = $1::uuid")
        .bind(&submitted)
        .execute(&app.pool)
        .await
        .unwrap();
    let (code, _) = editor
        .post_page(
            &format!("/admin/articles/{submitted}/review"),
            &[
                ("decision", "pass"),
                ("opinion", "同意。"),
                ("grade", &good),
            ],
        )
        .await;
    assert_eq!(code, 303);
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from article_grades where article_id = '{submitted}'")
        )
        .await,
        0
    );
}
