//! Subnet and neuron identifiers.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::TypesError;

/// A subnet id (`netuid`). 0 is the root network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetUid(pub u16);

/// A neuron's position (`uid`) inside one subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Uid(pub u16);

impl NetUid {
    /// The root network, where weights cannot be set.
    pub const ROOT: NetUid = NetUid(0);
}

macro_rules! id_impls {
    ($ty:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
        impl FromStr for $ty {
            type Err = TypesError;
            fn from_str(s: &str) -> Result<Self, TypesError> {
                s.trim()
                    .parse::<u16>()
                    .map($ty)
                    .map_err(|_| TypesError::Id {
                        input: s.to_owned(),
                        what: $what,
                    })
            }
        }
        impl From<u16> for $ty {
            fn from(v: u16) -> Self {
                $ty(v)
            }
        }
        impl From<$ty> for u16 {
            fn from(v: $ty) -> u16 {
                v.0
            }
        }
    };
}

id_impls!(NetUid, "netuid");
id_impls!(Uid, "uid");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!("113".parse::<NetUid>(), Ok(NetUid(113)));
        assert_eq!(NetUid(2).to_string(), "2");
        assert_eq!(" 7 ".parse::<Uid>(), Ok(Uid(7)));
        assert!(matches!(
            "65536".parse::<Uid>(),
            Err(TypesError::Id { what: "uid", .. })
        ));
        assert!("-1".parse::<NetUid>().is_err());
    }
}
