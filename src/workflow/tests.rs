use chrono::{Duration, TimeZone};
use uuid::Uuid;

use super::*;

const ALL_STATUSES: [Status; 8] = Status::ALL;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
}

fn article(status: Status, stage: usize) -> ArticleState {
    ArticleState {
        status,
        stage,
        stages: vec![StageRole::Editor, StageRole::Editor, StageRole::ChiefEditor],
        writer: UserId(Uuid::from_u128(1)),
        reviewers: Vec::new(),
    }
}

fn actor(id: u128, role: Role) -> Actor {
    Actor {
        id: UserId(Uuid::from_u128(id)),
        role,
        in_scope: true,
    }
}

fn pass() -> Action {
    Action::Pass {
        opinion: "同意".into(),
        publish_at: None,
    }
}

/// Every action, for the exhaustive tables.
fn all_actions() -> Vec<Action> {
    vec![
        Action::Submit,
        pass(),
        Action::Return {
            note: "补充数据".into(),
        },
        Action::Reject {
            note: "不宜刊发".into(),
        },
        Action::PublishDue,
        Action::Unpublish {
            reason: "内容有误".into(),
        },
    ]
}

#[test]
fn the_whole_path_from_draft_to_published() {
    let writer = actor(1, Role::Correspondent);
    let mut state = article(Status::Draft, 0);
    let submitted = transition(&state, writer, &Action::Submit, now()).unwrap();
    assert_eq!((submitted.status, submitted.stage), (Status::Submitted, 0));

    state.status = submitted.status;
    let first = transition(&state, actor(2, Role::Editor), &pass(), now()).unwrap();
    assert_eq!((first.status, first.stage), (Status::InReview, 1));

    state.status = first.status;
    state.stage = first.stage;
    state.reviewers.push(UserId(Uuid::from_u128(2)));
    let second = transition(&state, actor(3, Role::Editor), &pass(), now()).unwrap();
    assert_eq!((second.status, second.stage), (Status::InReview, 2));

    state.stage = second.stage;
    state.reviewers.push(UserId(Uuid::from_u128(3)));
    let last = transition(&state, actor(4, Role::ChiefEditor), &pass(), now()).unwrap();
    assert_eq!(last.status, Status::Published);
    assert_eq!(last.publish_at, Some(now()));
}

#[test]
fn the_last_stage_may_schedule_a_later_time_only() {
    let state = article(Status::InReview, 2);
    let chief = actor(4, Role::ChiefEditor);
    let later = now() + Duration::hours(3);
    let scheduled = Action::Pass {
        opinion: "同意，定时发布".into(),
        publish_at: Some(later),
    };
    let outcome = transition(&state, chief, &scheduled, now()).unwrap();
    assert_eq!(
        (outcome.status, outcome.publish_at),
        (Status::Scheduled, Some(later))
    );

    let past = Action::Pass {
        opinion: "同意".into(),
        publish_at: Some(now() - Duration::minutes(1)),
    };
    assert_eq!(
        transition(&state, chief, &past, now()),
        Err(FormError::field(
            "publish_at",
            "定时发布的时间必须晚于现在。"
        ))
    );
    let early = article(Status::InReview, 0);
    assert_eq!(
        transition(&early, actor(2, Role::Editor), &scheduled, now()),
        Err(FormError::field(
            "publish_at",
            "只有最后一个审核环节可以设定发布时间。"
        ))
    );

    let mut due = state.clone();
    due.status = Status::Scheduled;
    assert_eq!(
        transition(&due, chief, &Action::PublishDue, now())
            .unwrap()
            .status,
        Status::Published
    );
}

#[test]
fn returning_and_rejecting_need_a_note() {
    let state = article(Status::InReview, 1);
    let editor = actor(2, Role::Editor);
    assert_eq!(
        transition(&state, editor, &Action::Return { note: " ".into() }, now()),
        refuse("退回稿件时请写明修改意见。")
    );
    assert_eq!(
        transition(
            &state,
            editor,
            &Action::Reject {
                note: String::new()
            },
            now()
        ),
        refuse("不采用稿件时请写明理由。")
    );
    let empty_pass = Action::Pass {
        opinion: String::new(),
        publish_at: None,
    };
    assert_eq!(
        transition(&state, editor, &empty_pass, now()),
        refuse("请填写审核意见。")
    );
    let returned = transition(
        &state,
        editor,
        &Action::Return {
            note: "补充数据".into(),
        },
        now(),
    )
    .unwrap();
    assert_eq!((returned.status, returned.stage), (Status::Returned, 0));
    let mut again = state.clone();
    again.status = Status::Returned;
    assert_eq!(
        transition(
            &again,
            actor(1, Role::Correspondent),
            &Action::Submit,
            now()
        )
        .unwrap()
        .status,
        Status::Submitted,
        "a returned story goes back to review when its writer resubmits"
    );
}

#[test]
fn roles_scope_and_separation_of_duties_are_enforced() {
    let first_stage = article(Status::Submitted, 0);
    let last_stage = article(Status::InReview, 2);
    assert_eq!(
        transition(&first_stage, actor(5, Role::Correspondent), &pass(), now()),
        refuse("您的角色不能审核这一环节。")
    );
    assert_eq!(
        transition(&first_stage, actor(5, Role::Admin), &pass(), now()),
        refuse("您的角色不能审核这一环节。")
    );
    assert_eq!(
        transition(&last_stage, actor(2, Role::Editor), &pass(), now()),
        refuse("您的角色不能审核这一环节。"),
        "an editor cannot act on the chief editor's stage"
    );
    assert!(transition(&first_stage, actor(4, Role::ChiefEditor), &pass(), now()).is_ok());

    let out_of_scope = Actor {
        in_scope: false,
        ..actor(2, Role::Editor)
    };
    assert_eq!(
        transition(&first_stage, out_of_scope, &pass(), now()),
        refuse("该稿件不属于您负责的单位。")
    );

    let mut own = article(Status::InReview, 2);
    own.writer = UserId(Uuid::from_u128(4));
    assert_eq!(
        transition(&own, actor(4, Role::ChiefEditor), &pass(), now()),
        refuse("不能审核自己撰写的稿件。"),
        "a chief editor's own story needs other reviewers"
    );

    let mut second = article(Status::InReview, 1);
    second.reviewers.push(UserId(Uuid::from_u128(2)));
    assert_eq!(
        transition(&second, actor(2, Role::Editor), &pass(), now()),
        refuse("同一人不能审核同一稿件的两个环节。")
    );
}

#[test]
fn only_the_writer_submits_and_only_chief_editors_unpublish() {
    let draft = article(Status::Draft, 0);
    assert_eq!(
        transition(&draft, actor(2, Role::Editor), &Action::Submit, now()),
        refuse("只有作者本人可以提交稿件。")
    );
    let published = article(Status::Published, 2);
    let unpublish = Action::Unpublish {
        reason: "内容有误".into(),
    };
    assert_eq!(
        transition(&published, actor(2, Role::Editor), &unpublish, now()),
        refuse("只有总编可以撤下已发布的稿件。")
    );
    assert_eq!(
        transition(
            &published,
            actor(4, Role::ChiefEditor),
            &Action::Unpublish {
                reason: String::new()
            },
            now()
        ),
        refuse("撤稿时请写明原因。")
    );
    let outcome = transition(&published, actor(4, Role::ChiefEditor), &unpublish, now()).unwrap();
    assert_eq!(outcome.status, Status::Unpublished);
}

/// Every (status, action) pair: exactly the legal ones succeed, for an
/// actor who is otherwise entitled to act.
#[test]
fn every_illegal_transition_is_refused() {
    let legal = |status: Status, action: &Action| {
        matches!(
            (status, action),
            (Status::Draft | Status::Returned, Action::Submit)
                | (
                    Status::Submitted | Status::InReview,
                    Action::Pass { .. } | Action::Return { .. } | Action::Reject { .. }
                )
                | (Status::Scheduled, Action::PublishDue)
                | (Status::Published, Action::Unpublish { .. })
        )
    };
    for status in ALL_STATUSES {
        for action in all_actions() {
            let state = article(status, 2);
            // The entitled actor for each action: the writer submits, a
            // chief editor (not the writer) does the rest.
            let who = if action == Action::Submit {
                actor(1, Role::Correspondent)
            } else {
                actor(4, Role::ChiefEditor)
            };
            let outcome = transition(&state, who, &action, now());
            assert_eq!(
                outcome.is_ok(),
                legal(status, &action),
                "{status:?} + {action:?}: {outcome:?}"
            );
        }
    }
}

#[test]
fn statuses_match_the_stored_values() {
    for status in ALL_STATUSES {
        assert!(!status.label().is_empty());
        assert!(
            [
                "draft",
                "submitted",
                "in_review",
                "returned",
                "rejected",
                "approved",
                "scheduled",
                "published",
                "unpublished"
            ]
            .contains(&status.as_str())
        );
    }
}
