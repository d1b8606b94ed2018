//! Names → addresses, unique within one system (internal).
//!
//! An entry is added before the actor starts and removed when it stops for good
//! (not on restarts: the address stays the same). Removal checks the id, so a name
//! reused by a newer actor is never removed by an older one.

use std::any::Any;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use crate::error::ActorError;
use crate::id::ActorId;
use crate::sync::lock;

struct Registered {
    id: ActorId,
    /// An `ActorRef<A>` or a `SupervisorRef`.
    address: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub(crate) struct Registry {
    names: Mutex<HashMap<String, Registered>>,
}

impl Registry {
    /// # Errors
    ///
    /// [`ActorError::NameTaken`] if `name` is registered.
    pub(crate) fn register(
        &self,
        name: &str,
        id: ActorId,
        address: Arc<dyn Any + Send + Sync>,
    ) -> Result<(), ActorError> {
        match lock(&self.names).entry(name.to_owned()) {
            Entry::Occupied(_) => Err(ActorError::NameTaken {
                name: name.to_owned(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(Registered { id, address });
                Ok(())
            }
        }
    }

    /// Removes `name` if it still belongs to `id`.
    pub(crate) fn unregister(&self, name: &str, id: ActorId) {
        let mut names = lock(&self.names);
        if names.get(name).is_some_and(|entry| entry.id == id) {
            names.remove(name);
        }
    }

    /// The address registered under `name`, if it has type `T`.
    pub(crate) fn lookup<T: Any + Clone>(&self, name: &str) -> Option<T> {
        lock(&self.names)
            .get(name)
            .and_then(|entry| entry.address.downcast_ref::<T>().cloned())
    }

    /// Forgets every name.
    pub(crate) fn clear(&self) {
        lock(&self.names).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_removal_checks_the_id() {
        let registry = Registry::default();
        let first = ActorId::next();
        let second = ActorId::next();
        assert!(registry.register("a", first, Arc::new(1_u32)).is_ok());
        assert_eq!(
            registry.register("a", second, Arc::new(2_u32)),
            Err(ActorError::NameTaken { name: "a".into() })
        );
        registry.unregister("a", second);
        assert_eq!(registry.lookup::<u32>("a"), Some(1));
        assert_eq!(registry.lookup::<String>("a"), None);
        registry.unregister("a", first);
        assert_eq!(registry.lookup::<u32>("a"), None);
    }
}
