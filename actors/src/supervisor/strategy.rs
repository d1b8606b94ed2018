//! [`Strategy`]: which children a supervisor restarts when one of them crashes.

use std::fmt;
use std::ops::Range;

/// Which children are restarted when one crashes.
///
/// Restarted children are stopped in reverse start order, then started in start
/// order; each keeps its mailbox. A `Temporary` sibling is stopped and removed
/// instead of restarted.
///
/// | strategy | restarts, for a crash of `c2` among `c1, c2, c3` |
/// |---|---|
/// | `OneForOne` (default) | `c2` |
/// | `OneForAll` | `c1, c2, c3` |
/// | `RestForOne` | `c2, c3` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Restart only the crashed child.
    #[default]
    OneForOne,
    /// Restart every child.
    OneForAll,
    /// Restart the crashed child and those started after it.
    RestForOne,
}

impl Strategy {
    /// Indices (in start order) of the children to restart when child `failed` of
    /// `len` children crashes.
    pub(crate) fn affected(self, failed: usize, len: usize) -> Range<usize> {
        match self {
            Self::OneForOne => failed..(failed + 1).min(len),
            Self::OneForAll => 0..len,
            Self::RestForOne => failed.min(len)..len,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OneForOne => "one_for_one",
            Self::OneForAll => "one_for_all",
            Self::RestForOne => "rest_for_one",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_children_per_strategy() {
        assert_eq!(Strategy::OneForOne.affected(1, 3), 1..2);
        assert_eq!(Strategy::OneForAll.affected(1, 3), 0..3);
        assert_eq!(Strategy::RestForOne.affected(1, 3), 1..3);
        assert_eq!(Strategy::RestForOne.affected(2, 3), 2..3);
        assert_eq!(Strategy::default(), Strategy::OneForOne);
    }

    proptest::proptest! {
        #[test]
        fn affected_always_contains_the_failed_child(len in 1_usize..20, seed in 0_usize..20) {
            let failed = seed % len;
            for strategy in [Strategy::OneForOne, Strategy::OneForAll, Strategy::RestForOne] {
                let range = strategy.affected(failed, len);
                proptest::prop_assert!(range.contains(&failed));
                proptest::prop_assert!(range.end <= len);
            }
        }
    }
}
