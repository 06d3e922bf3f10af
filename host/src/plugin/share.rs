//! Fair shares of the sandbox. A hook call holds a slot of the whole service's
//! (`concurrency`) and one of its tenant's (`tenant_concurrency`) from before its instance is
//! made until its answer is in: a tenant whose components sleep or spin waits for its own
//! share and never takes another tenant's. Uploads are checked one at a time for the whole
//! service and one at a time per tenant, so compiling never crowds out calls.
//!
//! It never decides *how long* anyone waits: callers bound every wait by their deadline.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::limits::SandboxLimits;

/// The service's and each tenant's slots, and the upload gates.
pub struct Shares {
    service: Arc<Semaphore>,
    service_size: u32,
    tenant_size: u32,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// One compilation (and upload check) at a time, first come first served.
    compile: Arc<Semaphore>,
    /// Tenants with an upload being checked.
    uploading: Arc<Mutex<HashSet<String>>>,
}

/// A hook call's two slots, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    _tenant: Option<OwnedSemaphorePermit>,
    _service: OwnedSemaphorePermit,
}

/// Which share was full while a call waited for a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// All of the tenant's slots were busy (its own calls).
    Tenant(u32),
    /// All of the service's slots were busy.
    Service(u32),
}

impl Shares {
    /// Shares sized by `limits`.
    pub fn new(limits: &SandboxLimits) -> Self {
        let service_size = limits.concurrency.max(1);
        Self {
            service: Arc::new(Semaphore::new(service_size as usize)),
            service_size,
            tenant_size: limits.tenant_concurrency.clamp(1, service_size),
            tenants: Mutex::default(),
            compile: Arc::new(Semaphore::new(1)),
            uploading: Arc::default(),
        }
    }

    /// A slot for one hook call of `tenant` (`None`: the service's own work, such as an
    /// upload check, which the upload gates already bound per tenant). While it waits,
    /// [`Self::waiting_for`] says which share is full; the caller bounds the wait.
    pub async fn slot(&self, tenant: Option<&str>) -> Slot {
        let tenant = match tenant {
            Some(tenant) => {
                let share = self.tenant(tenant);
                Some(share.acquire_owned().await.expect("never closed"))
            }
            None => None,
        };
        let service = self
            .service
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        Slot {
            _tenant: tenant,
            _service: service,
        }
    }

    /// Which share a call of `tenant` that could not get a slot in time was waiting for.
    pub fn waiting_for(&self, tenant: Option<&str>) -> Waiting {
        match tenant {
            Some(tenant) if self.tenant(tenant).available_permits() == 0 => {
                Waiting::Tenant(self.tenant_size)
            }
            _ => Waiting::Service(self.service_size),
        }
    }

    fn tenant(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(share) = tenants.get(tenant) {
            return share.clone();
        }
        let share = Arc::new(Semaphore::new(self.tenant_size as usize));
        tenants.insert(tenant.to_owned(), share.clone());
        share
    }

    /// Starts checking an upload of `tenant`: `None` while another of its uploads is being
    /// checked. The returned gate ends the upload when dropped.
    pub fn begin_upload(&self, tenant: &str) -> Option<UploadGate> {
        let mut uploading = self.uploading.lock().unwrap_or_else(|p| p.into_inner());
        uploading.insert(tenant.to_owned()).then(|| UploadGate {
            tenant: tenant.to_owned(),
            uploading: self.uploading.clone(),
        })
    }

    /// The turn to compile: one at a time for the whole service, in arrival order.
    pub async fn compile_turn(&self) -> OwnedSemaphorePermit {
        self.compile
            .clone()
            .acquire_owned()
            .await
            .expect("never closed")
    }
}

/// An upload of one tenant being checked; the next may start once this is dropped.
#[derive(Debug)]
pub struct UploadGate {
    tenant: String,
    uploading: Arc<Mutex<HashSet<String>>>,
}

impl Drop for UploadGate {
    fn drop(&mut self) {
        self.uploading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.tenant);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn shares(concurrency: u32, tenant_concurrency: u32) -> Shares {
        Shares::new(&SandboxLimits {
            concurrency,
            tenant_concurrency,
            ..SandboxLimits::default()
        })
    }

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_share_and_another_tenant_does_not() {
        let shares = shares(4, 2);
        let _a1 = shares.slot(Some("a")).await;
        let _a2 = shares.slot(Some("a")).await;
        let third = tokio::time::timeout(Duration::from_millis(50), shares.slot(Some("a"))).await;
        assert!(third.is_err(), "a's third call waits");
        assert_eq!(shares.waiting_for(Some("a")), Waiting::Tenant(2));
        let b = tokio::time::timeout(Duration::from_millis(50), shares.slot(Some("b"))).await;
        assert!(b.is_ok(), "b still has its slots");
    }

    #[tokio::test]
    async fn the_service_share_bounds_all_tenants_together() {
        let shares = shares(2, 2);
        let _a = shares.slot(Some("a")).await;
        let _b = shares.slot(Some("b")).await;
        let c = tokio::time::timeout(Duration::from_millis(50), shares.slot(Some("c"))).await;
        assert!(c.is_err());
        assert_eq!(shares.waiting_for(Some("c")), Waiting::Service(2));
    }

    #[test]
    fn one_upload_per_tenant_at_a_time() {
        let shares = shares(4, 2);
        let gate = shares.begin_upload("a").expect("the first");
        assert!(
            shares.begin_upload("a").is_none(),
            "a second one waits its turn"
        );
        assert!(
            shares.begin_upload("b").is_some(),
            "another tenant's is its own"
        );
        drop(gate);
        assert!(shares.begin_upload("a").is_some(), "after the first ends");
    }
}
