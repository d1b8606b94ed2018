//! Denials that wasmtime-wasi refuses on its own, made visible: logged at debug with the
//! component's name and what was refused, and counted in the component's metrics.
//!
//! wasmtime-wasi enforces the grants (preopen permissions, `..` confinement, socket and
//! name-lookup switches) but offers a hook only for socket addresses (see
//! [`crate::store::capabilities`]). So the few WASI interfaces that refuse anything else are
//! linked through thin wrappers that delegate every call to wasmtime-wasi unchanged and
//! only watch the outcome:
//!
//! - `wasi:filesystem/types`: a `not-permitted` error (a write, creation or deletion through
//!   a read-only grant, a path leaving its preopen) is a denial.
//! - `wasi:sockets/{tcp,udp}-create-socket` and `ip-name-lookup`: creating a socket without
//!   any network grant, or looking up a name without a host-name grant, is a denial.
//!
//! A path that matches no preopen never reaches the host (the guest's libc refuses it), so
//! it is neither logged nor counted.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, ErrorCode as FsCode, HostDescriptor, HostDirectoryEntryStream,
};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{self, HostResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self, HostNetwork, IpAddress, IpAddressFamily,
};
use wasmtime_wasi::p2::bindings::sockets::{tcp_create_socket, udp_create_socket};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, FsError, FsResult, Network, SocketError,
    SocketResult, TcpSocket, UdpSocket,
};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

use crate::store::StoreData;
use crate::store::capabilities::NetworkUse;
use crate::store::metrics::Metrics;

/// Relinks the guarded interfaces over the ones `wasmtime_wasi::p2::add_to_linker_async`
/// defined.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    types::add_to_linker::<StoreData, GuardedFs>(linker, |s| Guarded {
        inner: WasiFilesystemCtxView {
            ctx: s.wasi.filesystem(),
            table: &mut s.table,
        },
        who: Who::of(&s.name, &s.metrics, s.network),
    })?;
    tcp_create_socket::add_to_linker::<StoreData, GuardedSockets>(linker, guarded_sockets)?;
    udp_create_socket::add_to_linker::<StoreData, GuardedSockets>(linker, guarded_sockets)?;
    ip_name_lookup::add_to_linker::<StoreData, GuardedSockets>(linker, guarded_sockets)?;
    linker.allow_shadowing(false);
    Ok(())
}

fn guarded_sockets(s: &mut StoreData) -> Guarded<'_, WasiSocketsCtxView<'_>> {
    Guarded {
        inner: WasiSocketsCtxView {
            ctx: s.wasi.sockets(),
            table: &mut s.table,
        },
        who: Who::of(&s.name, &s.metrics, s.network),
    }
}

/// The component a call belongs to.
struct Who<'a> {
    name: &'a Arc<str>,
    metrics: &'a Metrics,
    network: NetworkUse,
}

impl<'a> Who<'a> {
    fn of(name: &'a Arc<str>, metrics: &'a Metrics, network: NetworkUse) -> Who<'a> {
        Who {
            name,
            metrics,
            network,
        }
    }

    /// Logs and counts the refusal of `what` (on `target`: a path or a host name, if any).
    fn deny(&self, what: &str, target: &str) {
        tracing::debug!(component = %self.name, what, target, "denied: not granted");
        self.metrics.denied.fetch_add(1, Ordering::Relaxed);
    }
}

/// A wasmtime-wasi view with the component it serves.
struct Guarded<'a, V> {
    inner: V,
    who: Who<'a>,
}

struct GuardedFs;

impl HasData for GuardedFs {
    type Data<'a> = Guarded<'a, WasiFilesystemCtxView<'a>>;
}

struct GuardedSockets;

impl HasData for GuardedSockets {
    type Data<'a> = Guarded<'a, WasiSocketsCtxView<'a>>;
}

// ---- wasi:filesystem/types ---------------------------------------------------------------

impl Guarded<'_, WasiFilesystemCtxView<'_>> {
    /// Passes `result` through, noting a `not-permitted` error as a denial of `what`.
    fn seen<T>(&self, what: &str, path: &str, result: FsResult<T>) -> FsResult<T> {
        if let Err(e) = &result
            && e.downcast_ref() == Some(&FsCode::NotPermitted)
        {
            self.who.deny(what, path);
        }
        result
    }
}

type Fd = Resource<types::Descriptor>;

impl types::Host for Guarded<'_, WasiFilesystemCtxView<'_>> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<FsCode> {
        types::Host::convert_error_code(&mut self.inner, err)
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<FsCode>> {
        types::Host::filesystem_error_code(&mut self.inner, err)
    }
}

impl HostDirectoryEntryStream for Guarded<'_, WasiFilesystemCtxView<'_>> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<types::DirectoryEntryStream>,
    ) -> FsResult<Option<types::DirectoryEntry>> {
        self.inner.read_directory_entry(stream).await
    }

    fn drop(&mut self, stream: Resource<types::DirectoryEntryStream>) -> wasmtime::Result<()> {
        HostDirectoryEntryStream::drop(&mut self.inner, stream)
    }
}

impl HostDescriptor for Guarded<'_, WasiFilesystemCtxView<'_>> {
    async fn advise(
        &mut self,
        fd: Fd,
        offset: types::Filesize,
        len: types::Filesize,
        advice: types::Advice,
    ) -> FsResult<()> {
        self.inner.advise(fd, offset, len, advice).await
    }

    async fn sync_data(&mut self, fd: Fd) -> FsResult<()> {
        self.inner.sync_data(fd).await
    }

    async fn get_flags(&mut self, fd: Fd) -> FsResult<types::DescriptorFlags> {
        self.inner.get_flags(fd).await
    }

    async fn get_type(&mut self, fd: Fd) -> FsResult<types::DescriptorType> {
        self.inner.get_type(fd).await
    }

    async fn set_size(&mut self, fd: Fd, size: types::Filesize) -> FsResult<()> {
        let r = self.inner.set_size(fd, size).await;
        self.seen("set-size", "", r)
    }

    async fn set_times(
        &mut self,
        fd: Fd,
        atim: types::NewTimestamp,
        mtim: types::NewTimestamp,
    ) -> FsResult<()> {
        let r = self.inner.set_times(fd, atim, mtim).await;
        self.seen("set-times", "", r)
    }

    async fn read(
        &mut self,
        fd: Fd,
        len: types::Filesize,
        offset: types::Filesize,
    ) -> FsResult<(Vec<u8>, bool)> {
        let r = self.inner.read(fd, len, offset).await;
        self.seen("read", "", r)
    }

    async fn write(
        &mut self,
        fd: Fd,
        buf: Vec<u8>,
        offset: types::Filesize,
    ) -> FsResult<types::Filesize> {
        let r = self.inner.write(fd, buf, offset).await;
        self.seen("write", "", r)
    }

    async fn read_directory(&mut self, fd: Fd) -> FsResult<Resource<types::DirectoryEntryStream>> {
        let r = self.inner.read_directory(fd).await;
        self.seen("read-directory", "", r)
    }

    async fn sync(&mut self, fd: Fd) -> FsResult<()> {
        self.inner.sync(fd).await
    }

    async fn create_directory_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let r = self.inner.create_directory_at(fd, path.clone()).await;
        self.seen("create-directory", &path, r)
    }

    async fn stat(&mut self, fd: Fd) -> FsResult<types::DescriptorStat> {
        self.inner.stat(fd).await
    }

    async fn stat_at(
        &mut self,
        fd: Fd,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::DescriptorStat> {
        let r = self.inner.stat_at(fd, path_flags, path.clone()).await;
        self.seen("stat", &path, r)
    }

    async fn set_times_at(
        &mut self,
        fd: Fd,
        path_flags: types::PathFlags,
        path: String,
        atim: types::NewTimestamp,
        mtim: types::NewTimestamp,
    ) -> FsResult<()> {
        let r = self
            .inner
            .set_times_at(fd, path_flags, path.clone(), atim, mtim)
            .await;
        self.seen("set-times", &path, r)
    }

    async fn link_at(
        &mut self,
        fd: Fd,
        old_path_flags: types::PathFlags,
        old_path: String,
        new_descriptor: Fd,
        new_path: String,
    ) -> FsResult<()> {
        let r = self
            .inner
            .link_at(
                fd,
                old_path_flags,
                old_path,
                new_descriptor,
                new_path.clone(),
            )
            .await;
        self.seen("link", &new_path, r)
    }

    async fn open_at(
        &mut self,
        fd: Fd,
        path_flags: types::PathFlags,
        path: String,
        oflags: types::OpenFlags,
        flags: types::DescriptorFlags,
    ) -> FsResult<Fd> {
        let r = self
            .inner
            .open_at(fd, path_flags, path.clone(), oflags, flags)
            .await;
        self.seen("open", &path, r)
    }

    fn drop(&mut self, fd: Fd) -> wasmtime::Result<()> {
        HostDescriptor::drop(&mut self.inner, fd)
    }

    async fn readlink_at(&mut self, fd: Fd, path: String) -> FsResult<String> {
        let r = self.inner.readlink_at(fd, path.clone()).await;
        self.seen("readlink", &path, r)
    }

    async fn remove_directory_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let r = self.inner.remove_directory_at(fd, path.clone()).await;
        self.seen("remove-directory", &path, r)
    }

    async fn rename_at(
        &mut self,
        fd: Fd,
        old_path: String,
        new_fd: Fd,
        new_path: String,
    ) -> FsResult<()> {
        let r = self
            .inner
            .rename_at(fd, old_path.clone(), new_fd, new_path)
            .await;
        self.seen("rename", &old_path, r)
    }

    async fn symlink_at(&mut self, fd: Fd, src_path: String, dest_path: String) -> FsResult<()> {
        let r = self.inner.symlink_at(fd, src_path, dest_path.clone()).await;
        self.seen("symlink", &dest_path, r)
    }

    async fn unlink_file_at(&mut self, fd: Fd, path: String) -> FsResult<()> {
        let r = self.inner.unlink_file_at(fd, path.clone()).await;
        self.seen("unlink", &path, r)
    }

    fn read_via_stream(
        &mut self,
        fd: Fd,
        offset: types::Filesize,
    ) -> FsResult<Resource<DynInputStream>> {
        let r = self.inner.read_via_stream(fd, offset);
        self.seen("read", "", r)
    }

    fn write_via_stream(
        &mut self,
        fd: Fd,
        offset: types::Filesize,
    ) -> FsResult<Resource<DynOutputStream>> {
        let r = self.inner.write_via_stream(fd, offset);
        self.seen("write", "", r)
    }

    fn append_via_stream(&mut self, fd: Fd) -> FsResult<Resource<DynOutputStream>> {
        let r = self.inner.append_via_stream(fd);
        self.seen("append", "", r)
    }

    async fn is_same_object(&mut self, a: Fd, b: Fd) -> wasmtime::Result<bool> {
        self.inner.is_same_object(a, b).await
    }

    async fn metadata_hash(&mut self, fd: Fd) -> FsResult<types::MetadataHashValue> {
        self.inner.metadata_hash(fd).await
    }

    async fn metadata_hash_at(
        &mut self,
        fd: Fd,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::MetadataHashValue> {
        let r = self
            .inner
            .metadata_hash_at(fd, path_flags, path.clone())
            .await;
        self.seen("stat", &path, r)
    }
}

// ---- wasi:sockets create-socket and ip-name-lookup ---------------------------------------

impl network::Host for Guarded<'_, WasiSocketsCtxView<'_>> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<network::ErrorCode> {
        network::Host::convert_error_code(&mut self.inner, error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<network::ErrorCode>> {
        network::Host::network_error_code(&mut self.inner, err)
    }
}

impl HostNetwork for Guarded<'_, WasiSocketsCtxView<'_>> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        HostNetwork::drop(&mut self.inner, this)
    }
}

impl tcp_create_socket::Host for Guarded<'_, WasiSocketsCtxView<'_>> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        if !self.who.network.sockets {
            self.who.deny("tcp socket", "");
        }
        self.inner.create_tcp_socket(family)
    }
}

impl udp_create_socket::Host for Guarded<'_, WasiSocketsCtxView<'_>> {
    async fn create_udp_socket(
        &mut self,
        family: IpAddressFamily,
    ) -> SocketResult<Resource<UdpSocket>> {
        if !self.who.network.sockets {
            self.who.deny("udp socket", "");
        }
        self.inner.create_udp_socket(family).await
    }
}

impl ip_name_lookup::Host for Guarded<'_, WasiSocketsCtxView<'_>> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ip_name_lookup::ResolveAddressStream>> {
        if !self.who.network.name_lookup {
            self.who.deny("name lookup", &name);
        }
        self.inner.resolve_addresses(network, name)
    }
}

impl HostResolveAddressStream for Guarded<'_, WasiSocketsCtxView<'_>> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> SocketResult<Option<IpAddress>> {
        self.inner.resolve_next_address(stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.inner.subscribe(stream)
    }

    fn drop(
        &mut self,
        stream: Resource<ip_name_lookup::ResolveAddressStream>,
    ) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.inner, stream)
    }
}
