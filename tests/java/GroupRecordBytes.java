// Prints the bytes Kafka 4.1 writes to __consumer_offsets for a few fixed group records, one
// line each: `<case> <key hex> <value hex or "null">`. Offset commits go through Kafka's own
// GroupCoordinatorRecordHelpers (which choose the value version); group metadata values are
// Kafka's generated GroupMetadataValue at version 3, the version newGroupMetadataRecord writes
// (building a ClassicGroup for the helper needs a whole coordinator). Both are serialised by
// GroupCoordinatorRecordSerde: int16 record type + key, int16 version + value.
// tests/group_records.rs compares seedlog's codec with this output.

import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.coordinator.common.runtime.CoordinatorRecord;
import org.apache.kafka.coordinator.group.GroupCoordinatorRecordHelpers;
import org.apache.kafka.coordinator.group.GroupCoordinatorRecordSerde;
import org.apache.kafka.coordinator.group.OffsetAndMetadata;
import org.apache.kafka.coordinator.group.generated.GroupMetadataKey;
import org.apache.kafka.coordinator.group.generated.GroupMetadataValue;
import org.apache.kafka.server.common.ApiMessageAndVersion;

public class GroupRecordBytes {
    private static final GroupCoordinatorRecordSerde SERDE = new GroupCoordinatorRecordSerde();

    private static void print(String name, CoordinatorRecord record) {
        byte[] value = SERDE.serializeValue(record);
        System.out.println(name + " " + HexFormat.of().formatHex(SERDE.serializeKey(record)) + " "
            + (value == null ? "null" : HexFormat.of().formatHex(value)));
    }

    private static CoordinatorRecord offsetCommit(Uuid topicId, int leaderEpoch, String metadata) {
        OffsetCommitRequestPartition partition = new OffsetCommitRequestPartition()
            .setPartitionIndex(5)
            .setCommittedOffset(42L)
            .setCommittedLeaderEpoch(leaderEpoch)
            .setCommittedMetadata(metadata);
        OffsetAndMetadata offset = OffsetAndMetadata.fromRequest(topicId, partition, 1700000000000L, OptionalLong.empty());
        return GroupCoordinatorRecordHelpers.newOffsetCommitRecord("group-1", "topic-a", 5, offset);
    }

    private static CoordinatorRecord groupMetadata(GroupMetadataValue value) {
        return CoordinatorRecord.record(new GroupMetadataKey().setGroup("group-1"), new ApiMessageAndVersion(value, (short) 3));
    }

    public static void main(String[] args) {
        print("offset_commit", offsetCommit(Uuid.ZERO_UUID, 7, "meta"));
        print("offset_commit_no_epoch", offsetCommit(Uuid.ZERO_UUID, -1, null));
        print("offset_commit_with_topic_id", offsetCommit(Uuid.fromString("AAECAwQFBgcICQoLDA0ODw"), 7, "meta"));
        print("offset_commit_tombstone", GroupCoordinatorRecordHelpers.newOffsetCommitTombstoneRecord("group-1", "topic-a", 5));
        print("group_metadata", groupMetadata(new GroupMetadataValue()
            .setProtocolType("consumer")
            .setGeneration(3)
            .setProtocol("range")
            .setLeader("m1")
            .setCurrentStateTimestamp(1700000000123L)
            .setMembers(List.of(
                new GroupMetadataValue.MemberMetadata()
                    .setMemberId("m1")
                    .setGroupInstanceId("i1")
                    .setClientId("client-1")
                    .setClientHost("/127.0.0.1")
                    .setRebalanceTimeout(300000)
                    .setSessionTimeout(45000)
                    .setSubscription(new byte[] {0, 1, 2})
                    .setAssignment(new byte[] {3, 4}),
                new GroupMetadataValue.MemberMetadata()
                    .setMemberId("m2")
                    .setClientId("client-2")
                    .setClientHost("/10.0.0.2")
                    .setRebalanceTimeout(60000)
                    .setSessionTimeout(10000)
                    .setSubscription(new byte[] {})
                    .setAssignment(new byte[] {})))));
        print("group_metadata_empty", groupMetadata(new GroupMetadataValue()
            .setProtocolType("")
            .setGeneration(0)
            .setProtocol(null)
            .setLeader(null)
            .setCurrentStateTimestamp(1700000000000L)
            .setMembers(List.of())));
        print("group_metadata_tombstone", GroupCoordinatorRecordHelpers.newGroupMetadataTombstoneRecord("group-1"));
    }
}
