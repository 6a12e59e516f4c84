//! What a scenario expects of its seeds, and how one seed and a sweep are judged.
//!
//! Most scenarios expect every seed to pass clean. A scenario that runs a historical design
//! on purpose (`unclean.leader.election.enable=true`, pre-KIP-101 truncation, Kafka's
//! durability rule) expects the simulator to *find* the bug: it declares
//! `Expectation::Violation(checker)`, and a sweep of it passes only when at least one seed
//! shows a violation reported by that checker. A seed that shows it is the expected outcome,
//! not a failure.
//!
//! Per seed ([`judge`]):
//! - a panic (time limit, deadlock, a node's or the supervisor's) or a nondeterministic trace
//!   always fails the seed;
//! - no violation: the seed is clean (it passes; under an expectation it just did not find the
//!   bug);
//! - a violation of the expected checker: the seed found the bug. Other checkers may report
//!   with it (a lost acknowledged record is usually also a vanished read); they are shown,
//!   not counted as failures;
//! - violations only of other checkers: the seed fails (the story went wrong in a way it does
//!   not expect).
//!
//! Per sweep ([`SweepTally`]): `failed` counts failed seeds; the sweep passes when none
//! failed and, under an expectation, at least one seed found the bug.
//!
//! Invariants (`SweepTally`): `passed + failed` = seeds judged; `found ≤ passed`;
//! `first_found` is set iff `found > 0`.

use crate::checker::Violation;

/// What a scenario's seeds must show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expectation {
    /// Every seed passes clean (the default).
    #[default]
    Pass,
    /// The scenario replays a historical design: at least one seed of a sweep must show a
    /// violation reported by the checker of this name (`Checker::name`).
    Violation(&'static str),
}

impl Expectation {
    /// How `cargo sim list` and the last lines show it: `pass` or `violation:CHECKER`.
    pub fn label(&self) -> String {
        match self {
            Expectation::Pass => "pass".to_string(),
            Expectation::Violation(checker) => format!("violation:{checker}"),
        }
    }

    /// The checker whose violation is expected, if any.
    pub fn checker(&self) -> Option<&'static str> {
        match self {
            Expectation::Pass => None,
            Expectation::Violation(checker) => Some(checker),
        }
    }
}

/// What one seed showed, judged against the scenario's expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedVerdict {
    /// No violation, no panic.
    Clean,
    /// The expected checker reported (the bug the scenario replays was found).
    Found,
    /// A panic, nondeterminism, or a violation the scenario does not expect.
    Failed,
}

impl SeedVerdict {
    /// Clean and found seeds pass.
    pub fn passed(self) -> bool {
        self != SeedVerdict::Failed
    }
}

/// Judges one seed: its violations, whether it panicked, whether a determinism check failed.
pub fn judge(
    expectation: Expectation,
    violations: &[Violation],
    panicked: bool,
    nondeterministic: bool,
) -> SeedVerdict {
    if panicked || nondeterministic {
        return SeedVerdict::Failed;
    }
    if violations.is_empty() {
        return SeedVerdict::Clean;
    }
    match expectation.checker() {
        Some(checker) if violations.iter().any(|v| v.checker == checker) => SeedVerdict::Found,
        _ => SeedVerdict::Failed,
    }
}

/// The running count of a sweep.
#[derive(Clone, Debug)]
pub struct SweepTally {
    expectation: Expectation,
    /// Clean and found seeds.
    pub passed: u64,
    /// Failed seeds.
    pub failed: u64,
    /// Seeds that found the expected violation.
    pub found: u64,
    /// The first seed that found it.
    pub first_found: Option<u64>,
}

impl SweepTally {
    pub fn new(expectation: Expectation) -> Self {
        SweepTally { expectation, passed: 0, failed: 0, found: 0, first_found: None }
    }

    /// Counts one seed's verdict.
    pub fn add(&mut self, seed: u64, verdict: SeedVerdict) {
        match verdict {
            SeedVerdict::Clean => self.passed += 1,
            SeedVerdict::Found => {
                self.passed += 1;
                self.found += 1;
                self.first_found.get_or_insert(seed);
            }
            SeedVerdict::Failed => self.failed += 1,
        }
        self.check_invariants();
    }

    /// No seed failed and, under an expectation, some seed found the violation.
    pub fn passed(&self) -> bool {
        self.failed == 0 && (self.expectation == Expectation::Pass || self.found > 0)
    }

    /// What the sweep's last line adds after `failed=F`: nothing for `Pass`, else
    /// ` expected=violation:CHECKER found=K`.
    pub fn suffix(&self) -> String {
        match self.expectation {
            Expectation::Pass => String::new(),
            expectation => format!(" expected={} found={}", expectation.label(), self.found),
        }
    }

    fn check_invariants(&self) {
        assert!(self.found <= self.passed, "{self:?}: more seeds found the violation than passed");
        assert_eq!(self.first_found.is_some(), self.found > 0, "{self:?}: first_found out of step");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(checker: &'static str) -> Violation {
        Violation::new(checker, 1, "lost")
    }

    const EXPECTS: Expectation = Expectation::Violation("AckedRecordsSurvive");

    #[test]
    fn a_pass_scenario_fails_on_any_violation() {
        assert_eq!(judge(Expectation::Pass, &[], false, false), SeedVerdict::Clean);
        assert_eq!(judge(Expectation::Pass, &[violation("AckedRecordsSurvive")], false, false), SeedVerdict::Failed);
    }

    #[test]
    fn the_expected_violation_is_found_even_with_company() {
        let both = [violation("NoVanishingReads"), violation("AckedRecordsSurvive")];
        assert_eq!(judge(EXPECTS, &both, false, false), SeedVerdict::Found);
        assert_eq!(judge(EXPECTS, &[], false, false), SeedVerdict::Clean);
    }

    #[test]
    fn other_violations_panics_and_nondeterminism_fail_an_expecting_scenario() {
        assert_eq!(judge(EXPECTS, &[violation("NoVanishingReads")], false, false), SeedVerdict::Failed);
        assert_eq!(judge(EXPECTS, &[violation("AckedRecordsSurvive")], true, false), SeedVerdict::Failed);
        assert_eq!(judge(EXPECTS, &[violation("AckedRecordsSurvive")], false, true), SeedVerdict::Failed);
    }

    #[test]
    fn an_expecting_sweep_passes_only_when_a_seed_finds_it() {
        let mut tally = SweepTally::new(EXPECTS);
        tally.add(1, SeedVerdict::Clean);
        tally.add(2, SeedVerdict::Clean);
        assert!(!tally.passed(), "nothing found");
        assert_eq!(tally.suffix(), " expected=violation:AckedRecordsSurvive found=0");
        tally.add(3, SeedVerdict::Found);
        tally.add(4, SeedVerdict::Found);
        assert!(tally.passed());
        assert_eq!((tally.passed, tally.failed, tally.found, tally.first_found), (4, 0, 2, Some(3)));
        tally.add(5, SeedVerdict::Failed);
        assert!(!tally.passed(), "a failed seed fails the sweep");
    }

    #[test]
    fn a_pass_sweep_passes_without_failures() {
        let mut tally = SweepTally::new(Expectation::Pass);
        tally.add(1, SeedVerdict::Clean);
        assert!(tally.passed());
        assert_eq!(tally.suffix(), "");
        tally.add(2, SeedVerdict::Failed);
        assert!(!tally.passed());
    }

    #[test]
    #[should_panic(expected = "first_found out of step")]
    fn the_tally_invariants_fire() {
        let mut tally = SweepTally::new(EXPECTS);
        tally.found = 1; // broken on purpose: found without a first seed
        tally.passed = 1;
        tally.add(1, SeedVerdict::Clean);
    }
}
