//! One verification check of a broker account (SPEC §9): the positions the signals say it
//! should hold, against the broker's `/position/list`. Contracts are matched by the broker's
//! contract id (our symbol resolved with `/contract/find`), so a symbol spelt differently at
//! the broker (one- or two-digit year) still matches. Only records; never changes tracking.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jt_store::broker_accounts::{
    BrokerAccount, ConnectionOutcome, Environment, get_account, record_connection,
};
use jt_store::verification::{
    CheckOutcome, ContractCheck, VerificationStatus, expected_positions, record_check,
};
use jt_store::{BrokerAccountId, UserId};
use jt_tradovate::{ErrorClass, TradovateClient, TradovateError};
use tokio::sync::Mutex;

use crate::broker_connection::lock_out_until;
use crate::executor::{Executor, JobError};

/// Checks accounts, sharing the executor's broker clients (one login per account).
pub struct Verifier {
    executor: Arc<Executor>,
    /// Contract ids by symbol, per broker environment (they do not change).
    contract_ids: Mutex<HashMap<(Option<Environment>, String), i64>>,
}

impl Verifier {
    /// A verifier using `executor`'s store, clock and broker clients.
    pub fn new(executor: Arc<Executor>) -> Self {
        Self {
            executor,
            contract_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Checks one account now and records the result. `None` when the account is no longer
    /// verified: deleted, or switched off since the check was queued.
    pub async fn verify(
        &self,
        user: UserId,
        account: BrokerAccountId,
    ) -> Result<Option<VerificationStatus>, JobError> {
        let store = self.executor.store();
        let mut tx = store.tenant(user).await?;
        let broker = match get_account(&mut tx, account).await {
            Ok(broker) => broker,
            Err(jt_store::StoreError::NotFound(_)) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        // The schema allows verification on Tradovate accounts only.
        if !broker.verification_enabled {
            return Ok(None);
        }
        let expected = expected_positions(&mut tx, account).await?;
        tx.commit().await?;
        let outcome = match self.compare(user, &broker, &expected).await {
            Ok(checks) => CheckOutcome::Reached(checks),
            Err(Unreached(message)) => CheckOutcome::Unavailable(message),
        };
        let mut tx = store.tenant(user).await?;
        match record_check(&mut tx, account, self.executor.now(), &outcome).await {
            Ok(status) => {
                tx.commit().await?;
                Ok(Some(status))
            }
            // Deleted while the broker was being asked.
            Err(jt_store::StoreError::NotFound(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Asks the broker and compares, per contract held on either side.
    async fn compare(
        &self,
        user: UserId,
        broker: &BrokerAccount,
        expected: &[(String, i64)],
    ) -> Result<Vec<ContractCheck>, Unreached> {
        let now = self.executor.now();
        if let Some(until) = broker.locked_until.filter(|until| *until > now) {
            return Err(Unreached(format!(
                "the broker locked this account out until {until}; checks resume then"
            )));
        }
        let client = self.executor.client(user, broker).await;
        let client = client.map_err(|error| Unreached(error.to_string()))?;
        let (_, broker_account_id) = self
            .executor
            .broker_account(user, broker, &client)
            .await
            .map_err(|error| Unreached(error.to_string()))?;
        let asked = self.ask(broker, &client, broker_account_id, expected).await;
        match asked {
            Ok(checks) => Ok(checks),
            Err(error) => {
                if error.class() == ErrorClass::LockedOut {
                    self.record_lock_out(user, broker, &error).await;
                }
                Err(Unreached(error.to_string()))
            }
        }
    }

    async fn ask(
        &self,
        broker: &BrokerAccount,
        client: &TradovateClient,
        broker_account_id: i64,
        expected: &[(String, i64)],
    ) -> Result<Vec<ContractCheck>, TradovateError> {
        // Net position per contract id; flat rows may stay in the list.
        let mut held: BTreeMap<i64, i64> = BTreeMap::new();
        for position in client.list_positions().await? {
            if position.account_id == broker_account_id && position.net_pos != 0 {
                *held.entry(position.contract_id).or_default() += position.net_pos;
            }
        }
        let mut checks = Vec::new();
        for (contract, quantity) in expected {
            let actual = match self.contract_id(broker, client, contract).await? {
                Some(id) => held.remove(&id).unwrap_or(0),
                // A symbol the broker does not know cannot be held there.
                None => 0,
            };
            checks.push(ContractCheck {
                contract: contract.clone(),
                expected: *quantity,
                actual,
            });
        }
        if !held.is_empty() {
            let ids: Vec<i64> = held.keys().copied().collect();
            let names: HashMap<i64, String> = client
                .contracts(&ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
            for (id, actual) in held {
                checks.push(ContractCheck {
                    contract: names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("contract #{id}")),
                    expected: 0,
                    actual,
                });
            }
        }
        checks.sort_by(|a, b| a.contract.cmp(&b.contract));
        Ok(checks)
    }

    /// The broker's id of a symbol (cached), `None` when it does not know the symbol.
    async fn contract_id(
        &self,
        broker: &BrokerAccount,
        client: &TradovateClient,
        symbol: &str,
    ) -> Result<Option<i64>, TradovateError> {
        let key = (broker.environment, symbol.to_owned());
        if let Some(id) = self.contract_ids.lock().await.get(&key) {
            return Ok(Some(*id));
        }
        match client.find_contract(symbol).await {
            Ok(contract) => {
                self.contract_ids.lock().await.insert(key, contract.id);
                Ok(Some(contract.id))
            }
            Err(TradovateError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// A lock-out met while checking closes the account's circuit for orders too.
    async fn record_lock_out(&self, user: UserId, broker: &BrokerAccount, error: &TradovateError) {
        let outcome = ConnectionOutcome::LockedOut {
            until: lock_out_until(error, self.executor.now()),
            message: error.to_string(),
        };
        let recorded = async {
            let mut tx = self.executor.store().tenant(user).await?;
            record_connection(&mut tx, broker.id, &outcome, self.executor.now()).await?;
            tx.commit().await
        };
        if let Err(error) = recorded.await {
            tracing::warn!(%error, account = %broker.id, "could not record a lock-out");
        }
    }
}

/// Why the broker could not be asked (shown as "unavailable since …").
struct Unreached(String);
