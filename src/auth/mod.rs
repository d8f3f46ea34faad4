//! Who may do what: staff sessions, the role → permission table every
//! handler asks, login throttling and the login pages.

pub mod duties;
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
    /// Read the newsroom's stories in the backend (lists, a story, its
    /// versions), within the role's scope.
    ReadArticles,
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
    /// Password, session and login policy, two-factor rules, login locks,
    /// sensitive words, and the switch to 三员分立.
    ManageSecurity,
    ReadAuditLog,
    /// The contributor desk's lists: proofreading (校对) terms, grades.
    ManageDesk,
}

use Permission::*;
use Role::*;

/// The one table of who may do what.
/// The three administrators of 三员分立 split the single admin's duties
/// so that no one holds two of them: the system admin runs the site, the
/// security admin sets its policy, the audit admin reads the log.
const GRANTS: &[(Permission, &[Role])] = &[
    (
        UseBackend,
        &[
            Admin,
            SystemAdmin,
            SecurityAdmin,
            AuditAdmin,
            ChiefEditor,
            Editor,
            Correspondent,
        ],
    ),
    (
        ReadArticles,
        &[Admin, SystemAdmin, ChiefEditor, Editor, Correspondent],
    ),
    (WriteArticles, &[ChiefEditor, Editor, Correspondent]),
    (ReviewArticles, &[ChiefEditor, Editor]),
    (PublishArticles, &[ChiefEditor]),
    (ModerateComments, &[Admin, ChiefEditor, Editor]),
    (ViewStatistics, &[Admin, SystemAdmin, ChiefEditor, Editor]),
    (SetQuotas, &[Admin, SystemAdmin, ChiefEditor]),
    (ManageUsers, &[Admin, SystemAdmin]),
    (ManageUnits, &[Admin, SystemAdmin]),
    (ManageChannels, &[Admin, SystemAdmin]),
    (ManageSettings, &[Admin, SystemAdmin]),
    (ManageSecurity, &[Admin, SecurityAdmin]),
    (ReadAuditLog, &[Admin, AuditAdmin]),
    (ManageDesk, &[Admin, SystemAdmin, ChiefEditor]),
];

/// The administrative permissions, which 三员分立 splits.
#[cfg(test)]
const ADMINISTRATION: [Permission; 6] = [
    ManageUsers,
    ManageUnits,
    ManageChannels,
    ManageSettings,
    ManageSecurity,
    ReadAuditLog,
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
            for permission in ADMINISTRATION {
                if allows(role, permission) {
                    assert!(role.is_admin(), "{role} holds {permission:?}");
                }
            }
        }
        for permission in ADMINISTRATION {
            assert!(allows(Admin, permission));
        }
        assert!(allows(Correspondent, WriteArticles));
        assert!(!allows(Correspondent, ReviewArticles));
        assert!(!allows(Editor, PublishArticles));
        assert!(allows(ChiefEditor, PublishArticles));
    }

    #[test]
    fn each_administrative_duty_has_one_of_the_three() {
        for permission in ADMINISTRATION {
            let holders: Vec<Role> = Role::SEPARATED
                .into_iter()
                .filter(|role| allows(*role, permission))
                .collect();
            assert_eq!(holders.len(), 1, "{permission:?} is held by {holders:?}");
        }
        assert!(allows(SystemAdmin, ManageUsers));
        assert!(allows(SecurityAdmin, ManageSecurity));
        assert!(allows(AuditAdmin, ReadAuditLog));
        for role in Role::SEPARATED {
            assert!(!allows(role, WriteArticles));
            assert!(!allows(role, ModerateComments));
        }
    }
}
