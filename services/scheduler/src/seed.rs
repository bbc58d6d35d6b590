//! `SCHEDULES_FILE`: demo schedules added on start, once (matched by name), so a fresh stack
//! has traffic without anyone typing a request.

use anyhow::Context as _;
use jiff::Timestamp;

use crate::input::ScheduleInput;
use crate::store::Store;

/// Reads a JSON array of schedules and inserts those whose name is not taken yet. A schedule
/// a person has since edited keeps their edits. Any invalid entry stops start-up, named.
pub async fn seed(store: &Store, path: &str) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading SCHEDULES_FILE {path}"))?;
    let inputs: Vec<ScheduleInput> = serde_json::from_str(&text)
        .with_context(|| format!("SCHEDULES_FILE {path} is not a JSON array of schedules"))?;
    let mut added = 0;
    for (index, input) in inputs.into_iter().enumerate() {
        let name = input.name.clone();
        let definition = input.validate(Timestamp::now()).map_err(|e| {
            anyhow::anyhow!("SCHEDULES_FILE {path}, entry {index} ({name:?}): {}", e.message())
        })?;
        if store.exists_named(&definition.name).await? {
            continue;
        }
        match store.insert(&definition).await {
            Ok(_) => added += 1,
            // Another replica seeded it a moment ago.
            Err(error) if crate::store::is_name_taken(&error) => {}
            Err(error) => return Err(error).with_context(|| format!("seeding schedule {name:?}")),
        }
    }
    Ok(added)
}
