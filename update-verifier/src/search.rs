//! Finding a target (TUF 5.6.7): a pre-order depth-first search of the delegations,
//! in listed order, each role visited once, at most `max_delegations` roles, a
//! terminating delegation ending the search after its subtree. Roles are loaded on
//! demand: from the cache when it still verifies, else from the repository.

use alloc::vec::Vec;

use metadata_schemas::{RoleName, TargetPath};
use threshold_keys::digest;

use crate::delegation::roles_for_target;
use crate::files::{Action, CachedFile, FetchRequest, Persist};
use crate::{Error, TargetInfo, TrustedSet, verify};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    role: RoleName,
    delegator: RoleName,
    from_cache: bool,
}

/// A search for one target through the delegation graph.
#[derive(Debug)]
pub struct TargetSearch<'t> {
    set: &'t mut TrustedSet,
    path: TargetPath,
    path_sha256: [u8; 32],
    stack: Vec<(RoleName, RoleName)>,
    visited: Vec<RoleName>,
    budget: u32,
    pending: Option<Pending>,
    outcome: Option<Option<TargetInfo>>,
    notes: Vec<(RoleName, Error)>,
    /// Why the search stopped after a role had verified (and had to be persisted).
    failure: Option<Error>,
}

impl<'t> TargetSearch<'t> {
    /// Starts a search in a refreshed trusted set.
    pub fn new(set: &'t mut TrustedSet, path: TargetPath) -> Result<Self, Error> {
        if set.targets().is_none() {
            return Err(Error::OutOfOrder("search needs the top-level targets: refresh first"));
        }
        let path_sha256 = digest::sha256(path.as_str().as_bytes());
        let budget = set.limits().max_delegations;
        let mut search = TargetSearch {
            set,
            path,
            path_sha256,
            stack: alloc::vec![(RoleName::targets(), RoleName::root())],
            visited: Vec::new(),
            budget,
            pending: None,
            outcome: None,
            notes: Vec::new(),
            failure: None,
        };
        search.advance()?;
        Ok(search)
    }

    /// What the driver must do next.
    pub fn next_action(&self) -> Action {
        if self.failure.is_some() {
            return Action::Done;
        }
        match &self.pending {
            None => Action::Done,
            Some(p) if p.from_cache => Action::ReadCache(CachedFile::of(&p.role)),
            Some(p) => match self.set.snapshot().and_then(|s| s.role_meta(&p.role)) {
                Some(listed) => {
                    let consistent = self.set.root().consistent_snapshot();
                    let max = verify::max_length(listed, self.set.limits().targets_max_length);
                    Action::Fetch(FetchRequest::metadata(&p.role, listed.version, consistent, max))
                }
                None => Action::Done,
            },
        }
    }

    /// The answer to [`Action::ReadCache`]. A cached role that no longer verifies
    /// through its current delegator is ignored and fetched again.
    pub fn cached(&mut self, bytes: Option<&[u8]>) -> Result<(), Error> {
        let Some(pending) = self.pending.as_mut().filter(|p| p.from_cache) else {
            return Err(Error::OutOfOrder("no cache read was requested"));
        };
        let (role, delegator) = (pending.role.clone(), pending.delegator.clone());
        pending.from_cache = false;
        if let Some(bytes) = bytes {
            match self.set.update_delegated_targets(bytes, &role, &delegator) {
                Ok(_) => {
                    self.pending = None;
                    self.visit(&role);
                    return self.advance();
                }
                Err(e) => self.notes.push((role, e)),
            }
        }
        Ok(())
    }

    /// The answer to [`Action::Fetch`]: says what to persist.
    pub fn fetched(&mut self, bytes: &[u8]) -> Result<Persist, Error> {
        let Some(pending) = self.pending.take().filter(|p| !p.from_cache) else {
            return Err(Error::OutOfOrder("no fetch was requested"));
        };
        self.set.update_delegated_targets(bytes, &pending.role, &pending.delegator)?;
        self.visit(&pending.role);
        // The role verified: it is persisted even if the search fails on the next one.
        if let Err(e) = self.advance() {
            self.failure = Some(e);
        }
        Ok(Persist::Store(CachedFile::of(&pending.role)))
    }

    /// The answer to [`Action::Fetch`] when the repository lacks the file.
    pub fn not_found(&mut self) -> Result<(), Error> {
        let role = self.pending.take().map(|p| p.role).unwrap_or_else(RoleName::targets);
        Err(Error::Missing { role })
    }

    /// The target found so far (`None` until found, or if no trusted role lists it).
    pub fn outcome(&self) -> Option<&TargetInfo> {
        self.outcome.as_ref().and_then(Option::as_ref)
    }

    /// The result once [`Action::Done`] is reached: the target, `None` if no trusted
    /// role lists it, or why the search failed.
    pub fn finish(self) -> Result<Option<TargetInfo>, Error> {
        match (self.failure, self.outcome) {
            (Some(failure), _) => Err(failure),
            (None, Some(outcome)) => Ok(outcome),
            (None, None) => Err(Error::OutOfOrder("the search is not complete")),
        }
    }

    /// Cached files that were ignored, and why.
    pub fn notes(&self) -> &[(RoleName, Error)] {
        &self.notes
    }

    /// Looks at a loaded role: the target, or its delegations to search next.
    fn visit(&mut self, role: &RoleName) {
        let Some(targets) = self.set.targets_role(role) else {
            return;
        };
        if let Some(file) = targets.targets.get(&self.path) {
            self.outcome = Some(Some(TargetInfo { path: self.path.clone(), file: file.clone(), role: role.clone() }));
            return;
        }
        self.visited.push(role.clone());
        self.budget = self.budget.saturating_sub(1);
        let Some(delegations) = &targets.delegations else {
            return;
        };
        let mut children = Vec::new();
        for (child, terminating) in roles_for_target(delegations, self.path.as_str(), &self.path_sha256) {
            children.push((child, role.clone()));
            if terminating {
                self.stack.clear(); // nothing after a terminating delegation is searched
                break;
            }
        }
        self.stack.extend(children.into_iter().rev());
    }

    /// Pops roles until one needs loading or the search ends.
    fn advance(&mut self) -> Result<(), Error> {
        while self.outcome.is_none() {
            let Some((role, delegator)) = self.stack.pop() else {
                self.outcome = Some(None);
                break;
            };
            if self.visited.contains(&role) {
                continue; // cycles and diamonds: each role once
            }
            if self.budget == 0 {
                self.outcome = Some(None); // visit limit reached (TUF 5.6.7.1)
                break;
            }
            if self.set.has_targets_role(&role, &delegator) {
                self.visit(&role);
                continue;
            }
            if self.set.snapshot().and_then(|s| s.role_meta(&role)).is_none() {
                // Never fetch a role snapshot does not vouch for.
                return Err(Error::NotInSnapshot { role });
            }
            self.pending = Some(Pending { role, delegator, from_cache: true });
            return Ok(());
        }
        Ok(())
    }
}
