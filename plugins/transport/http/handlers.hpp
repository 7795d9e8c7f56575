// The request handlers, one file per resource. Each reads its parameters
// from the exchange, throws HttpError/sdk::Error for a refusal (the router
// turns it into an answer) and answers through Exchange::respond, possibly
// later from another thread.
#pragma once

#include "exchange.hpp"

namespace keel::web {

// observability_handler.cpp
void handle_health(const ExchangePtr& x);
void handle_ready(const ExchangePtr& x);
void handle_metrics(const ExchangePtr& x);
void handle_partition(const ExchangePtr& x);

// cluster_handler.cpp
void handle_cluster(const ExchangePtr& x);

// topics_handler.cpp
void handle_list_topics(const ExchangePtr& x);
void handle_create_topic(const ExchangePtr& x);
void handle_describe_topic(const ExchangePtr& x);
void handle_delete_topic(const ExchangePtr& x);

// topic_admin_handler.cpp
void handle_create_partitions(const ExchangePtr& x);
void handle_delete_records(const ExchangePtr& x);

// produce_handler.cpp
void handle_produce(const ExchangePtr& x);
void handle_init_producer(const ExchangePtr& x);

// consume_handler.cpp
void handle_consume(const ExchangePtr& x);

// groups_handler.cpp
void handle_list_groups(const ExchangePtr& x);
void handle_delete_group(const ExchangePtr& x);
void handle_group_offsets(const ExchangePtr& x);
void handle_commit_offsets(const ExchangePtr& x);
void handle_group_lag(const ExchangePtr& x);
void handle_group_fetch(const ExchangePtr& x);

// group_admin_handler.cpp
void handle_describe_group(const ExchangePtr& x);
void handle_reset_offsets(const ExchangePtr& x);

// plugins_handler.cpp
void handle_plugins(const ExchangePtr& x);

// segments_handler.cpp
void handle_segments(const ExchangePtr& x);

// console_handler.cpp
void handle_console(const ExchangePtr& x);
void handle_console_root(const ExchangePtr& x);

}  // namespace keel::web
