//! The audit log: every admin action and every login success and failure,
//! with who, what, on what, from where, when and with what result. Written
//! inside the transaction of the action it records, so the two stand or fall
//! together. The database keeps it append-only and chained (migration
//! 0045): [`verify`] recomputes the chain and finds any record changed,
//! removed or slipped in; [`purge`] removes only what is past retention.

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
    ("session.end", "结束会话"),
    ("password.change", "修改密码"),
    ("two_factor.enable", "开启两步验证"),
    ("two_factor.disable", "关闭两步验证"),
    ("two_factor.recovery", "重新生成恢复码"),
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
    ("webhook.create", "登记 Webhook 接收方"),
    ("webhook.update", "修改 Webhook 接收方"),
    ("webhook.secret", "更换 Webhook 密钥"),
    ("webhook.delete", "删除 Webhook 接收方"),
    ("webhook.retry", "重新发送 Webhook"),
    ("topic.update", "修改专题"),
    ("settings.update", "修改站点设置"),
    ("security.update", "修改安全策略"),
    ("duties.separate", "启用三员分立"),
    ("duties.single", "停用三员分立"),
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
    ("proof_term.add", "添加校对词条"),
    ("proof_term.change", "修改校对词条"),
    ("proof_term.remove", "删除校对词条"),
    ("proof.checked", "校对已核对"),
    ("grade.add", "添加稿件评级"),
    ("grade.toggle", "启停稿件评级"),
    ("article.grade", "稿件评级"),
    ("audit.view", "查阅审计日志"),
    ("audit.export", "导出审计日志"),
    ("audit.purge", "清理过期审计记录"),
];

/// Actions whose record says that something was refused.
const FAILURES: &[&str] = &["login.failure", "login.locked", "login.locked.summary"];

/// The result written with an action: `success` or `failure`.
pub fn result_of(action: &str) -> &'static str {
    if FAILURES.contains(&action) {
        "failure"
    } else {
        "success"
    }
}

/// How long records are kept at least (网络安全法 art. 21: six months).
pub const MIN_KEEP_DAYS: i64 = 180;

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
        "insert into audit_log (actor_id, actor_name, action, target, detail, client_ip, result)
         values ($1, $2, $3, $4, $5, $6, $7)",
        actor.id as Option<UserId>,
        &actor.name,
        action,
        target,
        detail,
        &actor.client_ip,
        result_of(action),
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ChainedRecord {
    seq: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor_id: Option<uuid::Uuid>,
    actor_name: String,
    action: String,
    target: String,
    detail: String,
    client_ip: String,
    result: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl ChainedRecord {
    /// The record's hash, computed here as migration 0045's
    /// `audit_record_text` writes its fields, independently of the database.
    fn computed_hash(&self) -> Vec<u8> {
        use sha2::Digest;
        let text = [
            self.seq.to_string(),
            self.at.timestamp_micros().to_string(),
            self.actor_id.map(|id| id.to_string()).unwrap_or_default(),
            hex::encode(&self.actor_name),
            hex::encode(&self.action),
            hex::encode(&self.target),
            hex::encode(&self.detail),
            hex::encode(&self.client_ip),
            self.result.clone(),
            hex::encode(&self.prev_hash),
        ]
        .join("|");
        sha2::Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verification {
    pub records: u64,
    /// The first break in the chain, in words; none when it is whole.
    pub problem: Option<String>,
}

/// Walks the whole chain in order and checks every link: each record's
/// place follows the one before, it names that record's hash, and its own
/// hash is what its fields give.
pub async fn verify(pool: &sqlx::PgPool) -> sqlx::Result<Verification> {
    use futures_util::TryStreamExt;
    let (last_seq, last_hash, purged_seq, purged_hash): (i64, Vec<u8>, i64, Vec<u8>) =
        sqlx::query_as("select last_seq, last_hash, purged_seq, purged_hash from audit_chain")
            .fetch_one(pool)
            .await?;
    let mut rows = sqlx::query_as::<_, ChainedRecord>(
        "select seq, at, actor_id, actor_name, action, target, detail, client_ip, result,
                prev_hash, hash
         from audit_log order by seq",
    )
    .fetch(pool);
    let (mut expected_seq, mut expected_prev) = (purged_seq + 1, purged_hash);
    let mut records = 0;
    let broken = |records, problem: String| Verification {
        records,
        problem: Some(problem),
    };
    while let Some(record) = rows.try_next().await? {
        if record.seq != expected_seq {
            return Ok(broken(
                records,
                format!("records {expected_seq} to {} are missing", record.seq - 1),
            ));
        }
        if record.prev_hash != expected_prev {
            return Ok(broken(
                records,
                format!(
                    "record {} does not follow record {}",
                    record.seq,
                    record.seq - 1
                ),
            ));
        }
        let computed = record.computed_hash();
        if computed != record.hash {
            return Ok(broken(
                records,
                format!("record {} was changed after it was written", record.seq),
            ));
        }
        records += 1;
        expected_seq += 1;
        expected_prev = computed;
    }
    if expected_seq - 1 != last_seq || (last_seq > purged_seq && expected_prev != last_hash) {
        return Ok(broken(
            records,
            format!(
                "the chain ends at record {} but {last_seq} were written",
                expected_seq - 1
            ),
        ));
    }
    Ok(Verification {
        records,
        problem: None,
    })
}

/// Removes the oldest records, those older than `keep_days` (never fewer
/// than [`MIN_KEEP_DAYS`]), and only as a prefix of the chain, so that what
/// stays is whole from its anchor. The purge is itself recorded. Returns how
/// many records it removed.
pub async fn purge(pool: &sqlx::PgPool, keep_days: i64, actor: &Actor) -> sqlx::Result<u64> {
    let keep_days = keep_days.max(MIN_KEEP_DAYS);
    let mut tx = pool.begin().await?;
    sqlx::query("select 1 from audit_chain for update")
        .execute(&mut *tx)
        .await?;
    sqlx::query("set local newsdesk.audit_purge = 'on'")
        .execute(&mut *tx)
        .await?;
    // The last record of the oldest run that is all past retention.
    let through: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "select seq, hash from audit_log
         where seq < coalesce((select min(seq) from audit_log
                               where at >= now() - make_interval(days => $1::int)),
                              (select last_seq + 1 from audit_chain))
         order by seq desc limit 1",
    )
    .bind(keep_days as i32)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((seq, hash)) = through else {
        return Ok(0);
    };
    let removed = sqlx::query("delete from audit_log where seq <= $1")
        .bind(seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("update audit_chain set purged_seq = $1, purged_hash = $2")
        .bind(seq)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query("reset newsdesk.audit_purge")
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        actor,
        "audit.purge",
        "审计日志",
        &format!("删除 {removed} 条超过 {keep_days} 天的记录（至第 {seq} 条）"),
    )
    .await?;
    tx.commit().await?;
    Ok(removed)
}
