// Committing a group's offsets from outside any group protocol, shared by
// POST /groups/{g}/offsets (groups_handler.cpp) and POST
// /groups/{g}/offsets/reset (group_admin_handler.cpp): both answer the
// kernel's refusal the same way (409 while the group has live members of a
// group protocol, e.g. Kafka consumers).
#pragma once

#include <boost/asio/post.hpp>
#include <string>
#include <utility>
#include <vector>

#include "checked_broker.hpp"
#include "errors.hpp"
#include "exchange.hpp"
#include "services.hpp"

namespace keel::web {

inline nlohmann::json offset_json(const GroupOffset& o) {
  return {{"topic", o.topic}, {"partition", o.partition}, {"offset", o.offset}, {"metadata", o.metadata}};
}

// Commits, then answers with make_answer() or with the kernel's refusal.
// The kernel completes a commit on the flusher thread once it is synced;
// the answer is built on the connection's strand, not there.
template <class MakeAnswer>
void commit_then(const ExchangePtr& x, const std::string& group, const std::vector<GroupOffset>& offsets,
                 MakeAnswer make_answer) {
  x->services.broker.commit_offsets(
      group, offsets, [x, make_answer](keel_status s, const std::string& message) mutable {
        boost::asio::post(x->executor, [x, make_answer = std::move(make_answer), s, message]() mutable {
          if (s != KEEL_OK) {
            const HttpError e = from_status(s, message);
            return x->respond(error_response(e.status(), e.code(), e.what()));
          }
          x->guarded([&] { x->respond(make_answer()); });
        });
      });
}

}  // namespace keel::web
