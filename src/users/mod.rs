//! Staff accounts: roles, units and passwords.

pub mod password;

use std::fmt;

/// What a staff member may do in the newsroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    ChiefEditor,
    Editor,
    Correspondent,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::ChiefEditor,
        Role::Editor,
        Role::Correspondent,
    ];

    /// The value stored in `users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ChiefEditor => "chief_editor",
            Role::Editor => "editor",
            Role::Correspondent => "correspondent",
        }
    }

    /// The role's name as the newsroom says it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::ChiefEditor => "总编",
            Role::Editor => "编辑",
            Role::Correspondent => "通讯员",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
