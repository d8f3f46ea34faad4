//! The audit log: every admin action and every login success and failure,
//! with who, what, on what, from where and when. Written inside the
//! transaction of the action it records, so the two stand or fall together.

pub mod admin;

use crate::ids::UserId;
use sqlx::PgConnection;

/// Who did something, and from which address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<UserId>,
    pub name: String,
    pub client_ip: String,
}

impl Actor {
    /// Someone not signed in (a failed login, say), named as they typed it.
    pub fn anonymous(name: &str, client_ip: String) -> Self {
        Actor {
            id: None,
            name: name.chars().take(64).collect(),
            client_ip,
        }
    }
}

/// The actions the log knows, with their names on the audit page.
pub const ACTIONS: &[(&str, &str)] = &[
    ("login.success", "登录成功"),
    ("login.failure", "登录失败"),
    ("login.locked", "登录被锁定"),
    ("login.locked.summary", "锁定期间被拒的登录"),
    ("logout", "退出登录"),
    ("password.change", "修改密码"),
    ("profile.update", "修改个人资料"),
    ("user.create", "创建用户"),
    ("user.update", "修改用户"),
    ("user.disable", "停用用户"),
    ("user.enable", "启用用户"),
    ("user.reset_password", "重置密码"),
    ("lock.clear", "解除登录锁定"),
    ("unit.create", "创建单位"),
    ("unit.update", "修改单位"),
    ("unit.deactivate", "停用单位"),
    ("unit.activate", "启用单位"),
    ("unit.delete", "删除单位"),
    ("channel.create", "创建栏目"),
    ("channel.update", "修改栏目"),
    ("channel.deactivate", "停用栏目"),
    ("channel.activate", "启用栏目"),
    ("channel.delete", "删除栏目"),
    ("article.placement", "设置头条推荐"),
    ("topic.create", "创建专题"),
    ("topic.update", "修改专题"),
    ("settings.update", "修改站点设置"),
    ("comment.approve", "通过评论"),
    ("comment.reject", "拒绝评论"),
    ("comment.spam", "标为垃圾评论"),
    ("comment.pin", "置顶评论"),
    ("comment.unpin", "取消置顶评论"),
    ("sensitive_word.add", "添加敏感词"),
    ("sensitive_word.remove", "删除敏感词"),
    ("conversion.add", "添加繁体转换"),
    ("conversion.change", "修改繁体转换"),
    ("conversion.remove", "删除繁体转换"),
    ("quota.set", "设置年度任务"),
];

pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map_or(action, |(_, label)| label)
}

pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> sqlx::Result<()> {
    debug_assert!(
        ACTIONS.iter().any(|(name, _)| *name == action),
        "unknown audit action {action}"
    );
    sqlx::query!(
        "insert into audit_log (actor_id, actor_name, action, target, detail, client_ip)
         values ($1, $2, $3, $4, $5, $6)",
        actor.id as Option<UserId>,
        &actor.name,
        action,
        target,
        detail,
        &actor.client_ip,
    )
    .execute(conn)
    .await?;
    Ok(())
}
