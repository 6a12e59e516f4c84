#!/usr/bin/env node
// The real-client cases with kafkajs (pinned in tests/clients/node/package-lock.json,
// installed into .node/ by scripts/install-node-clients.sh).
//
// Usage: node tests/clients/kafkajs_client.js --bootstrap 127.0.0.1:9092 --case produce-consume
// Cases: produce-consume, acks, compression, idempotent, list-offsets-by-time, admin,
// admin-errors, oversized (or `all`).
//
// Like the Python scripts beside it (common.py): one case per run, exit 0 when it passed,
// 1 when a check or the client failed (a `FAIL kafkajs CASE: ...` line on stderr says
// which), 2 on a usage error; every case runs under a watchdog (CASE_TIMEOUT_MS).
//
// Reading records back. kafkajs's Consumer only runs inside a consumer group: `run()`
// starts with FindCoordinator and JoinGroup, and kafkajs has no assign() mode. seedlog has
// no group coordinator yet (issue 10), so the cases do not use the Consumer; they read
// with the pieces the Consumer itself fetches with: kafkajs's Cluster (metadata, leaders)
// and Broker.fetch (kafkajs's Fetch request and record-batch decoder, codecs included),
// required from the installed package (`kafkajs/src/...`: shipped, though not its
// documented API). A consumer-group case (subscribe, run, commitOffsets, admin's group
// calls) waits for issue 10.
'use strict'

const path = require('path')

const ROOT = path.resolve(__dirname, '..', '..')
const KAFKAJS = path.join(ROOT, '.node', 'node_modules', 'kafkajs')

// No case may take longer than this; the watchdog turns an overrun into a failure.
const CASE_TIMEOUT_MS = 60_000
// Individual waits (a read loop, a retry loop) stay well inside it.
const WAIT_MS = 30_000

const RECORDS = 3000
const KEYS = 97
const VALUE_BYTES = 100
const PARTITIONS = 3
const BATCH = 100
const ACKS_RECORDS = 200
const CODEC_RECORDS = 500
const IDEMPOTENT_RECORDS = 1000
const TS_RECORDS = 100
const TS_STEP_MS = 1000
// The time query lands between record 50 and record 51, so the answer is offset 51.
const TS_QUERY_OFFSET_MS = 50_500
const TS_EXPECTED_OFFSET = 51
const ADMIN_PARTITIONS = 2
const ADMIN_GROWN_PARTITIONS = 5
const ADMIN_RETENTION_MS = '3600000'
const OVERSIZED_BYTES = 2 * 1024 * 1024

let kafkajs
try {
  kafkajs = require(KAFKAJS)
} catch (error) {
  process.stderr.write(
    `kafkajs is not installed at ${KAFKAJS} (${error.message}); run scripts/install-node-clients.sh from the repo root\n`
  )
  process.exit(1)
}
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs
const Cluster = require(path.join(KAFKAJS, 'src', 'cluster'))
const { createLogger } = require(path.join(KAFKAJS, 'src', 'loggers'))
const socketFactory = require(path.join(KAFKAJS, 'src', 'network', 'socketFactory'))

// kafkajs 2 warns once that its default partitioner changed (it is the Java client's
// murmur2 now, which is what these cases want).
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message)
}

function show(value) {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, null, 0)
}

function checkEq(actual, expected, what) {
  if (show(actual) !== show(expected)) {
    throw new CheckFailed(`${what}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

function topicName(kase, suffix = '') {
  const id = Math.random().toString(16).slice(2, 12)
  return `kafkajs-${kase}-${id}${suffix ? `-${suffix}` : ''}`
}

const keyOf = i => `k${i % KEYS}`
const valueOf = (i, size = VALUE_BYTES) => `v${i}`.padEnd(size, '.')

function indexOf(value) {
  const head = value.split('.', 1)[0]
  if (!/^v\d+$/.test(head)) throw new CheckFailed(`read a value that was never produced: ${show(value.slice(0, 40))}`)
  return Number(head.slice(1))
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// kafkajs's log lines go to stderr (WARN and up; everything with --verbose), so a failure's
// output shows what the client saw.
function logCreator() {
  const names = Object.fromEntries(Object.entries(logLevel).map(([name, level]) => [level, name]))
  return ({ namespace, level, log }) => {
    const { message, timestamp, logger, ...extra } = log
    process.stderr.write(`kafkajs ${names[level] || level} ${namespace} ${message} ${JSON.stringify(extra)}\n`)
  }
}

function client(args) {
  return new Kafka({
    clientId: 'seedlog-kafkajs-test',
    brokers: [args.bootstrap],
    connectionTimeout: 5000,
    requestTimeout: 15000,
    logLevel: args.verbose ? logLevel.DEBUG : logLevel.WARN,
    logCreator,
    // A few quick retries: a broken broker shows up as a failure within the case.
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  })
}

/// The reader: kafkajs's own Cluster and Broker.fetch, the way its Consumer fetches (see
/// the header for why not the Consumer).
class Reader {
  constructor(args) {
    this.cluster = new Cluster({
      logger: createLogger({ level: args.verbose ? logLevel.DEBUG : logLevel.WARN, logCreator }),
      socketFactory: socketFactory(),
      brokers: [args.bootstrap],
      clientId: 'seedlog-kafkajs-reader',
      connectionTimeout: 5000,
      requestTimeout: 15000,
      enforceRequestTimeout: true,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      allowAutoTopicCreation: false,
    })
  }

  async connect() {
    await this.cluster.connect()
  }

  async disconnect() {
    await this.cluster.disconnect()
  }

  /// Every record of `topic`/`partition` from `fromOffset` up to the high watermark, in the
  /// order the broker returned them, as { offset, key, value, headers, timestamp, batch }.
  async readPartition(topic, partition, fromOffset = 0, maxBytes = 64 * 1024) {
    await this.cluster.addTargetTopic(topic)
    await this.cluster.refreshMetadata()
    const leaders = this.cluster.findLeaderForPartitions(topic, [partition])
    const nodeId = Object.keys(leaders)[0]
    check(nodeId !== undefined, `no leader for ${topic}/${partition} in kafkajs's metadata`)
    const broker = await this.cluster.findBroker({ nodeId })
    const records = []
    let offset = fromOffset
    const until = Date.now() + WAIT_MS
    for (;;) {
      // maxBytes per partition small enough that a partition takes several fetches.
      const response = await broker.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
      })
      checkEq(response.errorCode, 0, 'top-level error code of the Fetch answer')
      const topicAnswer = response.responses.find(r => r.topicName === topic)
      check(topicAnswer, `the Fetch answer has no entry for ${topic}`)
      const answer = topicAnswer.partitions.find(p => p.partition === partition)
      check(answer, `the Fetch answer has no entry for ${topic}/${partition}`)
      checkEq(answer.errorCode, 0, `error code of ${topic}/${partition} in the Fetch answer`)
      const highWatermark = Number(answer.highWatermark)
      for (const message of answer.messages) {
        if (message.isControlRecord) continue
        // A batch may start before the fetch offset; Kafka's consumers skip those records.
        if (Number(message.offset) < offset) continue
        records.push({
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)])),
          timestamp: Number(message.timestamp),
          batch: message.batchContext,
        })
        offset = Number(message.offset) + 1
      }
      if (offset >= highWatermark) return { records, highWatermark }
      check(Date.now() < until, `reading ${topic}/${partition}: at offset ${offset} of ${highWatermark} after ${WAIT_MS} ms`)
    }
  }
}

async function withClients(args, body, adminOptions = {}) {
  const kafka = client(args)
  const admin = kafka.admin(adminOptions)
  const reader = new Reader(args)
  const producers = []
  const producer = options => {
    const p = kafka.producer({ allowAutoTopicCreation: false, ...options })
    producers.push(p)
    return p
  }
  await admin.connect()
  await reader.connect()
  try {
    await body({ kafka, admin, reader, producer })
  } finally {
    for (const p of producers) await p.disconnect().catch(() => {})
    await reader.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

async function createTopic(admin, topic, numPartitions, configEntries = []) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
    timeout: 10000,
  })
  checkEq(created, true, `createTopics(${topic}) result`)
}

/// Check what was read against what was produced: every record once, key and headers
/// intact, offsets contiguous from 0 in each partition, one key on one partition, and each
/// record where its acknowledgement said.
function checkProduceConsume(acked, readByPartition, records) {
  const seen = new Map()
  const keyPartition = new Map()
  for (const [partition, list] of readByPartition) {
    list.forEach((record, n) => {
      checkEq(record.offset, n, `offset of the record read at position ${n} of partition ${partition}`)
      const i = indexOf(record.value)
      checkEq(record.value, valueOf(i), `value of record ${i}`)
      checkEq(record.key, keyOf(i), `key of record ${i}`)
      checkEq(record.headers, { index: String(i), origin: 'kafkajs' }, `headers of record ${i}`)
      check(!seen.has(i), `record ${i} read twice: at ${show(seen.get(i))} and at ${show([partition, record.offset])}`)
      seen.set(i, [partition, record.offset])
      if (n > 0) {
        const previous = indexOf(list[n - 1].value)
        check(previous < i, `partition ${partition}: record ${i} at offset ${n} after record ${previous} though produced before it`)
      }
      if (!keyPartition.has(record.key)) keyPartition.set(record.key, partition)
      checkEq(keyPartition.get(record.key), partition, `partition of key ${record.key}`)
    })
  }
  const missing = []
  for (let i = 0; i < records; i++) if (!seen.has(i)) missing.push(i)
  check(missing.length === 0, `${missing.length} of ${records} records never read, e.g. ${missing.slice(0, 10)}`)
  checkEq(seen.size, records, 'records read')
  for (const [i, where] of acked) checkEq(seen.get(i), where, `(partition, offset) of record ${i}: acknowledged vs read`)
}

async function readAll(reader, topic, partitions) {
  const byPartition = new Map()
  for (let partition = 0; partition < partitions; partition++) {
    const { records, highWatermark } = await reader.readPartition(topic, partition)
    checkEq(records.length, highWatermark, `records read from partition ${partition} vs its high watermark`)
    byPartition.set(partition, records)
  }
  return byPartition
}

/// Send records `from..to` with keys and headers in batches of BATCH, acks=all. Returns
/// one entry per send: its record indexes and the base offset kafkajs reported per
/// partition (kafkajs answers per partition, not per record).
async function produceKeyed(producer, topic, from, to) {
  const sends = []
  for (let start = from; start < to; start += BATCH) {
    const indexes = []
    for (let i = start; i < Math.min(start + BATCH, to); i++) indexes.push(i)
    const result = await producer.send({
      topic,
      acks: -1,
      messages: indexes.map(i => ({ key: keyOf(i), value: valueOf(i), headers: { index: String(i), origin: 'kafkajs' } })),
    })
    for (const r of result) checkEq(r.errorCode, 0, `error code of the produce to partition ${r.partition}`)
    sends.push({ indexes, basePerPartition: new Map(result.map(r => [r.partition, Number(r.baseOffset)])) })
  }
  return sends
}

/// Where each record was acknowledged, index -> [partition, offset]: the partition is its
/// key's (known from the read), and within one send the records of a partition follow its
/// base offset in the order they were given.
function resolveAcks(sends, readByPartition) {
  const keyPartition = new Map()
  for (const [partition, list] of readByPartition) for (const r of list) keyPartition.set(r.key, partition)
  const resolved = new Map()
  for (const { indexes, basePerPartition } of sends) {
    const next = new Map()
    for (const i of indexes) {
      const partition = keyPartition.get(keyOf(i))
      check(partition !== undefined, `key ${keyOf(i)} of record ${i} was never read`)
      check(basePerPartition.has(partition), `record ${i} went to partition ${partition}, which its acknowledgement does not name`)
      const n = next.get(partition) || 0
      next.set(partition, n + 1)
      resolved.set(i, [partition, basePerPartition.get(partition) + n])
    }
  }
  return resolved
}

// ---- the cases ----

async function produceConsume(args) {
  await withClients(args, async ({ admin, reader, producer }) => {
    const topic = topicName('produce-consume')
    await createTopic(admin, topic, PARTITIONS)
    const p = producer()
    await p.connect()
    const acked = await produceKeyed(p, topic, 0, RECORDS)
    const byPartition = await readAll(reader, topic, PARTITIONS)
    checkEq([...byPartition.keys()].filter(k => byPartition.get(k).length > 0), [0, 1, 2], 'partitions that received records')
    checkProduceConsume(resolveAcks(acked, byPartition), byPartition, RECORDS)
    // fetchTopicOffsets agrees with the read: low 0, high = records read.
    const offsets = await admin.fetchTopicOffsets(topic)
    for (const { partition, low, high, offset } of offsets) {
      checkEq(low, '0', `fetchTopicOffsets low of partition ${partition}`)
      checkEq(high, String(byPartition.get(partition).length), `fetchTopicOffsets high of partition ${partition}`)
      checkEq(offset, high, `fetchTopicOffsets offset of partition ${partition}`)
    }

    // Edge records keep their shape: a null value (a tombstone), an empty key and value, a
    // header key given twice (kept in order), a header with an empty value.
    const edges = topicName('produce-consume', 'edges')
    await createTopic(admin, edges, 1)
    await p.send({
      topic: edges,
      acks: -1,
      messages: [
        { key: 'tombstone', value: null },
        { key: '', value: '' },
        { key: null, value: 'no key', headers: { twice: ['first', 'second'], empty: '' } },
      ],
    })
    const { records } = await reader.readPartition(edges, 0)
    const shape = r => [r.offset, r.key, r.value, r.headers]
    checkEq(records.map(shape), [
      [0, 'tombstone', null, {}],
      [1, '', '', {}],
      [2, null, 'no key', { twice: ['first', 'second'], empty: '' }],
    ], 'edge records read back (offset, key, value, headers)')
  })
}

/// acks 0, 1 and -1 (all), each to a partition of its own; every record is there after.
async function acks(args) {
  await withClients(args, async ({ admin, reader, producer }) => {
    const topic = topicName('acks')
    await createTopic(admin, topic, 3)
    const p = producer()
    await p.connect()
    const modes = [[0, 0], [1, 1], [-1, 2]]
    for (const [ackMode, partition] of modes) {
      for (let start = 0; start < ACKS_RECORDS; start += BATCH) {
        const messages = []
        for (let i = start; i < start + BATCH; i++) messages.push({ partition, value: valueOf(i) })
        const result = await p.send({ topic, acks: ackMode, messages })
        if (ackMode === 0) {
          // With acks=0 the broker sends no answer, and kafkajs reports nothing.
          checkEq(result, [], 'what an acks=0 send reports')
        } else {
          checkEq(result.map(r => [r.partition, r.errorCode, r.baseOffset]), [[partition, 0, String(start)]],
            `acks=${ackMode} send of records ${start}..${start + BATCH}`)
        }
      }
    }
    // An acks=0 produce is not acknowledged: wait until its records are all there.
    const until = Date.now() + WAIT_MS
    for (;;) {
      const high = (await admin.fetchTopicOffsets(topic)).find(o => o.partition === 0).high
      if (high === String(ACKS_RECORDS)) break
      check(Date.now() < until, `acks=0 partition: high watermark ${high}, expected ${ACKS_RECORDS}`)
      await sleep(100)
    }
    for (const [ackMode, partition] of modes) {
      const { records } = await reader.readPartition(topic, partition)
      checkEq(records.length, ACKS_RECORDS, `records read back from the acks=${ackMode} partition`)
      records.forEach((r, i) => {
        checkEq([r.offset, r.key, r.value], [i, null, valueOf(i)], `acks=${ackMode} record at offset ${i}`)
      })
    }
  })
}

/// gzip (the codec kafkajs ships; snappy, lz4 and zstd are plug-ins it does not bundle):
/// records round-trip, and the batches come back from the broker still gzip-compressed
/// (counted by wrapping kafkajs's gzip codec).
async function compression(args) {
  const original = CompressionCodecs[CompressionTypes.GZIP]
  const counts = { compress: 0, decompress: 0 }
  CompressionCodecs[CompressionTypes.GZIP] = () => {
    const codec = original()
    return {
      compress: async encoder => { counts.compress++; return codec.compress(encoder) },
      decompress: async buffer => { counts.decompress++; return codec.decompress(buffer) },
    }
  }
  try {
    await withClients(args, async ({ admin, reader, producer }) => {
      const topic = topicName('compression', 'gzip')
      await createTopic(admin, topic, 1)
      const p = producer()
      await p.connect()
      for (let start = 0; start < CODEC_RECORDS; start += BATCH) {
        const messages = []
        for (let i = start; i < start + BATCH; i++) messages.push({ key: keyOf(i), value: valueOf(i) })
        const result = await p.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages })
        checkEq(result.map(r => r.baseOffset), [String(start)], `base offset of gzip batch ${start / BATCH}`)
      }
      checkEq(counts.compress, CODEC_RECORDS / BATCH, 'gzip batches kafkajs compressed')
      const { records } = await reader.readPartition(topic, 0, 0, 1024 * 1024)
      checkEq(records.length, CODEC_RECORDS, 'gzip records read back')
      records.forEach((r, i) => checkEq([r.offset, r.key, r.value], [i, keyOf(i), valueOf(i)], `gzip record at offset ${i}`))
      // The broker keeps the producer's batches as they came: each is read back as one
      // gzip batch of BATCH records.
      checkEq(counts.decompress, CODEC_RECORDS / BATCH, 'gzip batches kafkajs decompressed when reading')
      const batchStarts = [...new Set(records.map(r => r.batch.firstOffset))]
      checkEq(batchStarts, [0, 100, 200, 300, 400].map(String), 'first offsets of the batches read back')
    })
  } finally {
    CompressionCodecs[CompressionTypes.GZIP] = original
  }
}

/// `idempotent: true`: kafkajs gets a producer id (InitProducerId), numbers its batches,
/// and every record lands once, in order, stamped with that producer id and sequences
/// that start at 0 and follow each other.
async function idempotent(args) {
  await withClients(args, async ({ admin, reader, producer }) => {
    const topic = topicName('idempotent')
    await createTopic(admin, topic, 2)
    const p = producer({ idempotent: true, maxInFlightRequests: 1 })
    await p.connect()
    for (let start = 0; start < IDEMPOTENT_RECORDS; start += BATCH) {
      const messages = []
      for (let i = start; i < start + BATCH; i++) messages.push({ partition: i % 2, key: keyOf(i), value: valueOf(i) })
      const result = await p.send({ topic, acks: -1, messages })
      checkEq(result.map(r => [r.partition, r.errorCode, r.baseOffset]).sort(),
        [[0, 0, String(start / 2)], [1, 0, String(start / 2)]], `idempotent send of records ${start}..${start + BATCH}`)
    }
    // kafkajs refuses an idempotent send with acks other than all.
    let refused = null
    try {
      await p.send({ topic, acks: 1, messages: [{ value: 'x' }] })
    } catch (error) {
      refused = error
    }
    check(refused && /ack for all messages/i.test(refused.message), `an idempotent send with acks=1 was not refused (${refused})`)
    for (const partition of [0, 1]) {
      const { records } = await reader.readPartition(topic, partition)
      checkEq(records.length, IDEMPOTENT_RECORDS / 2, `idempotent records read from partition ${partition}`)
      const producerIds = new Set(records.map(r => r.batch.producerId))
      checkEq(producerIds.size, 1, `producer ids on partition ${partition}: ${[...producerIds]}`)
      const [producerId] = producerIds
      check(Number(producerId) >= 0, `partition ${partition}: batches carry producer id ${producerId}, expected one from InitProducerId`)
      records.forEach((r, n) => {
        checkEq([r.offset, r.value], [n, valueOf(2 * n + partition)], `idempotent record at offset ${n} of partition ${partition}`)
        checkEq(r.batch.producerEpoch, 0, `producer epoch of the batch holding offset ${n}`)
        // Sequences count records per partition from 0: a batch's first sequence is the
        // offset of its first record here, since this producer was alone on the partition.
        checkEq(r.batch.firstSequence, Number(r.batch.firstOffset), `first sequence of the batch holding offset ${n}`)
      })
    }
  })
}

/// Records with create times one second apart from an hour ago; admin's
/// fetchTopicOffsetsByTimestamp (ListOffsets by time) finds the first record at or after a
/// time, and the end of the log past the last record.
async function listOffsetsByTime(args) {
  await withClients(args, async ({ admin, reader, producer }) => {
    const topic = topicName('list-offsets-by-time')
    await createTopic(admin, topic, 1)
    const p = producer()
    await p.connect()
    const base = (Math.floor(Date.now() / 1000) - 3600) * 1000
    const messages = []
    for (let i = 0; i < TS_RECORDS; i++) messages.push({ value: valueOf(i), timestamp: String(base + i * TS_STEP_MS) })
    await p.send({ topic, acks: -1, messages })
    const { records } = await reader.readPartition(topic, 0)
    checkEq(records.map(r => r.timestamp), messages.map(m => Number(m.timestamp)), 'timestamps read back')
    const at = async (ts, what) => {
      const answer = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
      checkEq(answer.length, 1, `partitions in fetchTopicOffsetsByTimestamp(${what})`)
      return answer[0].offset
    }
    checkEq(await at(base + TS_QUERY_OFFSET_MS, 'between records 50 and 51'), String(TS_EXPECTED_OFFSET), 'offset for a time between records 50 and 51')
    checkEq(await at(base, 'the first record'), '0', 'offset for the first record\'s time')
    checkEq(await at(base + 10 * TS_STEP_MS, 'record 10'), '10', 'offset for record 10\'s exact time')
    checkEq(await at(base - 1, 'before every record'), '0', 'offset for a time before every record')
    // Past the last record the broker answers -1, and kafkajs substitutes the high watermark.
    checkEq(await at(base + TS_RECORDS * TS_STEP_MS, 'past the last record'), String(TS_RECORDS), 'offset for a time past the last record')
    const offsets = await admin.fetchTopicOffsets(topic)
    checkEq(offsets.map(o => [o.partition, o.low, o.high]), [[0, '0', String(TS_RECORDS)]], 'fetchTopicOffsets')
  })
}

/// The admin calls that work without groups: create (with configs), metadata, list,
/// offsets, createPartitions, describeCluster, describeConfigs, delete.
async function adminCase(args) {
  await withClients(args, async ({ admin, producer }) => {
    const topic = topicName('admin')
    await createTopic(admin, topic, ADMIN_PARTITIONS, [
      { name: 'retention.ms', value: ADMIN_RETENTION_MS },
      { name: 'cleanup.policy', value: 'delete' },
    ])
    // Creating it again: kafkajs turns TOPIC_ALREADY_EXISTS into `false`.
    checkEq(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), false, 'createTopics of an existing topic')

    check((await admin.listTopics()).includes(topic), `listTopics lacks ${topic}`)

    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
    checkEq(metadata.topics.length, 1, 'topics in fetchTopicMetadata')
    const [described] = metadata.topics
    checkEq(described.name, topic, 'fetchTopicMetadata name')
    checkEq(described.partitions.map(p => p.partitionId).sort(), [0, 1], 'partition ids')
    const cluster = await admin.describeCluster()
    check(typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0, `describeCluster clusterId: ${show(cluster.clusterId)}`)
    checkEq(cluster.brokers.length, 1, `brokers in describeCluster (${show(cluster.brokers)})`)
    const [broker] = cluster.brokers
    checkEq(`${broker.host}:${broker.port}`, args.bootstrap, 'the one broker\'s address')
    checkEq(cluster.controller, broker.nodeId, 'describeCluster controller')
    for (const p of described.partitions) {
      checkEq([p.partitionErrorCode, p.leader, p.replicas, p.isr], [0, broker.nodeId, [broker.nodeId], [broker.nodeId]],
        `partition ${p.partitionId}: error, leader, replicas, isr`)
    }

    // describeConfigs: the configs given at creation, and a default.
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }],
    })
    checkEq(resources.length, 1, 'resources in describeConfigs')
    checkEq([resources[0].errorCode, resources[0].resourceName], [0, topic], 'describeConfigs error and name')
    const entry = name => resources[0].configEntries.find(e => e.configName === name)
    check(entry('retention.ms'), `describeConfigs lacks retention.ms (has ${resources[0].configEntries.map(e => e.configName)})`)
    checkEq([entry('retention.ms').configValue, entry('retention.ms').isDefault], [ADMIN_RETENTION_MS, false], 'retention.ms: value, isDefault')
    checkEq(entry('cleanup.policy').configValue, 'delete', 'cleanup.policy')
    check(entry('segment.bytes'), 'describeConfigs lacks segment.bytes')
    checkEq(entry('segment.bytes').isDefault, true, 'segment.bytes isDefault')
    // Only the keys asked for, when asked by name.
    const named = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    })
    checkEq(named.resources[0].configEntries.map(e => [e.configName, e.configValue]), [['retention.ms', ADMIN_RETENTION_MS]],
      'describeConfigs of retention.ms alone')

    // Not checked: describeConfigs of the BROKER resource. Kafka answers with broker key
    // names (log.retention.ms, message.max.bytes, num.partitions, ...); seedlog answers with
    // the topic-level names (retention.ms, ...), so asking for `log.retention.ms` by name
    // gets nothing back. A gap in seedlog's DescribeConfigs, not in kafkajs.

    // createPartitions: 2 -> 5; the new partitions take records.
    await admin.createPartitions({ topicPartitions: [{ topic, count: ADMIN_GROWN_PARTITIONS }] })
    const grown = await admin.fetchTopicMetadata({ topics: [topic] })
    checkEq(grown.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2, 3, 4], 'partitions after createPartitions')
    const p = producer()
    await p.connect()
    const sent = await p.send({ topic, acks: -1, messages: [{ partition: 4, value: valueOf(0) }] })
    checkEq(sent.map(r => [r.partition, r.baseOffset]), [[4, '0']], 'a record on new partition 4')
    const offsets = await admin.fetchTopicOffsets(topic)
    checkEq(offsets.map(o => [o.partition, o.low, o.high]).sort(),
      [[0, '0', '0'], [1, '0', '0'], [2, '0', '0'], [3, '0', '0'], [4, '0', '1']], 'fetchTopicOffsets after growing')

    // deleteTopics: gone from listTopics and metadata.
    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
    const until = Date.now() + WAIT_MS
    while ((await admin.listTopics()).includes(topic)) {
      check(Date.now() < until, `${topic} still listed ${WAIT_MS} ms after deleteTopics`)
      await sleep(100)
    }
    // The name is free again: a new topic of that name starts empty, with its own configs.
    await createTopic(admin, topic, 1)
    const recreated = await admin.fetchTopicOffsets(topic)
    checkEq(recreated.map(o => [o.partition, o.low, o.high]), [[0, '0', '0']], 'fetchTopicOffsets of the re-created topic')
    const again = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    })
    checkEq(again.resources[0].configEntries.map(e => e.isDefault), [true], 'retention.ms isDefault on the re-created topic')
  })
}

/// Expect `promise` to fail with a Kafka error of `type` (kafkajs's name for the error code)
/// somewhere in the error or its nested errors; return that error.
async function expectKafkaError(promise, type, what) {
  let error = null
  try {
    await promise
  } catch (e) {
    error = e
  }
  check(error !== null, `${what}: succeeded, expected ${type}`)
  const found = []
  const walk = e => {
    if (!e || found.includes(e)) return
    found.push(e)
    for (const inner of [e.originalError, e.cause, ...(e.errors || [])]) walk(inner)
  }
  walk(error)
  const match = found.find(e => e.type === type)
  check(match, `${what}: expected ${type}, got ${found.map(e => `${e.name}(${e.type || ''}): ${e.message}`).join(' <- ')}`)
  return match
}

/// What the broker refuses, and with which error code kafkajs reports it.
async function adminErrors(args) {
  await withClients(args, async ({ admin }) => {
    const invalid = [
      ['bad/name', 'a name with a slash'],
      ['.', 'the name "."'],
      ['x'.repeat(250), 'a name of 250 characters'],
    ]
    for (const [name, what] of invalid) {
      const error = await expectKafkaError(admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }] }),
        'INVALID_TOPIC_EXCEPTION', `createTopics with ${what}`)
      checkEq(error.code, 17, `error code for ${what}`)
    }
    const topic = topicName('admin-errors')
    await expectKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 0 }] }), 'INVALID_PARTITIONS', 'createTopics with 0 partitions')
    await expectKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] }),
      'INVALID_REPLICATION_FACTOR', 'createTopics with replication factor 3 on one broker')
    await expectKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      'INVALID_CONFIG', 'createTopics with retention.ms=soon')
    await expectKafkaError(admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'no.such.config', value: '1' }] }] }),
      'INVALID_CONFIG', 'createTopics with an unknown config')
    // validateOnly: the checks run, nothing is created.
    checkEq(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic, numPartitions: 1 }] }), true, 'validateOnly createTopics')
    check(!(await admin.listTopics()).includes(topic), `validateOnly created ${topic}`)

    await createTopic(admin, topic, 3)
    await expectKafkaError(admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] }), 'INVALID_PARTITIONS', 'createPartitions to fewer partitions')
    await expectKafkaError(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }), 'INVALID_PARTITIONS', 'createPartitions to as many partitions')
    const missing = topicName('admin-errors', 'missing')
    await expectKafkaError(admin.createPartitions({ topicPartitions: [{ topic: missing, count: 4 }] }), 'UNKNOWN_TOPIC_OR_PARTITION', 'createPartitions of a missing topic')
    await expectKafkaError(admin.deleteTopics({ topics: [missing], timeout: 5000 }), 'UNKNOWN_TOPIC_OR_PARTITION', 'deleteTopics of a missing topic')
    await expectKafkaError(admin.fetchTopicOffsets(missing), 'UNKNOWN_TOPIC_OR_PARTITION', 'fetchTopicOffsets of a missing topic')
  }, { retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 } })  // kafkajs retries a missing topic: briefly
}

/// A record larger than the broker's message.max.bytes (1 MiB by default) is refused with
/// MESSAGE_TOO_LARGE, and nothing is written.
async function oversized(args) {
  await withClients(args, async ({ admin, producer }) => {
    const topic = topicName('oversized')
    await createTopic(admin, topic, 1)
    const p = producer({ retry: { retries: 0 } })
    await p.connect()
    const error = await expectKafkaError(p.send({ topic, acks: -1, messages: [{ value: 'x'.repeat(OVERSIZED_BYTES) }] }),
      'MESSAGE_TOO_LARGE', `a ${OVERSIZED_BYTES}-byte record`)
    checkEq(error.code, 10, 'error code of the oversized record')
    const sent = await p.send({ topic, acks: -1, messages: [{ value: valueOf(0) }] })
    checkEq(sent.map(r => r.baseOffset), ['0'], 'base offset of a normal record after the oversized one')
  })
}

const CASES = {
  'produce-consume': produceConsume,
  acks,
  compression,
  idempotent,
  'list-offsets-by-time': listOffsetsByTime,
  admin: adminCase,
  'admin-errors': adminErrors,
  oversized,
}

function usage(message) {
  process.stderr.write(`${message}\nusage: node tests/clients/kafkajs_client.js --bootstrap HOST:PORT --case ` +
    `{${[...Object.keys(CASES), 'all'].join(',')}} [--verbose]\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const args = { bootstrap: null, case: null, verbose: false }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    if (flag === '--verbose') args.verbose = true
    else if (flag === '--bootstrap' || flag === '--case') {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`)
      args[flag.slice(2)] = argv[++i]
    } else usage(`unknown argument ${flag}`)
  }
  if (!args.bootstrap) usage('--bootstrap is required')
  if (!args.case) usage('--case is required')
  if (args.case !== 'all' && !(args.case in CASES)) usage(`unknown case ${args.case}`)
  return args
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const chosen = args.case === 'all' ? Object.keys(CASES) : [args.case]
  const failed = []
  for (const name of chosen) {
    const started = Date.now()
    let timer
    const watchdog = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: case did not finish within ${CASE_TIMEOUT_MS / 1000} s`)), CASE_TIMEOUT_MS)
    })
    try {
      await Promise.race([CASES[name](args), watchdog])
      process.stdout.write(`PASS kafkajs ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`)
    } catch (error) {
      failed.push(name)
      if (error instanceof CheckFailed) {
        process.stderr.write(`FAIL kafkajs ${name}: ${error.message}\n`)
      } else {
        process.stderr.write(`FAIL kafkajs ${name}: ${error.name}${error.type ? ` (${error.type})` : ''}: ${error.message}\n${error.stack}\n`)
      }
    } finally {
      clearTimeout(timer)
    }
  }
  // Exit now: a connection kafkajs left open (after a timeout, say) must not keep us alive.
  process.exit(failed.length ? 1 : 0)
}

main().catch(error => {
  process.stderr.write(`kafkajs_client: ${error.stack || error}\n`)
  process.exit(1)
})
