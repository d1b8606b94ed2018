//! `airssys:component/config`: the `[config]` pairs of the component's manifest.

use super::bindings::airssys::component::config::Host as ConfigImport;
use super::bindings::airssys::component::types::Host as TypesImport;
use crate::store::StoreData;

impl ConfigImport for StoreData {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.config.get(&key).cloned())
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl TypesImport for StoreData {}
