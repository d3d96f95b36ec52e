//! The store's part of assignments: an image assigned to an ECU, its typed state, and
//! the queries and changes the service makes to them.

use sqlx::Row;

use super::{Result, Store, StoreError, Tx};
use crate::assignment::AssignmentState;

/// An image assigned to an ECU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Its id.
    pub id: String,
    /// The vehicle.
    pub vin: String,
    /// The ECU.
    pub serial: String,
    /// The image repository target path.
    pub target: String,
    /// The target's file entry from the image repository (JSON: length, hashes, custom).
    pub target_file: String,
    /// The ECU's hardware identifier.
    pub hardware_id: String,
    /// The image's release counter.
    pub release_counter: i64,
    /// Where it is.
    pub state: AssignmentState,
    /// The image the ECU reported when the assignment was issued (JSON).
    pub previous: Option<String>,
    /// Created and last changed (Unix seconds).
    pub created: i64,
    /// Last state change.
    pub updated: i64,
    /// The rollout that made it, if one did.
    pub rollout: Option<String>,
}

const ASSIGNMENTS: &str = "SELECT id, vin, serial, target, target_file, hardware_id, release_counter, state, previous, \
     created, updated, rollout FROM assignments WHERE vin = $1 ORDER BY created, id";

fn assignment(r: &sqlx::any::AnyRow) -> Result<Assignment> {
    Ok(Assignment {
        id: r.try_get("id")?,
        vin: r.try_get("vin")?,
        serial: r.try_get("serial")?,
        target: r.try_get("target")?,
        target_file: r.try_get("target_file")?,
        hardware_id: r.try_get("hardware_id")?,
        release_counter: r.try_get("release_counter")?,
        state: {
            let name: String = r.try_get("state")?;
            AssignmentState::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("assignment state {name:?}")))?
        },
        previous: r.try_get("previous")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
        rollout: r.try_get("rollout")?,
    })
}

impl Store {
    /// A vehicle's assignments, oldest first.
    pub async fn assignments(&self, vin: &str) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(ASSIGNMENTS).bind(vin).fetch_all(&self.read).await?;
        rows.iter().map(assignment).collect()
    }

    /// Assignments by state, for metrics.
    pub async fn assignment_counts(&self) -> Result<Vec<(AssignmentState, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM assignments GROUP BY state ORDER BY state")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("state")?;
                let state = AssignmentState::parse(&name)
                    .ok_or_else(|| StoreError::Corrupt(format!("assignment state {name:?}")))?;
                Ok((state, r.try_get("n")?))
            })
            .collect()
    }
}

impl Tx {
    /// The vehicle's assignments.
    pub async fn assignments(&mut self, vin: &str) -> Result<Vec<Assignment>> {
        let rows = sqlx::query(ASSIGNMENTS).bind(vin).fetch_all(&mut *self.tx).await?;
        rows.iter().map(assignment).collect()
    }

    /// The vehicle's issued assignments.
    pub async fn issued_assignments(&mut self, vin: &str) -> Result<Vec<Assignment>> {
        let sql = ASSIGNMENTS.replace("WHERE vin = $1", "WHERE vin = $1 AND state = 'issued'");
        let rows = sqlx::query(&sql).bind(vin).fetch_all(&mut *self.tx).await?;
        rows.iter().map(assignment).collect()
    }

    /// Adds an assignment.
    pub async fn insert_assignment(&mut self, a: &Assignment) -> Result<()> {
        sqlx::query(
            "INSERT INTO assignments (id, vin, serial, target, target_file, hardware_id, release_counter, state, \
             previous, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&a.id)
        .bind(&a.vin)
        .bind(&a.serial)
        .bind(&a.target)
        .bind(&a.target_file)
        .bind(&a.hardware_id)
        .bind(a.release_counter)
        .bind(a.state.as_str())
        .bind(&a.previous)
        .bind(a.created)
        .bind(a.updated)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves an assignment to `state` (and records the image the ECU ran at issue).
    pub async fn set_assignment_state(
        &mut self,
        id: &str,
        state: AssignmentState,
        previous: Option<&str>,
        now: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE assignments SET state = $1, previous = COALESCE($2, previous), updated = $3 WHERE id = $4")
            .bind(state.as_str())
            .bind(previous)
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
