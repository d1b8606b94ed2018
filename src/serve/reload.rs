//! A host file read again (SIGHUP, contract section 5): `[components]` and `[supervisors]`
//! apply (new components start, removed ones stop, changed ones are upgraded in place);
//! what can change only with a restart is reported as such.

use super::{Deployment, Version, read_manifest, spawn_options, start_failed, supervisor_config};
use crate::error::Error;
use crate::manifest::HostFile;
use crate::manifest::host_file::RestartName;

/// What a reload did, name by name.
#[derive(Debug, Default)]
pub struct Reload {
    /// Components started.
    pub added: Vec<String>,
    /// Components stopped and removed.
    pub removed: Vec<String>,
    /// Components upgraded in place.
    pub upgraded: Vec<String>,
    /// Supervisors started.
    pub supervisors_added: Vec<String>,
    /// Supervisors stopped.
    pub supervisors_removed: Vec<String>,
    /// What failed, each error with its kind; a component whose new version failed keeps
    /// its old one serving.
    pub failed: Vec<Error>,
    /// Keys whose change applies only when the host is restarted (`[host]`, `[http]`
    /// besides its routes, `[metrics]`, a supervisor's strategy or intensity, a child's
    /// restart policy).
    pub needs_restart: Vec<String>,
}

impl Deployment {
    /// Applies `new` (the same host file, read again) to the running tree: components
    /// not in it stop, new ones start under their supervisor (new supervisors first), and
    /// a component whose manifest or wasm changed is upgraded in place
    /// ([`Host::upgrade`](crate::Host::upgrade)). A component that moved to another
    /// supervisor is stopped and started there.
    ///
    /// Nothing here fails as a whole: each failure is in [`Reload::failed`], and what it
    /// concerned is left as it was.
    pub async fn reload(&mut self, new: &HostFile) -> Reload {
        let mut report = Reload::default();
        let old = self.file.clone();
        needs_restart(&old, new, &mut report.needs_restart);

        // Components gone, or moved to another supervisor, stop first.
        for (name, _) in &old.components {
            let moved = new.component(name).is_some() && parent(&old, name) != parent(new, name);
            if new.component(name).is_some() && !moved {
                continue;
            }
            match self.host.remove_component(name).await {
                Ok(()) => report.removed.push(name.clone()),
                Err(e) => report.failed.push(e),
            }
            self.loaded.retain(|l| l.name() != name);
            self.versions.remove(name);
        }
        // Then supervisors gone, children before parents.
        for decl in old.supervisors.iter().rev() {
            if new.supervisor(&decl.name).is_some() {
                continue;
            }
            let Some(supervisor) = self.supervisors.remove(&decl.name) else {
                continue;
            };
            match parent(&old, &decl.name).and_then(|p| self.supervisors.get(&p)) {
                Some(parent) => {
                    if let Err(e) = parent.remove_child(&decl.name).await {
                        report.failed.push(start_failed(&decl.name, &e));
                    }
                }
                None => {
                    supervisor.stop().await;
                    self.top.retain(|t| t.id() != supervisor.id());
                }
            }
            report.supervisors_removed.push(decl.name.clone());
        }
        self.file = new.clone();
        self.start_new_supervisors(new, &mut report).await;

        // New components, in their supervisor's start order (after the children it has).
        for decl in &new.supervisors {
            for (child, restart) in &decl.children {
                if new.component(child).is_some() && !self.versions.contains_key(child) {
                    self.add(new, &decl.name, child, *restart, &mut report)
                        .await;
                }
            }
        }
        // Changed components, upgraded in place.
        for (name, path) in &new.components {
            let Some(running) = self.versions.get(name) else {
                continue;
            };
            let mut errors = Vec::new();
            let Some(manifest) = read_manifest(new, name, path, &mut errors) else {
                report.failed.extend(errors);
                continue;
            };
            let version = Version::of(&manifest);
            if *running == version {
                continue;
            }
            match self.host.upgrade(manifest).await {
                Ok(loaded) => {
                    for slot in &mut self.loaded {
                        if slot.name() == name {
                            *slot = loaded.clone();
                        }
                    }
                    self.versions.insert(name.clone(), version);
                    report.upgraded.push(name.clone());
                }
                Err(e) => report.failed.push(e),
            }
        }
        report
    }

    /// Starts the supervisors of `new` not running yet, each once its parent runs.
    async fn start_new_supervisors(&mut self, new: &HostFile, report: &mut Reload) {
        loop {
            let mut progress = false;
            for decl in &new.supervisors {
                if self.supervisors.contains_key(&decl.name) {
                    continue;
                }
                let started = match parent(new, &decl.name) {
                    None => self
                        .host
                        .system()
                        .spawn_supervisor(supervisor_config(decl))
                        .name(decl.name.clone())
                        .start()
                        .await
                        .inspect(|s| self.top.push(s.clone())),
                    Some(parent) => match self.supervisors.get(&parent) {
                        Some(parent) => {
                            parent
                                .add_supervisor(decl.name.clone(), supervisor_config(decl))
                                .await
                        }
                        None => continue,
                    },
                };
                progress = true;
                match started {
                    Ok(supervisor) => {
                        self.supervisors.insert(decl.name.clone(), supervisor);
                        report.supervisors_added.push(decl.name.clone());
                    }
                    Err(e) => report.failed.push(start_failed(&decl.name, &e)),
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Loads the new component `name` and starts it under `supervisor`.
    async fn add(
        &mut self,
        new: &HostFile,
        supervisor: &str,
        name: &str,
        restart: RestartName,
        report: &mut Reload,
    ) {
        let Some(path) = new.component(name) else {
            return;
        };
        let mut errors = Vec::new();
        let Some(manifest) = read_manifest(new, name, path, &mut errors) else {
            report.failed.extend(errors);
            return;
        };
        let Some(parent) = self.supervisors.get(supervisor).cloned() else {
            report.failed.push(Error::Stopped {
                component: name.to_string(),
                reason: format!("its supervisor `{supervisor}` is not running"),
            });
            return;
        };
        let version = Version::of(&manifest);
        let started = match self.host.load(manifest).await {
            Ok(loaded) => self
                .host
                .spawn_loaded_with(&parent, loaded.clone(), spawn_options(restart))
                .await
                .map(|_| loaded),
            Err(e) => Err(e),
        };
        match started {
            Ok(loaded) => {
                self.loaded.push(loaded);
                self.versions.insert(name.to_string(), version);
                report.added.push(name.to_string());
            }
            Err(e) => report.failed.push(e),
        }
    }
}

/// The supervisor whose child `name` is.
fn parent(file: &HostFile, name: &str) -> Option<String> {
    file.supervisors
        .iter()
        .find(|s| s.children.iter().any(|(c, _)| c == name))
        .map(|s| s.name.clone())
}

/// The keys whose change a running host cannot take.
fn needs_restart(old: &HostFile, new: &HostFile, keys: &mut Vec<String>) {
    if old.host != new.host {
        keys.push("host".into());
    }
    let listener = |f: &HostFile| {
        f.http
            .as_ref()
            .map(|h| (h.listen, h.max_request_body, h.max_connections))
    };
    if listener(old) != listener(new) {
        keys.push("http".into());
    }
    if old.lattice != new.lattice {
        keys.push("lattice".into());
    }
    if old.metrics != new.metrics {
        keys.push("metrics".into());
    }
    for decl in &new.supervisors {
        let Some(running) = old.supervisor(&decl.name) else {
            continue;
        };
        if (running.strategy, running.restarts, running.within_ms)
            != (decl.strategy, decl.restarts, decl.within_ms)
        {
            keys.push(format!("supervisors.{}", decl.name));
        }
        for (child, restart) in &decl.children {
            let before = running.children.iter().find(|(c, _)| c == child);
            if before.is_some_and(|(_, r)| r != restart) {
                keys.push(format!("supervisors.{}.restart.{child}", decl.name));
            }
        }
    }
}
