//! The review workflow (三审制) as pure functions: given an article's state,
//! who acts and what they ask for, the new state or a refusal in Chinese.
//! Handlers only apply the outcome, in one transaction with its review event.
//!
//! draft → submitted → in review (stage k of n) → published or scheduled;
//! returned (note required) goes back to the writer; rejected (note required);
//! published → unpublished (reason required); scheduled → published when due.

use crate::ids::UserId;
use chrono::{DateTime, Utc};

use crate::error::FormError;
use crate::roles::Role;
use crate::roles::StageRole;

/// An article's state, stored as text in `articles.status`; a value the
/// enum does not know fails to decode (never read as a draft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    Draft,
    /// Waiting for the first stage's reviewer.
    Submitted,
    /// At review stage `stage` (0-based) of the channel's stages.
    InReview,
    Returned,
    Rejected,
    Scheduled,
    Published,
    Unpublished,
}

impl Status {
    /// Every state, in the order a story usually passes them.
    pub const ALL: [Status; 8] = [
        Status::Draft,
        Status::Submitted,
        Status::InReview,
        Status::Returned,
        Status::Rejected,
        Status::Scheduled,
        Status::Published,
        Status::Unpublished,
    ];

    /// The value stored in `articles.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::InReview => "in_review",
            Status::Returned => "returned",
            Status::Rejected => "rejected",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Unpublished => "unpublished",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Submitted => "已提交",
            Status::InReview => "审核中",
            Status::Returned => "已退回",
            Status::Rejected => "未采用",
            Status::Scheduled => "待发布",
            Status::Published => "已发布",
            Status::Unpublished => "已撤稿",
        }
    }
}

/// What the workflow needs to know of an article.
#[derive(Debug, Clone)]
pub struct ArticleState {
    pub status: Status,
    /// The current review stage (0-based) while submitted or in review.
    pub stage: usize,
    /// The channel's review stages, in order.
    pub stages: Vec<StageRole>,
    pub writer: UserId,
    /// Everyone who already passed an earlier stage of this story.
    pub reviewers: Vec<UserId>,
}

/// Who acts, and whether the story's unit lies within their reach.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
    /// Editors act on stories of their own unit's subtree; chief editors
    /// site-wide (the caller works this out).
    pub in_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Submit,
    Pass {
        opinion: String,
        publish_at: Option<DateTime<Utc>>,
    },
    Return {
        note: String,
    },
    Reject {
        note: String,
    },
    PublishDue,
    Unpublish {
        reason: String,
    },
}

/// The state after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub stage: usize,
    /// When the story goes (or went) public, for published and scheduled.
    pub publish_at: Option<DateTime<Utc>>,
}

/// A transition refused: the message the review form shows.
fn refuse<T>(message: &'static str) -> Result<T, FormError> {
    Err(FormError::whole(message))
}

/// Whether `role` may act on a stage held by `stage`: the stage's own role,
/// and chief editors on editors' stages too.
pub fn may_act_on(role: Role, stage: StageRole) -> bool {
    matches!(
        (role, stage),
        (Role::Editor, StageRole::Editor)
            | (
                Role::ChiefEditor,
                StageRole::Editor | StageRole::ChiefEditor
            )
    )
}

/// Applies `action` by `actor` to `article` at time `now`.
pub fn transition(
    article: &ArticleState,
    actor: Actor,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Outcome, FormError> {
    let stay = |status| Outcome {
        status,
        stage: article.stage,
        publish_at: None,
    };
    match action {
        Action::Submit => {
            if !matches!(article.status, Status::Draft | Status::Returned) {
                return refuse("只有草稿或被退回的稿件可以提交审核。");
            }
            if actor.id != article.writer {
                return refuse("只有作者本人可以提交稿件。");
            }
            if article.stages.is_empty() {
                return refuse("该栏目没有设置审核环节，请联系管理员。");
            }
            Ok(Outcome {
                status: Status::Submitted,
                stage: 0,
                publish_at: None,
            })
        }
        Action::Pass {
            opinion,
            publish_at,
        } => {
            let stage = check_reviewer(article, actor)?;
            if opinion.trim().is_empty() {
                return refuse("请填写审核意见。");
            }
            let last = article.stage + 1 == article.stages.len();
            match (last, publish_at) {
                (false, Some(_)) => Err(FormError::field(
                    "publish_at",
                    "只有最后一个审核环节可以设定发布时间。",
                )),
                (false, None) => Ok(Outcome {
                    status: Status::InReview,
                    stage: stage + 1,
                    publish_at: None,
                }),
                (true, Some(at)) if *at <= now => Err(FormError::field(
                    "publish_at",
                    "定时发布的时间必须晚于现在。",
                )),
                (true, Some(at)) => Ok(Outcome {
                    status: Status::Scheduled,
                    stage,
                    publish_at: Some(*at),
                }),
                (true, None) => Ok(Outcome {
                    status: Status::Published,
                    stage,
                    publish_at: Some(now),
                }),
            }
        }
        Action::Return { note } => {
            check_reviewer(article, actor)?;
            if note.trim().is_empty() {
                return refuse("退回稿件时请写明修改意见。");
            }
            Ok(Outcome {
                status: Status::Returned,
                stage: 0,
                publish_at: None,
            })
        }
        Action::Reject { note } => {
            check_reviewer(article, actor)?;
            if note.trim().is_empty() {
                return refuse("不采用稿件时请写明理由。");
            }
            Ok(stay(Status::Rejected))
        }
        Action::PublishDue => {
            if article.status != Status::Scheduled {
                return refuse("只有待发布的稿件可以按时发布。");
            }
            Ok(Outcome {
                status: Status::Published,
                stage: article.stage,
                publish_at: None,
            })
        }
        Action::Unpublish { reason } => {
            if article.status != Status::Published {
                return refuse("只有已发布的稿件可以撤稿。");
            }
            if actor.role != Role::ChiefEditor {
                return refuse("只有总编可以撤下已发布的稿件。");
            }
            if reason.trim().is_empty() {
                return refuse("撤稿时请写明原因。");
            }
            Ok(stay(Status::Unpublished))
        }
    }
}

/// Checks that `actor` may decide on the story's current stage; returns it.
fn check_reviewer(article: &ArticleState, actor: Actor) -> Result<usize, FormError> {
    if !matches!(article.status, Status::Submitted | Status::InReview) {
        return refuse("该稿件当前不在审核中。");
    }
    let Some(&stage_role) = article.stages.get(article.stage) else {
        return refuse("该稿件的审核环节已不存在，请联系管理员。");
    };
    if !may_act_on(actor.role, stage_role) {
        return refuse("您的角色不能审核这一环节。");
    }
    if !actor.in_scope {
        return refuse("该稿件不属于您负责的单位。");
    }
    if actor.id == article.writer {
        return refuse("不能审核自己撰写的稿件。");
    }
    if article.reviewers.contains(&actor.id) {
        return refuse("同一人不能审核同一稿件的两个环节。");
    }
    Ok(article.stage)
}

#[cfg(test)]
mod tests;
