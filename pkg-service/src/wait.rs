//! The idle wait of a background loop (the controller's job workers, the scheduler's run loop):
//! sleep until the next thing is due, but wake at once on a change or on shutdown.

use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Returns when `wait` has passed, `wake` is notified, or `stop` changes, whichever is first.
/// The caller's loop then re-reads its store, so which of the three it was does not matter.
pub async fn idle(wake: &Notify, wait: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = wake.notified() => {}
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::{Notify, watch};

    use super::idle;

    const NEVER: Duration = Duration::from_secs(3600);
    /// Only a bound on a hang, not a timing assertion: a correct wait returns at once.
    const BOUND: Duration = Duration::from_secs(30);

    #[actix_web::test]
    async fn a_notification_ends_the_wait() {
        let wake = Notify::new();
        let (_stop, mut stopped) = watch::channel(false);
        wake.notify_one();
        // With the permit already stored, this returns long before the hour is up.
        let waited = tokio::time::timeout(BOUND, idle(&wake, NEVER, &mut stopped)).await;
        assert!(waited.is_ok(), "the notification did not end the wait");
    }

    #[actix_web::test]
    async fn a_stop_ends_the_wait() {
        let wake = Notify::new();
        let (stop, mut stopped) = watch::channel(false);
        stop.send(true).unwrap();
        let waited = tokio::time::timeout(BOUND, idle(&wake, NEVER, &mut stopped)).await;
        assert!(waited.is_ok(), "the stop did not end the wait");
    }
}
