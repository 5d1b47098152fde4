//! The `tracing` feature: one event per step, with the task, its spawn site and the virtual
//! time, seen by the user's own subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use unified_scheduler::prelude::*;

/// Collects the fields of every event of the TestScheduler's target, as text.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "unified_scheduler::test_scheduler"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_step_is_an_event_with_its_task_site_and_time() {
    let collect = Collect::default();
    let steps = tracing::subscriber::with_default(collect.clone(), || {
        let test = Arc::new(TestScheduler::new());
        let task = test.spawn(test.timer(Duration::from_secs(2)));
        test.run_until_parked();
        test.advance_clock(Duration::from_secs(2));
        test.run_until_parked();
        assert!(task.is_finished());
        test.steps()
    });
    let events = collect.0.lock().unwrap();
    assert_eq!(
        events.len() as u64,
        steps,
        "one event per step: {events:#?}"
    );
    assert!(events.iter().all(|e| e.contains("seed=0 ")), "{events:#?}");
    assert!(
        events[0].contains("step=0 ") && events[0].contains("at=0ns"),
        "{events:#?}"
    );
    let site = format!("spawned_at={}:", file!());
    assert!(events.iter().all(|e| e.contains(&site)), "{events:#?}");
    assert!(events.last().unwrap().contains("at=2s"), "{events:#?}");
}
