// keel-admin topic produce / topic consume: records from stdin to a topic
// and back, kcat-style (-K key delimiter, -H headers, --format tokens).
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <deque>
#include <iostream>
#include <optional>
#include <set>
#include <string>

#include "client.hpp"
#include "commands.hpp"

namespace keel::admin {

namespace {

// ------------------------------------------------------------------ produce

struct Delivery {
  size_t line = 0;  // 1-based input line (or 1 for -v)
  bool done = false;
  int32_t partition = -1;
  int64_t offset = -1;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* d = static_cast<Delivery*>(m->_private);
  d->done = true;
  d->partition = m->partition;
  d->offset = m->offset;
  d->err = m->err;
}

// Fails the command when the topic is not there (rather than waiting for
// the delivery timeout on every record).
void require_topic(Client& c, const std::string& topic) {
  Metadata md = c.metadata(topic.c_str());
  if (md->topic_cnt != 1 || md->topics[0].err) {
    rd_kafka_resp_err_t err =
        md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    throw Failure("topic '" + topic + "': " + error_text(err) +
                  (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                       ? " (create it first: keel-admin topic create " + topic + ")"
                       : ""));
  }
}

int produce(const Parsed& p) {
  const std::string& topic = p.args[0];
  const long long partition = p.integer("partition", RD_KAFKA_PARTITION_UA);
  if (partition < RD_KAFKA_PARTITION_UA || partition > INT32_MAX)
    throw UsageError("--partition takes a partition number");
  const std::string delim = p.get("key-delimiter");
  if (p.has("key-delimiter") && delim.empty())
    throw UsageError("-K/--key-delimiter takes a non-empty string");
  if (p.has("key-delimiter") && p.has("key")) throw UsageError("give either -k/--key or -K/--key-delimiter");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& h : p.all("header")) headers.push_back(key_value(h, "-H/--header"));

  Client c(p.common, Client::Kind::producer, {{"message.timeout.ms", std::to_string(p.common.timeout_ms)}},
           [](rd_kafka_conf_t* conf) { rd_kafka_conf_set_dr_msg_cb(conf, on_delivery); });
  require_topic(c, topic);

  std::deque<Delivery> sent;  // stable addresses: each record's opaque
  auto send = [&](size_t line, const std::optional<std::string>& key, const std::string& value) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [k, v] : headers) rd_kafka_header_add(hdrs, k.data(), k.size(), v.data(), v.size());
    }
    sent.push_back({line});
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          c.handle(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(static_cast<int32_t>(partition)),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)), RD_KAFKA_V_HEADERS(hdrs),
          RD_KAFKA_V_OPAQUE(&sent.back()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(c.handle(), 100);  // deliveries make room
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);  // owned by the message only on success
        sent.back().done = true;
        sent.back().err = err;
      }
      break;
    }
    rd_kafka_poll(c.handle(), 0);
  };

  if (p.has("value")) {
    send(1, p.has("key") ? std::optional(p.get("key")) : std::nullopt, p.get("value"));
  } else {
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (!delim.empty()) {
        auto at = line.find(delim);
        if (at == std::string::npos) {
          send(n, std::nullopt, line);
        } else {
          send(n, line.substr(0, at), line.substr(at + delim.size()));
        }
      } else {
        send(n, p.has("key") ? std::optional(p.get("key")) : std::nullopt, line);
      }
    }
  }
  // message.timeout.ms bounds every delivery; the margin lets the last
  // reports arrive.
  rd_kafka_flush(c.handle(), p.common.timeout_ms + 5000);

  int rc = kExitOk;
  Table table({"TOPIC", "PARTITION", "OFFSET"});
  Json doc = Json::array();
  for (const auto& d : sent) {
    if (!d.done || d.err) {
      rc = kExitFailure;
      std::string why =
          d.done ? error_text(d.err) : "not delivered within " + std::to_string(p.common.timeout_ms) + " ms";
      report_error("topic produce", "record " + std::to_string(d.line) + " to topic '" + topic + "'", why);
      doc.push_back(
          {{"topic", topic},
           {"partition", nullptr},
           {"offset", nullptr},
           {"error", d.done ? error_json(d.err, nullptr) : Json{{"code", "_TIMED_OUT"}, {"message", why}}}});
      continue;
    }
    table.add({topic, std::to_string(d.partition), std::to_string(d.offset)});
    doc.push_back({{"topic", topic}, {"partition", d.partition}, {"offset", d.offset}, {"error", nullptr}});
  }
  print_output(std::cout, p.common.output(), table, doc);
  return rc;
}

// ------------------------------------------------------------------ consume

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// kcat's -f: %t topic, %p partition, %o offset, %k key, %s value, %K and %S
// their lengths, %T timestamp (ms), %h headers (k=v,...), %% a percent;
// \n \r \t \\ escapes.
class RecordFormat {
 public:
  explicit RecordFormat(const std::string& spec) {
    for (size_t i = 0; i < spec.size(); ++i) {
      char ch = spec[i];
      if (ch == '\\' && i + 1 < spec.size()) {
        char e = spec[++i];
        literal(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e);
      } else if (ch == '%' && i + 1 < spec.size()) {
        char t = spec[++i];
        if (std::string("tpokKsSTh").find(t) == std::string::npos) {
          if (t != '%')
            throw UsageError(std::string("--format: unknown token '%") + t + "'",
                             "tokens: %t %p %o %k %K %s %S %T %h %%, or --format json");
          literal('%');
        } else {
          parts_.push_back({t, {}});
        }
      } else {
        literal(ch);
      }
    }
  }

  std::string render(const rd_kafka_message_t* m) const {
    std::string out;
    for (const auto& [token, text] : parts_) {
      switch (token) {
        case 0:
          out += text;
          break;
        case 't':
          out += rd_kafka_topic_name(m->rkt);
          break;
        case 'p':
          out += std::to_string(m->partition);
          break;
        case 'o':
          out += std::to_string(m->offset);
          break;
        case 'k':
          out.append(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
          break;
        case 'K':
          out += m->key ? std::to_string(m->key_len) : "-1";
          break;
        case 's':
          out.append(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
          break;
        case 'S':
          out += m->payload ? std::to_string(m->len) : "-1";
          break;
        case 'T':
          out += std::to_string(rd_kafka_message_timestamp(m, nullptr));
          break;
        case 'h': {
          rd_kafka_headers_t* hdrs = nullptr;
          if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
          const char* name;
          const void* value;
          size_t size;
          for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i) {
            out += (i ? "," : "") + std::string(name) + "=";
            if (value) out.append(static_cast<const char*>(value), size);
          }
          break;
        }
      }
    }
    return out;
  }

 private:
  void literal(char c) {
    if (parts_.empty() || parts_.back().first != 0) parts_.push_back({0, {}});
    parts_.back().second += c;
  }
  std::vector<std::pair<char, std::string>> parts_;
};

Json record_json(const rd_kafka_message_t* m) {
  auto bytes = [](const void* p, size_t n) {
    return p ? Json(std::string(static_cast<const char*>(p), n)) : Json(nullptr);
  };
  Json headers = Json::array();
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i) {
      headers.push_back({{"key", name}, {"value", bytes(value, size)}});
    }
  }
  return {{"topic", rd_kafka_topic_name(m->rkt)},
          {"partition", m->partition},
          {"offset", m->offset},
          {"timestamp", rd_kafka_message_timestamp(m, nullptr)},
          {"key", bytes(m->key, m->key_len)},
          {"value", bytes(m->payload, m->len)},
          {"headers", headers}};
}

// The reader of stdout went away (keel-admin ... | head -1): stop even when
// no record comes to find out by writing.
bool stdout_closed() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Errors after which consuming cannot go on.
bool fatal(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
         err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || err == RD_KAFKA_RESP_ERR__FATAL ||
         err == RD_KAFKA_RESP_ERR__AUTHENTICATION;
}

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

int consume(const Parsed& p) {
  const std::string& topic = p.args[0];
  const std::string group = p.get("group");
  const std::string offset = p.get("offset", "start");
  const long long count = p.integer("count", -1);
  const bool json = p.common.format == "json";
  const std::string fmt = p.common.format.empty() || p.common.format == "table" ? "%s\\n" : p.common.format;
  std::optional<RecordFormat> format;
  if (!json) format.emplace(fmt);
  const bool exit_at_end = p.has("exit");
  long long start = RD_KAFKA_OFFSET_BEGINNING;
  if (offset == "end") {
    start = RD_KAFKA_OFFSET_END;
  } else if (offset != "start" && offset != "beginning") {
    start = p.integer("offset", 0);
    if (start < 0) throw UsageError("--offset takes start, end or an offset >= 0; got '" + offset + "'");
    if (!group.empty())
      throw UsageError(
          "with -g, --offset takes start or end: where a group without committed offsets begins");
  }
  if (!group.empty() && (p.has("timestamp") || p.has("partition"))) {
    throw UsageError(
        "with -g the group assigns partitions and resumes at its committed offsets: drop "
        "--timestamp/--partition (use 'keel-admin group seek' to move the group)");
  }

  std::vector<std::pair<std::string, std::string>> defaults = {{"enable.partition.eof", "true"}};
  if (!group.empty()) {
    defaults.push_back({"group.id", group});
    defaults.push_back({"auto.offset.reset", start == RD_KAFKA_OFFSET_END ? "latest" : "earliest"});
    // Only what was printed is committed (stored after printing).
    defaults.push_back({"enable.auto.offset.store", "false"});
  } else {
    // librdkafka's consumer needs a group id even for assign(); nothing
    // is committed under it.
    defaults.push_back({"group.id", "keel-admin"});
    defaults.push_back({"enable.auto.commit", "false"});
  }
  Client c(p.common, Client::Kind::consumer, defaults);
  rd_kafka_t* rk = c.handle();
  rd_kafka_poll_set_consumer(rk);
  Metadata md = c.metadata(topic.c_str());
  if (md->topic_cnt != 1 || md->topics[0].err) {
    throw Failure(
        "topic '" + topic +
        "': " + error_text(md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
  }

  if (group.empty()) {
    std::vector<int> wanted;
    if (p.has("partition")) {
      wanted = int_list(p.get("partition"), "-p/--partition");
    } else {
      for (int i = 0; i < md->topics[0].partition_cnt; ++i) wanted.push_back(md->topics[0].partitions[i].id);
    }
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(wanted.size())));
    for (int part : wanted) {
      if (part >= md->topics[0].partition_cnt) {
        throw Failure("topic '" + topic + "' has no partition " + std::to_string(part) + " (it has " +
                      std::to_string(md->topics[0].partition_cnt) + ")");
      }
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), part)->offset =
          p.has("timestamp") ? p.integer("timestamp", 0) : start;
    }
    if (p.has("timestamp")) {
      // Offsets for the timestamp; -1 (none that late) means the end.
      rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list.get(), c.timeout_ms());
      if (err)
        throw Failure("offsets for timestamp " + p.get("timestamp") + " in '" + topic +
                      "': " + error_text(err));
      for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].err) {
          throw Failure("offset for timestamp in " + topic + "/" + std::to_string(list->elems[i].partition) +
                        ": " + error_text(list->elems[i].err));
        }
        if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_END;
      }
    }
    if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get()))
      throw Failure("assign: " + error_text(err));
  } else {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, list.get()))
      throw Failure("subscribe: " + error_text(err));
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::set<int32_t> at_end;
  auto all_at_end = [&] {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    PartitionList guard(assigned);
    if (assigned->cnt == 0) return false;
    for (int i = 0; i < assigned->cnt; ++i)
      if (!at_end.count(assigned->elems[i].partition)) return false;
    return true;
  };
  int rc = kExitOk;
  long long printed = 0;
  bool stored = false;
  while (!g_stop && (count < 0 || printed < count)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) {
      if (stdout_closed()) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      rd_kafka_message_destroy(m);
      if (exit_at_end && all_at_end()) break;
      continue;
    }
    if (m->err) {
      std::string what = m->rkt ? "topic '" + std::string(rd_kafka_topic_name(m->rkt)) + "' partition " +
                                      std::to_string(m->partition)
                                : (group.empty() ? "consumer" : "group '" + group + "'");
      report_error("topic consume", what, error_text(m->err, rd_kafka_message_errstr(m)));
      bool stop = fatal(m->err);
      rd_kafka_message_destroy(m);
      if (stop) {
        rc = kExitFailure;
        break;
      }
      continue;
    }
    at_end.erase(m->partition);
    std::string line = json ? json_line(record_json(m)) + "\n" : format->render(m);
    // A closed stdout (| head) ends the run: what was printed is committed.
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
      rd_kafka_message_destroy(m);
      break;
    }
    ++printed;
    if (!group.empty()) {
      rd_kafka_offset_store(m->rkt, m->partition, m->offset);
      stored = true;
    }
    rd_kafka_message_destroy(m);
  }
  if (!group.empty() && stored) {
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, nullptr, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      report_error("topic consume", "committing the offsets of group '" + group + "'", error_text(err));
      rc = kExitFailure;
    }
  }
  rd_kafka_consumer_close(rk);
  return rc;
}

}  // namespace

Command produce_command() {
  return {
      {"topic produce",
       "Produce records: one per line of stdin (or -v VALUE); prints each record's partition and offset.",
       "<topic> [flags]",
       {{"key", 'k', "KEY", "the key of every record (default: none)"},
        {"key-delimiter", 'K', "DELIM", "split each line at the first DELIM into key and value (kcat's -K)"},
        {"value", 'v', "VALUE", "produce one record with this value instead of reading stdin"},
        {"header", 'H', "KEY=VALUE", "a header on every record; repeatable", true},
        {"partition", 'p', "N", "the partition (default: by key, as Java clients place them)"}},
       {"echo hello | keel-admin topic produce orders",
        "printf 'k1:v1\\nk2:v2\\n' | keel-admin topic produce orders -K:",
        "keel-admin topic produce orders -v '{\"id\":1}' -k 1 -H source=cli"},
       1,
       1},
      produce};
}

Command consume_command() {
  return {{"topic consume",
           "Consume records and print them (kcat-like --format, or --format json: one object per line).",
           "<topic> [flags]",
           {{"offset", 'o', "start|end|N",
             "where to begin (default start); with -g: for partitions without a commit"},
            {"timestamp", 0, "MS", "begin at the first record at or after this time (ms since the epoch)"},
            {"partition", 'p', "N[,N...]", "only these partitions (default: all)"},
            {"group", 'g', "GROUP", "consume as a member of this group and commit what was printed"},
            {"count", 'n', "N", "exit after N records"},
            {"exit", 'e', "", "exit when every partition is at its end"}},
           {"keel-admin topic consume orders -e",
            "keel-admin topic consume orders -g billing -n 10 --format json",
            "keel-admin topic consume orders -o 42 -p 0 --format '%p:%o %k=%s\\n'"},
           1,
           1,
           true},
          consume};
}

}  // namespace keel::admin
