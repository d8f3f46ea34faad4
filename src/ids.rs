//! The ids of the main entities, each its own type so that a unit's id
//! cannot be passed where a user's is wanted. Each is a UUID in the
//! database (`sqlx(transparent)`) and in forms and JSON (`serde(transparent)`).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            sqlx::Type, serde::Serialize, serde::Deserialize,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id, for rows made before they are stored.
            pub fn new() -> Self {
                $name(Uuid::new_v4())
            }

            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name(Uuid::nil())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    )*};
}

ids! {
    /// A story (`articles.id`).
    ArticleId;
    /// A staff account (`users.id`).
    UserId;
    /// A unit of the network (`units.id`).
    UnitId;
    /// A channel of the portal (`channels.id`).
    ChannelId;
    /// A reader's comment (`comments.id`).
    CommentId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_back_what_it_writes() {
        let id = UnitId::new();
        assert_eq!(id.to_string().parse::<UnitId>().unwrap(), id);
        assert!("not-an-id".parse::<UnitId>().is_err());
        assert_ne!(UnitId::new(), UnitId::new());
    }

    #[test]
    fn an_id_is_a_bare_uuid_in_json() {
        let id = ArticleId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.0));
        assert_eq!(serde_json::from_str::<ArticleId>(&json).unwrap(), id);
    }
}
