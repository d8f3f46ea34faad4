//! Who may do what: the roles of staff accounts and of review stages.
//! Every slice speaks of them, so they sit below all of them.

use std::fmt;

/// What a staff member may do in the newsroom; stored as text in
/// `users.role` (an unknown value fails to decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    /// The single administrator of a small site: everything the three
    /// administrators below hold, together.
    Admin,
    /// 系统管理员 (三员分立): users, units, channels, settings.
    SystemAdmin,
    /// 安全管理员 (三员分立): password and login policy, locks, sensitive
    /// words, two-factor rules.
    SecurityAdmin,
    /// 审计管理员 (三员分立): reads and exports the audit log.
    AuditAdmin,
    ChiefEditor,
    Editor,
    Correspondent,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::AuditAdmin,
        Role::ChiefEditor,
        Role::Editor,
        Role::Correspondent,
    ];

    /// The value stored in `users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::AuditAdmin => "audit_admin",
            Role::ChiefEditor => "chief_editor",
            Role::Editor => "editor",
            Role::Correspondent => "correspondent",
        }
    }

    /// The role's name as the newsroom says it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::SystemAdmin => "系统管理员",
            Role::SecurityAdmin => "安全管理员",
            Role::AuditAdmin => "审计管理员",
            Role::ChiefEditor => "总编",
            Role::Editor => "编辑",
            Role::Correspondent => "通讯员",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// One of the three administrators of 三员分立.
    pub fn is_separated_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin
        )
    }

    /// Any administrator: the single one or one of the three.
    pub fn is_admin(self) -> bool {
        self == Role::Admin || self.is_separated_admin()
    }

    /// The roles that write, review and publish stories.
    pub const EDITORIAL: [Role; 3] = [Role::ChiefEditor, Role::Editor, Role::Correspondent];

    /// The three administrators of 三员分立.
    pub const SEPARATED: [Role; 3] = [Role::SystemAdmin, Role::SecurityAdmin, Role::AuditAdmin];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role acting on one review stage of a channel.
/// Stored as text in `channels.review_stages` and each story's stage
/// list (an unknown value fails to decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum StageRole {
    Editor,
    ChiefEditor,
}

impl StageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StageRole::Editor => "editor",
            StageRole::ChiefEditor => "chief_editor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StageRole::Editor => "编辑",
            StageRole::ChiefEditor => "总编",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "editor" => Some(StageRole::Editor),
            "chief_editor" => Some(StageRole::ChiefEditor),
            _ => None,
        }
    }
}
