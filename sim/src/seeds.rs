//! Seed ranges (`--seeds 1..100`) and shards of them (`--shard 2/8`).

use std::fmt;
use std::str::FromStr;

/// An inclusive range of seeds: `A..B` and `A..=B` both mean A, A+1, …, B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub first: u64,
    /// Last seed (included).
    pub last: u64,
}

impl SeedRange {
    /// The seeds of this range that belong to `shard` (all of them without one).
    pub fn seeds(&self, shard: Option<Shard>) -> impl Iterator<Item = u64> {
        let first = self.first;
        (self.first..=self.last).filter(move |seed| match shard {
            Some(shard) => (seed - first) % shard.count == shard.index,
            None => true,
        })
    }
}

impl FromStr for SeedRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once("..=")
            .or_else(|| s.split_once(".."))
            .ok_or_else(|| format!("seed range `{s}` is not of the form A..B (inclusive)"))?;
        let parse = |x: &str| {
            x.trim().parse::<u64>().map_err(|_| format!("seed range `{s}`: `{x}` is not a seed (an unsigned integer)"))
        };
        let (first, last) = (parse(a)?, parse(b)?);
        if first > last {
            return Err(format!("seed range `{s}` is empty: {first} > {last}"));
        }
        Ok(SeedRange { first, last })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// Shard `index` of `count`: the seeds s with `(s - first) % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard index, below `count`.
    pub index: u64,
    /// Number of shards, at least 1.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("shard `{s}` is not of the form i/n with 0 <= i < n");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index = i.trim().parse::<u64>().map_err(|_| bad())?;
        let count = n.trim().parse::<u64>().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive() {
        let r: SeedRange = "1..3".parse().unwrap();
        assert_eq!(r.seeds(None).collect::<Vec<_>>(), vec![1, 2, 3]);
        let r: SeedRange = "1..=3".parse().unwrap();
        assert_eq!(r.seeds(None).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!("5..5".parse::<SeedRange>().unwrap().seeds(None).count(), 1);
        assert!("3..1".parse::<SeedRange>().is_err());
        assert!("x..1".parse::<SeedRange>().is_err());
        assert!("7".parse::<SeedRange>().is_err());
    }

    #[test]
    fn shards_partition_the_range() {
        let r: SeedRange = "10..20".parse().unwrap();
        let mut all: Vec<u64> =
            (0..3).flat_map(|i| r.seeds(Some(Shard { index: i, count: 3 })).collect::<Vec<_>>()).collect();
        all.sort();
        assert_eq!(all, (10..=20).collect::<Vec<_>>());
        assert_eq!(r.seeds(Some("1/3".parse().unwrap())).collect::<Vec<_>>(), vec![11, 14, 17, 20]);
        assert!("3/3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }
}
