//! Who may do what: staff sessions, the role → permission table every
//! handler asks, login throttling and the login pages.

pub mod login;
pub mod password;
pub mod session;
pub mod throttle;
pub mod two_factor;

pub use session::Staff;

use crate::roles::Role;

/// Something a handler may require of the signed-in staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Open the backend at all.
    UseBackend,
    /// Write drafts and submit them for review.
    WriteArticles,
    /// Act on review stages held by editors; moderate comments.
    ReviewArticles,
    /// Final review, publishing, unpublishing, headline slots.
    PublishArticles,
    /// Approve, reject and pin reader comments.
    ModerateComments,
    /// Contribution statistics (editors: their own units only).
    ViewStatistics,
    /// Yearly contribution targets of units and correspondents.
    SetQuotas,
    ManageUsers,
    ManageUnits,
    ManageChannels,
    ManageSettings,
    ReadAuditLog,
}

use Permission::*;
use Role::*;

/// The one table of who may do what.
const GRANTS: &[(Permission, &[Role])] = &[
    (UseBackend, &[Admin, ChiefEditor, Editor, Correspondent]),
    (WriteArticles, &[ChiefEditor, Editor, Correspondent]),
    (ReviewArticles, &[ChiefEditor, Editor]),
    (PublishArticles, &[ChiefEditor]),
    (ModerateComments, &[Admin, ChiefEditor, Editor]),
    (ViewStatistics, &[Admin, ChiefEditor, Editor]),
    (SetQuotas, &[Admin, ChiefEditor]),
    (ManageUsers, &[Admin]),
    (ManageUnits, &[Admin]),
    (ManageChannels, &[Admin]),
    (ManageSettings, &[Admin]),
    (ReadAuditLog, &[Admin]),
];

/// Whether `role` holds `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    GRANTS
        .iter()
        .any(|(granted, roles)| *granted == permission && roles.contains(&role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_is_in_the_table_once() {
        for (i, (permission, _)) in GRANTS.iter().enumerate() {
            assert!(!GRANTS[i + 1..].iter().any(|(other, _)| other == permission));
        }
    }

    #[test]
    fn administration_belongs_to_admins_alone() {
        for role in Role::ALL {
            assert_eq!(allows(role, ManageUsers), role == Admin);
            assert_eq!(allows(role, ReadAuditLog), role == Admin);
        }
        assert!(allows(Correspondent, WriteArticles));
        assert!(!allows(Correspondent, ReviewArticles));
        assert!(!allows(Editor, PublishArticles));
        assert!(allows(ChiefEditor, PublishArticles));
    }
}
