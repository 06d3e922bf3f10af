//! Per-tenant admission for invocations: a cap on calls in flight and a token-bucket rate,
//! both set per plan, so one tenant's hanging endpoint or burst cannot take capacity from
//! another. Limits are per replica (DESIGN, "Scale-out").
//!
//! Admission never waits: a caller on the phone is better served by a prompt "busy" result
//! than by dead air while a queue drains.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ids::TenantId, tenant::Plan};

/// One plan's limits.
#[derive(Clone, Copy, Debug)]
pub struct PlanLimits {
    /// Invocations in flight at once.
    pub concurrency: u32,
    /// Sustained invocations per minute.
    pub per_minute: u32,
    /// Invocations allowed in a burst above the sustained rate.
    pub burst: u32,
}

/// The limits of every plan that may invoke.
#[derive(Clone, Copy, Debug)]
pub struct InvokeLimits {
    /// For `plus` tenants.
    pub plus: PlanLimits,
    /// For `pro` tenants.
    pub pro: PlanLimits,
}

impl Default for InvokeLimits {
    fn default() -> Self {
        Self {
            plus: PlanLimits {
                concurrency: 20,
                per_minute: 1200,
                burst: 60,
            },
            pro: PlanLimits {
                concurrency: 100,
                per_minute: 6000,
                burst: 300,
            },
        }
    }
}

impl InvokeLimits {
    fn of(&self, plan: Plan) -> PlanLimits {
        match plan {
            Plan::Pro => self.pro,
            Plan::Plus | Plan::Free => self.plus,
        }
    }
}

/// Why a call was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    /// Too many calls in flight.
    #[error("this tenant already has {0} calls in flight, the most its plan allows at once")]
    Concurrency(u32),
    /// Over the rate.
    #[error("this tenant is over its rate of {0} calls per minute")]
    Rate(u32),
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

struct TenantGate {
    in_flight: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
    limits: PlanLimits,
}

/// Each tenant's gate, by tenant and plan (a plan change gets fresh limits).
type Gates = HashMap<(TenantId, Plan), Arc<TenantGate>>;

/// Admission state for every tenant seen by this replica (cheap to clone).
#[derive(Clone)]
pub struct Admission {
    limits: InvokeLimits,
    gates: Arc<Mutex<Gates>>,
}

/// Held for the duration of one call.
#[derive(Debug)]
pub struct Admitted {
    _permit: OwnedSemaphorePermit,
}

impl Admission {
    /// Admission with these limits.
    pub fn new(limits: InvokeLimits) -> Self {
        Self {
            limits,
            gates: Arc::default(),
        }
    }

    /// Admits one call of `tenant` on `plan`, or says why not.
    pub fn admit(&self, tenant: &TenantId, plan: Plan) -> Result<Admitted, Limited> {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
            gates
                .entry((tenant.clone(), plan))
                .or_insert_with(|| {
                    let limits = self.limits.of(plan);
                    Arc::new(TenantGate {
                        in_flight: Arc::new(Semaphore::new(limits.concurrency as usize)),
                        bucket: Mutex::new(Bucket {
                            tokens: f64::from(limits.burst),
                            refilled: Instant::now(),
                        }),
                        limits,
                    })
                })
                .clone()
        };
        let permit = gate
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Limited::Concurrency(gate.limits.concurrency))?;
        let mut bucket = gate.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(bucket.refilled).as_secs_f64()
            * f64::from(gate.limits.per_minute)
            / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(f64::from(gate.limits.burst.max(1)));
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return Err(Limited::Rate(gate.limits.per_minute));
        }
        bucket.tokens -= 1.0;
        Ok(Admitted { _permit: permit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(concurrency: u32, per_minute: u32, burst: u32) -> Admission {
        let plan = PlanLimits {
            concurrency,
            per_minute,
            burst,
        };
        Admission::new(InvokeLimits {
            plus: plan,
            pro: plan,
        })
    }

    #[test]
    fn caps_calls_in_flight_per_tenant() {
        let a = admission(2, 6000, 100);
        let (t1, t2) = (TenantId::generate(), TenantId::generate());
        let first = a.admit(&t1, Plan::Plus).unwrap();
        let _second = a.admit(&t1, Plan::Plus).unwrap();
        assert!(matches!(
            a.admit(&t1, Plan::Plus),
            Err(Limited::Concurrency(2))
        ));
        // Another tenant is not affected.
        let _other = a.admit(&t2, Plan::Plus).unwrap();
        drop(first);
        a.admit(&t1, Plan::Plus).expect("a slot freed up");
    }

    #[test]
    fn limits_the_rate_with_a_burst() {
        let a = admission(100, 1, 3);
        let t = TenantId::generate();
        for _ in 0..3 {
            a.admit(&t, Plan::Plus).unwrap();
        }
        assert!(matches!(a.admit(&t, Plan::Plus), Err(Limited::Rate(1))));
    }
}
