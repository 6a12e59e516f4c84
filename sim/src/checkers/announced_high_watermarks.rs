//! Not a checker: the highest high watermark any leader of each partition has announced
//! (`HighWatermarkAdvanced`), for the checkers that judge a high watermark someone else
//! reported (an acks=all answer, a consumer fetch) against what leaders really announced.

use std::collections::BTreeMap;

use seedlog::events::HighWatermarkAdvanced;

use super::TopicPartition;
use crate::trace::TraceEvent;

/// Per topic partition, for the whole run.
#[derive(Default)]
pub struct AnnouncedHighWatermarks {
    highest: BTreeMap<TopicPartition, i64>,
}

impl AnnouncedHighWatermarks {
    /// Takes in `ev` if it is a leader's announcement; true when it was.
    pub fn observe(&mut self, ev: &TraceEvent) -> bool {
        let Some(hw) = ev.parse::<HighWatermarkAdvanced>() else { return false };
        let highest = self.highest.entry(TopicPartition::new(&hw.topic, hw.partition)).or_insert(0);
        *highest = hw.high_watermark.max(*highest);
        true
    }

    /// The highest high watermark announced for `tp` (0 before any).
    pub fn highest(&self, tp: &TopicPartition) -> i64 {
        self.highest.get(tp).copied().unwrap_or(0)
    }
}
