//! Choosing a partition for a record, as Kafka's Java producer does: a keyed record goes to
//! `toPositive(murmur2(key)) % partitions`, so a key lands on the same partition as it would
//! from a Java, librdkafka (`murmur2_random`) or kafkajs producer; a keyless record goes
//! round-robin per topic, from a start drawn from the seeded source handed in.

use std::collections::BTreeMap;

use rand::Rng;

use crate::runtime::NodeRng;

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed 0x9747b28c, as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h = SEED ^ length;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on MIN).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner picks for `key` among `partitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    to_positive(murmur2(key)) % partitions.max(1)
}

/// Picks partitions: by key hash, or round-robin per topic for keyless records.
#[derive(Debug)]
pub struct Partitioner {
    rng: NodeRng,
    next_by_topic: BTreeMap<String, u32>,
}

impl Partitioner {
    pub fn new(rng: NodeRng) -> Self {
        Partitioner { rng, next_by_topic: BTreeMap::new() }
    }

    /// The partition for a record of `topic` with `key`, among `partitions` (> 0).
    pub fn partition(&mut self, topic: &str, key: Option<&[u8]>, partitions: i32) -> i32 {
        let partitions = partitions.max(1);
        if let Some(key) = key {
            return partition_for_key(key, partitions);
        }
        let counter = match self.next_by_topic.get_mut(topic) {
            Some(counter) => counter,
            None => {
                let start = self.rng.random::<u32>();
                self.next_by_topic.entry(topic.to_owned()).or_insert(start)
            }
        };
        let chosen = *counter % partitions as u32;
        *counter = counter.wrapping_add(1);
        chosen as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::seeded;

    #[test]
    fn murmur2_matches_kafkas_utils_test() {
        // org.apache.kafka.common.utils.UtilsTest#testMurmur2
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58_897_971);
        assert_eq!(murmur2(b"abc"), 479_470_107);
        assert_eq!(murmur2(b""), 275_646_681);
    }

    #[test]
    fn murmur2_matches_librdkafkas_java_compatible_vectors() {
        // librdkafka src/rdmurmur2.c unittest_murmur2 (the "java_murmur2_results")
        let cases: [(&[u8], u32); 10] = [
            (b"kafka", 0xd067_cf64),
            (b"giberish123456789", 0x8f55_2b0c),
            (b"1234", 0x9fc9_7b14),
            (b"234", 0xe7c0_09ca),
            (b"34", 0x8739_30da),
            (b"4", 0x5a4b_5ca1),
            (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
            (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377),
            (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
            (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key) as u32, expected, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn keys_map_to_partitions_as_in_java() {
        // (murmur2(key) & 0x7fffffff) % n: "21" hashes negative and must be masked, not negated.
        assert_eq!(to_positive(-973_932_308), 1_173_551_340);
        assert_eq!(to_positive(i32::MIN), 0);
        let cases: [(&[u8], [i32; 3]); 4] =
            [(b"kafka", [1, 4, 0]), (b"abc", [0, 3, 7]), (b"user-4", [1, 1, 7]), (b"", [0, 3, 1])];
        for (key, expected) in cases {
            let got = [3, 6, 10].map(|n| partition_for_key(key, n));
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(key));
        }
        let mut partitioner = Partitioner::new(seeded(1));
        assert_eq!(partitioner.partition("t", Some(b"kafka"), 6), 4);
    }

    #[test]
    fn keyless_records_go_round_robin_from_a_seeded_start() {
        let mut a = Partitioner::new(seeded(7));
        let mut b = Partitioner::new(seeded(7));
        let first: Vec<i32> = (0..8).map(|_| a.partition("t", None, 4)).collect();
        let again: Vec<i32> = (0..8).map(|_| b.partition("t", None, 4)).collect();
        assert_eq!(first, again, "same seed, same choices");
        for pair in first.windows(2) {
            assert_eq!((pair[0] + 1) % 4, pair[1]);
        }
        let other: Vec<i32> = (0..4).map(|_| a.partition("u", None, 4)).collect();
        let mut sorted = other.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
    }
}
