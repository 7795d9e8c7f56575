// Text from a client that the broker receives as a C string: topic names,
// group ids, offset metadata. A NUL would cut it short where it crosses the
// C ABI (so /topics/victim%00junk would act on topic `victim`), and bytes
// that are not UTF-8 cannot be shown in a JSON answer; both are refused with
// a 400 naming the parameter or field. Topic names also follow Kafka's rule.
#pragma once

#include <string>
#include <string_view>

namespace keel::web {

// HttpError 400 when `value` holds a NUL or is not valid UTF-8; `what`
// names it ("path parameter 'group'", "offsets[2].metadata").
void check_text(const std::string& what, std::string_view value);

// check_text, then Kafka's topic-name rule.
void check_topic_name(const std::string& what, std::string_view value);

// `value` fit for a message: bytes outside printable ASCII as \xNN, and cut
// after 64 characters with the full length given.
std::string shown(std::string_view value);

}  // namespace keel::web
