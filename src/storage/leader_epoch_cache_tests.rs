//! The cache's rules, one test each (the `end_offset_for` table row by row, KIP-279's
//! story), the file format, and a property against a brute-force model.

use proptest::prelude::*;

use super::*;

fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
    let mut cache = LeaderEpochCache::new();
    for &(epoch, start_offset) in entries {
        assert!(cache.assign(epoch, start_offset).changed());
    }
    cache
}

fn pairs(cache: &LeaderEpochCache) -> Vec<(i32, i64)> {
    cache.entries().iter().map(|e| (e.epoch, e.start_offset)).collect()
}

// ---- end_offset_for, one row of the table each ----

#[test]
fn end_offset_for_the_undefined_epoch_is_undefined() {
    assert_eq!(cache(&[(0, 0), (2, 10)]).end_offset_for(-1, 30), None);
    assert_eq!(LeaderEpochCache::new().end_offset_for(-1, 30), None);
}

#[test]
fn end_offset_for_the_latest_epoch_is_the_log_end() {
    assert_eq!(cache(&[(0, 0), (2, 10)]).end_offset_for(2, 30), Some((2, 30)));
}

#[test]
fn end_offset_for_an_epoch_with_nothing_above_it_is_undefined() {
    assert_eq!(cache(&[(0, 0), (2, 10)]).end_offset_for(5, 30), None);
    // An empty cache has no latest epoch and nothing above any epoch.
    assert_eq!(LeaderEpochCache::new().end_offset_for(0, 30), None);
}

#[test]
fn end_offset_for_an_epoch_below_every_entry_is_the_first_start() {
    assert_eq!(cache(&[(3, 7), (5, 10)]).end_offset_for(1, 30), Some((1, 7)));
}

#[test]
fn end_offset_for_an_epoch_between_entries_names_the_floor_epoch_and_the_next_start() {
    let c = cache(&[(0, 0), (2, 10), (4, 25)]);
    assert_eq!(c.end_offset_for(0, 30), Some((0, 10)), "an epoch with an entry ends where the next begins");
    assert_eq!(c.end_offset_for(3, 30), Some((2, 25)), "a missing epoch resolves to the one below it");
    assert_eq!(c.end_offset_for(1, 30), Some((0, 10)));
}

#[test]
fn kip_279_the_answer_names_the_epoch_it_belongs_to() {
    // A led epoch 1 from 0, lost the lead to B (epoch 2, which A never saw), led again in
    // epoch 3 from 21. B asks for the end of epoch 2: the naive answer "21" would let B keep
    // its divergent [11..20]; the answer (1, 21) makes B truncate to min(21, its end of
    // epoch 1 = 11) and ask again.
    let a = cache(&[(1, 0), (3, 21)]);
    assert_eq!(a.end_offset_for(2, 31), Some((1, 21)));
    let b = cache(&[(1, 0), (2, 11)]);
    let (epoch, end) = a.end_offset_for(2, 31).unwrap();
    let b_end_of_epoch = b.end_offset_for(epoch, 25).unwrap().1;
    assert_eq!(end.min(b_end_of_epoch), 11);
}

// ---- assign ----

#[test]
fn assign_skips_the_latest_epoch_at_a_later_offset() {
    let mut c = cache(&[(1, 0), (2, 10)]);
    assert_eq!(c.assign(2, 15), Assign::Unchanged);
    assert_eq!(c.assign(2, 10), Assign::Unchanged);
    assert_eq!(pairs(&c), [(1, 0), (2, 10)]);
}

#[test]
fn assign_of_the_latest_epoch_at_an_earlier_offset_moves_its_start() {
    let mut c = cache(&[(1, 0), (2, 10)]);
    assert_eq!(c.assign(2, 5), Assign::Inserted { removed: vec![EpochEntry { epoch: 2, start_offset: 10 }] });
    assert_eq!(pairs(&c), [(1, 0), (2, 5)]);
}

#[test]
fn assign_of_a_lower_epoch_drops_the_later_entries() {
    let mut c = cache(&[(1, 0), (3, 10), (4, 20)]);
    assert!(c.assign(2, 30).changed());
    assert_eq!(pairs(&c), [(1, 0), (2, 30)]);
}

#[test]
fn assign_of_a_higher_epoch_at_an_earlier_offset_drops_entries_starting_at_or_after_it() {
    let mut c = cache(&[(1, 0), (3, 10), (4, 20)]);
    assert!(c.assign(6, 10).changed());
    assert_eq!(pairs(&c), [(1, 0), (6, 10)]);
}

#[test]
#[should_panic(expected = "must be >= 0")]
fn assign_refuses_a_batch_without_an_epoch() {
    LeaderEpochCache::new().assign(NO_PARTITION_LEADER_EPOCH, 0);
}

// ---- truncation ----

#[test]
fn truncate_from_end_drops_entries_starting_at_or_after_the_offset() {
    let mut c = cache(&[(1, 0), (3, 10), (4, 20)]);
    assert!(!c.truncate_from_end(21));
    assert!(c.truncate_from_end(20));
    assert_eq!(pairs(&c), [(1, 0), (3, 10)]);
    assert!(!c.truncate_from_end(-1), "a negative offset changes nothing");
    assert!(c.truncate_from_end(0));
    assert!(c.is_empty());
}

#[test]
fn truncate_from_start_puts_the_last_dropped_epoch_back_at_the_new_start() {
    let mut c = cache(&[(1, 0), (3, 10), (4, 20)]);
    assert!(c.truncate_from_start(15));
    assert_eq!(pairs(&c), [(3, 15), (4, 20)]);
    assert!(!c.truncate_from_start(15), "already starting there");
    assert!(!c.truncate_from_start(3), "below every entry");
    assert!(c.truncate_from_start(20));
    assert_eq!(pairs(&c), [(4, 20)]);
    assert!(c.truncate_from_start(99));
    assert_eq!(pairs(&c), [(4, 99)]);
}

#[test]
fn epoch_for_offset_is_the_entry_at_or_before_it() {
    let c = cache(&[(1, 5), (3, 10)]);
    assert_eq!(c.epoch_for_offset(4), None);
    assert_eq!(c.epoch_for_offset(5), Some(1));
    assert_eq!(c.epoch_for_offset(9), Some(1));
    assert_eq!(c.epoch_for_offset(10), Some(3));
    assert_eq!(c.epoch_for_offset(1_000), Some(3));
}

#[test]
#[should_panic(expected = "strictly increase")]
fn the_invariant_check_fires_on_unordered_entries() {
    let broken = LeaderEpochCache {
        entries: vec![EpochEntry { epoch: 2, start_offset: 10 }, EpochEntry { epoch: 1, start_offset: 20 }],
    };
    broken.check_invariants();
}

// ---- the file ----

#[test]
fn the_file_is_kafkas_text_format_and_round_trips() {
    let c = cache(&[(0, 0), (2, 117), (5, 4_000_000_000)]);
    assert_eq!(c.encode(), "0\n3\n0 0\n2 117\n5 4000000000\n");
    assert_eq!(LeaderEpochCache::decode(c.encode().as_bytes()).unwrap(), c);
    assert_eq!(LeaderEpochCache::new().encode(), "0\n0\n");
    assert!(LeaderEpochCache::decode(b"0\n0\n").unwrap().is_empty());
    // Kafka's reader splits an entry on any whitespace.
    assert_eq!(pairs(&LeaderEpochCache::decode(b"0\n1\n7  \t 12\n").unwrap()), [(7, 12)]);
}

#[test]
fn a_bad_file_is_refused_with_the_problem_named() {
    let cases: [(&[u8], &str); 11] = [
        (b"", "the file is empty"),
        (b"1\n0\n", "line 1: version `1`"),
        (b"0\n", "line 2: the entry count is missing"),
        (b"0\nx\n", "line 2: entry count `x`"),
        (b"0\n1\n3\n", "line 3: `3` is not `epoch startOffset`"),
        (b"0\n1\n3 4 5\n", "line 3: `3 4 5`"),
        (b"0\n1\n-1 4\n", "line 3: `-1 4`"),
        (b"0\n2\n3 10\n2 20\n", "line 4: entry `2 20` does not follow `3 10`"),
        (b"0\n2\n3 10\n4 10\n", "line 4: entry `4 10` does not follow `3 10`"),
        (b"0\n3\n3 10\n", "says 3 entries but the file holds 1"),
        (b"0\n1\n3 10\n4 20\n", "says 1 entries but the file holds more"),
    ];
    for (bytes, problem) in cases {
        let error = LeaderEpochCache::decode(bytes).unwrap_err().to_string();
        assert!(error.contains(problem), "{:?}: {error}", String::from_utf8_lossy(bytes));
    }
    assert_eq!(LeaderEpochCache::decode(&[0xff, 0xfe]), Err(EpochFileError::NotUtf8));
}

// ---- the property ----

#[derive(Clone, Debug)]
enum Op {
    Assign(i32, i64),
    TruncateFromEnd(i64),
    TruncateFromStart(i64),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..10i32, 0..60i64).prop_map(|(e, s)| Op::Assign(e, s)),
        2 => (-1..60i64).prop_map(Op::TruncateFromEnd),
        1 => (0..60i64).prop_map(Op::TruncateFromStart),
        1 => Just(Op::Clear),
    ]
}

/// The rules written the plainest way: a list of pairs filtered by the rule's words.
fn model_apply(model: &mut Vec<(i32, i64)>, op: &Op) {
    match *op {
        Op::Assign(e, s) => {
            if model.last().is_some_and(|&(le, ls)| le == e && ls <= s) {
                return;
            }
            while model.last().is_some_and(|&(le, ls)| le >= e || ls >= s) {
                model.pop();
            }
            model.push((e, s));
        }
        Op::TruncateFromEnd(o) if o >= 0 => model.retain(|&(_, s)| s < o),
        Op::TruncateFromEnd(_) => {}
        Op::TruncateFromStart(o) => {
            let dropped: Vec<(i32, i64)> = model.iter().copied().filter(|&(_, s)| s <= o).collect();
            model.retain(|&(_, s)| s > o);
            if let Some(&(e, _)) = dropped.last() {
                model.insert(0, (e, o));
            }
        }
        Op::Clear => model.clear(),
    }
}

/// `endOffsetFor` by linear scans over the model.
fn model_end_offset_for(model: &[(i32, i64)], requested: i32, leo: i64) -> Option<(i32, i64)> {
    if requested == -1 {
        return None;
    }
    if model.last().map(|&(e, _)| e) == Some(requested) {
        return Some((requested, leo));
    }
    let higher = model.iter().find(|&&(e, _)| e > requested)?;
    let floor = model.iter().rfind(|&&(e, _)| e <= requested);
    Some((floor.map_or(requested, |&(e, _)| e), higher.1))
}

fn model_epoch_for_offset(model: &[(i32, i64)], offset: i64) -> Option<i32> {
    model.iter().rfind(|&&(_, s)| s <= offset).map(|&(e, _)| e)
}

proptest! {
    #[test]
    fn the_cache_agrees_with_a_brute_force_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut cache = LeaderEpochCache::new();
        let mut model = Vec::new();
        for op in &ops {
            let before = cache.clone();
            let changed = match *op {
                Op::Assign(e, s) => cache.assign(e, s).changed(),
                Op::TruncateFromEnd(o) => cache.truncate_from_end(o),
                Op::TruncateFromStart(o) => cache.truncate_from_start(o),
                Op::Clear => cache.clear(),
            };
            model_apply(&mut model, op);
            cache.check_invariants();
            prop_assert_eq!(pairs(&cache), model.clone(), "after {:?}", op);
            prop_assert_eq!(changed, cache != before, "`changed` is honest after {:?}", op);
            let encoded = cache.encode();
            prop_assert_eq!(LeaderEpochCache::decode(encoded.as_bytes()), Ok(cache.clone()));
            let leo = model.last().map_or(0, |&(_, s)| s) + 3;
            for requested in -1..12 {
                prop_assert_eq!(
                    cache.end_offset_for(requested, leo),
                    model_end_offset_for(&model, requested, leo),
                    "end_offset_for({})", requested
                );
            }
            for offset in 0..64 {
                prop_assert_eq!(cache.epoch_for_offset(offset), model_epoch_for_offset(&model, offset));
            }
        }
    }
}
