//! The one error type of request handlers. Each variant renders a Chinese
//! error page with its status; the cause of an internal failure is logged
//! with the request's span and never shown to the visitor.
//!
//! Which to use: a missing row or route is `NotFound`; a database that does
//! not answer is `Unavailable` (classified once, in `From<sqlx::Error>`);
//! anything unexpected is `Internal`. A form refused is `Form`, carrying a
//! `FormError` (a message per field): the handler re-renders its form,
//! filled in again, with each message beside its field and the refusal's
//! status (422 unless said); a refusal no handler catches still answers
//! with that status and the messages.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not signed in; carries the backend page to return to after login.
    #[error("authentication required")]
    Unauthenticated(Option<String>),
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    /// The role must log in with two factors, and this account has none yet.
    #[error("two-factor login must be turned on first")]
    SecondFactorRequired,
    /// A reader page asked for without a reader session.
    #[error("reader login required")]
    ReaderLoginRequired,
    #[error("malformed request")]
    BadRequest,
    /// A NUL byte, another control character or broken UTF-8 in the path,
    /// the query or a form field.
    #[error("forbidden characters in the request")]
    ForbiddenCharacters,
    /// Too many password checks at once: the visitor should retry shortly.
    #[error("too many concurrent password checks")]
    Busy,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("form refused: {0}")]
    Form(FormError),
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A form refused: what is wrong with which field, and the status to answer
/// with. The field `""` stands for the form as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub status: StatusCode,
    pub messages: Vec<(&'static str, String)>,
}

impl FormError {
    /// `field` is wrong, for the reason `message`; answered with 422.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        FormError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            messages: vec![(field, message.into())],
        }
    }

    /// The form as a whole is refused (a duplicate, a stale version).
    pub fn whole(message: impl Into<String>) -> Self {
        FormError::field("", message)
    }

    /// Answered with `status` instead of 422 (409 for a conflict, 429 for
    /// too many attempts).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Another field's message as well.
    pub fn and(mut self, field: &'static str, message: impl Into<String>) -> Self {
        self.messages.push((field, message.into()));
        self
    }

    /// The message beside `field`, if it has one.
    pub fn at(&self, field: &str) -> Option<&str> {
        self.messages
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
    }

    /// Every message, in order, for the alert above a form.
    pub fn summary(&self) -> String {
        self.messages
            .iter()
            .map(|(_, message)| message.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// A form's field checks gathered, so that one refusal names every field
/// that is wrong rather than the first.
#[derive(Debug, Default)]
pub struct Checks {
    wrong: Vec<(&'static str, String)>,
}

impl Checks {
    /// The value `checked` holds, or its type's default while `field` is
    /// noted as wrong.
    pub fn check<T: Default, E: Into<String>>(
        &mut self,
        field: &'static str,
        checked: Result<T, E>,
    ) -> T {
        checked.unwrap_or_else(|message| {
            self.refuse(field, message);
            T::default()
        })
    }

    /// Notes `field` as wrong (a check that is not a `Result`).
    pub fn refuse(&mut self, field: &'static str, message: impl Into<String>) {
        if !self.wrong.iter().any(|(name, _)| *name == field) {
            self.wrong.push((field, message.into()));
        }
    }

    /// Ok when every check passed, else the refusal (422) naming each field.
    pub fn finish(self) -> Result<(), FormError> {
        match self.wrong.is_empty() {
            true => Ok(()),
            false => Err(FormError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                messages: self.wrong,
            }),
        }
    }
}

/// A message for the form as a whole, as handlers write it.
impl From<String> for FormError {
    fn from(message: String) -> Self {
        FormError::whole(message)
    }
}

impl From<&str> for FormError {
    fn from(message: &str) -> Self {
        FormError::whole(message)
    }
}

impl From<FormError> for AppError {
    fn from(refusal: FormError) -> Self {
        AppError::Form(refusal)
    }
}

/// Where a handler parts a step's refusal, to show on its form, from the
/// errors it passes on: `match step().await.refused()? { Ok(..) => ..,
/// Err(refusal) => re-render }`.
pub trait Refused<T> {
    fn refused(self) -> Result<Result<T, FormError>, AppError>;
}

impl<T> Refused<T> for Result<T, AppError> {
    fn refused(self) -> Result<Result<T, FormError>, AppError> {
        match self {
            Ok(value) => Ok(Ok(value)),
            Err(AppError::Form(refusal)) => Ok(Err(refusal)),
            Err(other) => Err(other),
        }
    }
}

/// A constraint the database refused a write by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique constraint: a duplicate name or slug (23505).
    Unique,
    /// A foreign key that points at no row: a parent or picture gone (23503).
    ForeignKey,
}

impl Violation {
    /// The constraint `error` is the violation of, if it is one.
    pub fn of(error: &sqlx::Error) -> Option<Violation> {
        match error {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("23505") => Some(Violation::Unique),
                Some("23503") => Some(Violation::ForeignKey),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A database error as the refusal of the form it came from: the first
/// rule naming the violated kind of constraint gives the field and its
/// message (422); any other error stays what it is. The one place where
/// constraint violations become what a form says.
pub fn refusal_of(error: sqlx::Error, rules: &[(Violation, &'static str, &str)]) -> AppError {
    let violation = Violation::of(&error);
    match rules.iter().find(|(kind, _, _)| Some(*kind) == violation) {
        Some((_, field, message)) => FormError::field(field, *message).into(),
        None => error.into(),
    }
}

/// A unique-constraint violation as `message` beside `field`.
pub fn unique_as_field(error: sqlx::Error, field: &'static str, message: &str) -> AppError {
    refusal_of(error, &[(Violation::Unique, field, message)])
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if error_is_unavailability(&error) {
            return AppError::Unavailable(error);
        }
        match error {
            sqlx::Error::RowNotFound => AppError::NotFound,
            other => AppError::Internal(other.into()),
        }
    }
}

/// Whether a database error means the database is away, stopping, starting
/// or overloaded (a 503 and a retry later), not that the request was wrong.
pub fn error_is_unavailability(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // The server went away in the middle of a reply.
        sqlx::Error::Protocol(message) => {
            let message = message.to_lowercase();
            message.contains("closed") || message.contains("eof") || message.contains("reset")
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-57P05: shutdown, crash,
            // cannot connect now, idle timeouts; 53300: too many
            // connections; 57014: cancelled by the statement timeout (a
            // database too slow to answer).
            code.starts_with("08") || code.starts_with("57P") || code == "53300" || code == "57014"
        }),
        _ => false,
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        AppError::Internal(error.into())
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

impl AppError {
    /// Whether this error means the database is away, whichever way it
    /// travelled here (also a database error wrapped in `Internal`).
    fn database_away(&self) -> bool {
        match self {
            AppError::Unavailable(_) => true,
            AppError::Internal(cause) => cause.chain().any(|cause| {
                cause
                    .downcast_ref::<sqlx::Error>()
                    .is_some_and(error_is_unavailability)
            }),
            _ => false,
        }
    }

    fn page(&self) -> (&'static str, &'static str) {
        if self.database_away() {
            return ("服务暂时不可用", "系统正在维护或繁忙，请稍后再试。");
        }
        match self {
            AppError::NotFound => (
                "页面不存在",
                "您访问的页面不存在或已被删除，请检查网址是否正确。",
            ),
            AppError::Forbidden => ("无权访问", "您没有执行此操作的权限。"),
            AppError::Unauthenticated(_) | AppError::ReaderLoginRequired => {
                ("请先登录", "此页面需要登录后才能访问。")
            }
            AppError::PasswordChangeRequired => {
                ("请先修改密码", "您的密码已被重置，请先设置新密码。")
            }
            AppError::SecondFactorRequired => {
                ("请先开启两步验证", "您的角色须使用两步验证登录，请先开启。")
            }
            AppError::BadRequest => ("请求有误", "提交的内容格式不正确，请返回上一页重试。"),
            AppError::ForbiddenCharacters => (
                "请求有误",
                "网址或提交的内容含有不允许的字符（如空字符、控制字符或乱码），请删除后重试。",
            ),
            AppError::Busy => ("请求过多", "当前登录请求过多，请稍等几秒后再试。"),
            AppError::Csrf => (
                "请求已失效",
                "表单安全校验未通过，请返回上一页刷新后重新提交。",
            ),
            AppError::Form(_) => ("无法提交", "提交的内容有误，请返回上一页修改后重试。"),
            AppError::Unavailable(_) => ("服务暂时不可用", "系统正在维护或繁忙，请稍后再试。"),
            AppError::Internal(_) => ("服务器内部错误", "服务器处理请求时出现问题，请稍后再试。"),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        if self.database_away() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Unauthenticated(_)
            | AppError::PasswordChangeRequired
            | AppError::SecondFactorRequired
            | AppError::ReaderLoginRequired => StatusCode::SEE_OTHER,
            AppError::BadRequest | AppError::ForbiddenCharacters => StatusCode::BAD_REQUEST,
            AppError::Busy => StatusCode::TOO_MANY_REQUESTS,
            AppError::Form(refusal) => refusal.status,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // Staff pages send the visitor where the request can succeed.
        let redirect = match self {
            AppError::Unauthenticated(None) => Some("/admin/login".to_owned()),
            AppError::Unauthenticated(Some(next)) => Some(format!(
                "/admin/login?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
            )),
            AppError::PasswordChangeRequired => Some("/admin/account/password".to_owned()),
            AppError::SecondFactorRequired => Some("/admin/account/2fa".to_owned()),
            AppError::ReaderLoginRequired => Some("/login?next=/account".to_owned()),
            _ => None,
        };
        if let Some(location) = redirect {
            return HttpResponse::SeeOther()
                .insert_header(("Location", location))
                .insert_header(("Cache-Control", "no-store"))
                .finish();
        }
        match self {
            AppError::Internal(cause) if self.database_away() => {
                tracing::warn!(error = %cause, "database unavailable")
            }
            AppError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            AppError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            _ => {}
        }
        let status = self.status_code();
        let (title, message) = self.page();
        let summary = match self {
            AppError::Form(refusal) => refusal.summary(),
            _ => String::new(),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: if summary.is_empty() {
                message
            } else {
                &summary
            },
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
        let shown = ErrorShown {
            title,
            message: page.message.to_owned(),
        };
        let mut response = HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body);
        response.extensions_mut().insert(shown);
        response
    }
}

/// What an error page said, kept on the response, so that a layer that
/// knows the visitor (the backend's) can say it again inside its own
/// layout.
#[derive(Debug, Clone)]
pub struct ErrorShown {
    pub title: &'static str,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_no_handler_catches_still_answers_with_its_status_and_messages() {
        let refusal = FormError::field("slug", "栏目标识已被其他栏目使用。")
            .and("", "请刷新后重试。")
            .with_status(StatusCode::CONFLICT);
        let response = AppError::from(refusal.clone()).error_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body =
            actix_web::body::MessageBody::try_into_bytes(response.into_body()).unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("栏目标识已被其他栏目使用。 请刷新后重试。"),
            "{body}"
        );
        assert_eq!(refusal.at("slug"), Some("栏目标识已被其他栏目使用。"));
        assert_eq!(refusal.at("name"), None);
    }

    #[test]
    fn a_step_parts_its_refusal_from_other_errors() {
        let refused: Result<(), AppError> = Err(FormError::whole("已被修改。").into());
        assert_eq!(
            refused.refused().unwrap(),
            Err(FormError::whole("已被修改。"))
        );
        let failed: Result<(), AppError> = Err(AppError::NotFound);
        assert!(matches!(failed.refused(), Err(AppError::NotFound)));
    }
}
