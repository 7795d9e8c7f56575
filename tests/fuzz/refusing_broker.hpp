// The broker the Kafka request fuzzer dispatches against: it knows one topic
// ("fuzz", 2 partitions, empty) and refuses every change, so each input runs
// the transport's parsing and answering code without writing anything (a
// real broker would fill the disk with topics named by random bytes; the
// kernel's own input paths have their own targets). A handler that fails
// with anything but a protocol error (logged as "<API> handler failed for")
// met input it should have refused as malformed: the host aborts, which
// libFuzzer reports as a crash with the input saved.
#pragma once

#include <keel/plugin.h>

namespace keel::fuzz {

const keel_host* refusing_host();
const keel_broker_api* refusing_broker();

}  // namespace keel::fuzz
