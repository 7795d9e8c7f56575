// Idempotent kafkajs producer for idempotent_producer_test.py: sends `sends`
// requests, each with `per` records to every partition 0..partitions-1
// (values "kjs-0000000".. numbered in send order), acks=-1, and prints
// "acked <first> <last>" once a send is acknowledged (its records are
// numbered first..last). Exits 0 when every send was acknowledged, 1 on the
// first send kafkajs gives up on (with the error on stderr).
//
// One send at a time: kafkajs hands sequences out per partition when a
// request is built and takes them back when the request fails, so two
// concurrent sends to a partition could swap sequences across a broker
// restart (a client-side hazard, not the broker's). Retries are kafkajs'
// own: an idempotent producer retries without limit, resending the same
// records with the same sequences, which is what the broker must
// deduplicate.
//
// usage: node kafkajs_idempotent_producer.js <modules dir> <bootstrap> <topic> <partitions> <sends> <per>
'use strict'

const path = require('path')

const [modules, bootstrap, topic, partitionsArg, sendsArg, perArg] = process.argv.slice(2)
if (!perArg) {
  console.error('usage: kafkajs_idempotent_producer.js <modules dir> <bootstrap> <topic> <partitions> <sends> <per>')
  process.exit(2)
}
const { Kafka, logLevel } = require(path.join(modules, 'kafkajs'))
const partitions = Number(partitionsArg)
const sends = Number(sendsArg)
const per = Number(perArg)

const value = n => 'kjs-' + String(n).padStart(7, '0')

async function main () {
  const kafka = new Kafka({
    clientId: 'keel-it-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    // Reconnecting while the broker restarts: short waits, many tries.
    retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 200 }
  })
  // No producer `retry`: with idempotent: true kafkajs then retries forever.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false })
  await producer.connect()
  let next = 0
  for (let s = 0; s < sends; s++) {
    const first = next
    const messages = []
    for (let p = 0; p < partitions; p++) {
      for (let i = 0; i < per; i++) messages.push({ partition: p, value: value(next++) })
    }
    try {
      await producer.send({ topic, acks: -1, messages })
    } catch (e) {
      console.error(`send of ${value(first)}..${value(next - 1)} failed: ${e.name}: ${e.message}`)
      process.exit(1)
    }
    console.log(`acked ${first} ${next - 1}`)
  }
  await producer.disconnect()
}

main().catch(e => {
  console.error(`kafkajs producer: ${e.name}: ${e.message}`)
  process.exit(1)
})
