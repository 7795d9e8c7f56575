// kafkajs client for kafkajs_security_test.py: one operation per run over
// SASL_SSL (SCRAM-SHA-256 or SCRAM-SHA-512), the broker's certificate
// checked against the test CA (ssl: { ca: [pem] }). It prints one JSON line:
//   {"ok": true, "result": ...}    the operation succeeded
//   {"ok": false, "error": {...}}  kafkajs threw: name, type, code,
//                                  retriable, message and its cause chain
// and exits 0 either way (the test decides what was expected); any other
// exit status is a failure of this program.
//
// usage: node kafkajs_security.js <modules dir> '<json spec>'
// spec: { bootstrap, ca (a PEM file), mechanism ("scram-sha-256" |
//         "scram-sha-512"), user, password, op, ...the op's arguments }
// ops:
//   produce       { topic, values, idempotent }: one send, acks -1;
//                 result [{ partition, baseOffset }] as kafkajs reports
//   consume       { topic, group, count, timeoutMs }: a consumer in `group`
//                 subscribed from the beginning reads until it has `count`
//                 records (or timeoutMs passes), commits the offsets after
//                 them, leaves the group; result { values, partitions:
//                 { p: [values in order] }, committed: { p: offset } }
//   createAcls    { acl: [binding] }: admin.createAcls; result true
//   describeAcls  { filter }: admin.describeAcls; result its resources
//   deleteAcls    { filters }: admin.deleteAcls; result its filterResponses
//   topicOffsets  { topic }: admin.fetchTopicOffsets; result
//                 [{ partition, offset, high, low }]
// Bindings and filters name their enums (resourceType "TOPIC", operation
// "WRITE", ...): they are mapped through kafkajs' own AclResourceTypes,
// AclOperationTypes, AclPermissionTypes and ResourcePatternTypes, and the
// numbers in results are mapped back to names.
'use strict'

const fs = require('fs')
const path = require('path')

const [modules, specArg] = process.argv.slice(2)
if (!specArg) {
  console.error("usage: kafkajs_security.js <modules dir> '<json spec>'")
  process.exit(2)
}
const kafkajs = require(path.join(modules, 'kafkajs'))
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs
const spec = JSON.parse(specArg)

const ENUMS = {
  resourceType: AclResourceTypes,
  operation: AclOperationTypes,
  permissionType: AclPermissionTypes,
  resourcePatternType: ResourcePatternTypes
}

// Names -> kafkajs' numbers (unknown names fail loudly).
function toKafkajs (binding) {
  const out = { ...binding }
  for (const [field, values] of Object.entries(ENUMS)) {
    if (field in out) {
      if (!(out[field] in values)) throw new Error(`unknown ${field} ${out[field]}`)
      out[field] = values[out[field]]
    }
  }
  return out
}

// kafkajs' numbers -> names, in any nesting of results.
function fromKafkajs (value) {
  if (Array.isArray(value)) return value.map(fromKafkajs)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const [k, v] of Object.entries(value)) {
    if (k in ENUMS && typeof v === 'number') {
      const name = Object.keys(ENUMS[k]).find(n => ENUMS[k][n] === v)
      out[k] = name === undefined ? v : name
    } else {
      out[k] = fromKafkajs(v)
    }
  }
  return out
}

function describeError (e, depth = 0) {
  if (!e || depth > 5) return null
  return {
    name: e.name,
    type: e.type,
    code: e.code,
    retriable: e.retriable,
    message: e.message,
    cause: describeError(e.cause || e.originalError, depth + 1)
  }
}

function client () {
  return new Kafka({
    clientId: `keel-it-kafkajs-security-${spec.user}`,
    brokers: [spec.bootstrap],
    ssl: { ca: [fs.readFileSync(spec.ca, 'utf-8')] },
    sasl: { mechanism: spec.mechanism, username: spec.user, password: spec.password },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    authenticationTimeout: 5000,
    requestTimeout: 15000,
    // Errors kafkajs retries (a connection refused, a coordinator not yet
    // known) get a few short tries; authorization and authentication
    // errors are not retriable in kafkajs and come back at once.
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 }
  })
}

async function produce (kafka) {
  const producer = kafka.producer({ idempotent: !!spec.idempotent, allowAutoTopicCreation: false })
  try {
    // An idempotent producer's connect() sends InitProducerId.
    await producer.connect()
    const messages = spec.values.map(value => ({ value }))
    const sent = await producer.send({ topic: spec.topic, acks: -1, messages })
    return sent.map(({ partition, baseOffset, errorCode }) => ({ partition, baseOffset: Number(baseOffset), errorCode }))
  } finally {
    await producer.disconnect()
  }
}

async function consume (kafka) {
  const consumer = kafka.consumer({ groupId: spec.group, maxWaitTimeInMs: 200, retry: { retries: 3 } })
  const values = []
  const partitions = {}
  const next = {} // partition -> the offset to commit
  let failed = null
  let done
  const finished = new Promise(resolve => { done = resolve })
  consumer.on(consumer.events.CRASH, ({ payload }) => { failed = payload.error; done() })
  try {
    await consumer.connect()
    await consumer.subscribe({ topic: spec.topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const value = message.value.toString()
        values.push(value)
        if (!partitions[partition]) partitions[partition] = []
        partitions[partition].push(value)
        next[partition] = (BigInt(message.offset) + 1n).toString()
        if (values.length >= spec.count) done()
      }
    })
    const timer = setTimeout(done, spec.timeoutMs)
    await finished
    clearTimeout(timer)
    if (!failed && values.length) {
      await consumer.commitOffsets(Object.entries(next).map(([partition, offset]) =>
        ({ topic: spec.topic, partition: Number(partition), offset })))
    }
  } finally {
    await consumer.disconnect()
  }
  if (failed) throw failed
  return { values, partitions, committed: next }
}

async function withAdmin (kafka, fn) {
  const admin = kafka.admin()
  try {
    await admin.connect()
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

const OPS = {
  produce,
  consume,
  createAcls: kafka => withAdmin(kafka, admin => admin.createAcls({ acl: spec.acl.map(toKafkajs) })),
  describeAcls: kafka => withAdmin(kafka, async admin => (await admin.describeAcls(toKafkajs(spec.filter))).resources),
  deleteAcls: kafka => withAdmin(kafka, async admin =>
    (await admin.deleteAcls({ filters: spec.filters.map(toKafkajs) })).filterResponses),
  topicOffsets: kafka => withAdmin(kafka, admin => admin.fetchTopicOffsets(spec.topic))
}

async function main () {
  const op = OPS[spec.op]
  if (!op) throw new Error(`unknown op ${spec.op}`)
  let report
  try {
    report = { ok: true, result: fromKafkajs(await op(client())) }
  } catch (e) {
    report = { ok: false, error: describeError(e) }
  }
  console.log(JSON.stringify(report))
  // Sockets or timers a failed kafkajs client left behind must not keep
  // this process alive.
  process.exit(0)
}

main().catch(e => {
  console.error(`kafkajs_security: ${e.stack || e}`)
  process.exit(1)
})
