#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace keel {

std::string errno_text(int err) { return std::strerror(err); }

keel_status status_from_errno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return KEEL_ERR_NO_SPACE;
    case ENOENT:
      return KEEL_ERR_NOT_FOUND;
    default:
      return KEEL_ERR_IO;
  }
}

const char* status_name(keel_status s) {
  switch (s) {
    case KEEL_OK:
      return "ok";
    case KEEL_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case KEEL_ERR_NOT_FOUND:
      return "not found";
    case KEEL_ERR_ALREADY_EXISTS:
      return "already exists";
    case KEEL_ERR_IO:
      return "I/O error";
    case KEEL_ERR_CORRUPT:
      return "corrupt data";
    case KEEL_ERR_OUT_OF_RANGE:
      return "out of range";
    case KEEL_ERR_UNSUPPORTED:
      return "unsupported";
    case KEEL_ERR_INTERNAL:
      return "internal error";
    case KEEL_ERR_UNAVAILABLE:
      return "unavailable";
    case KEEL_ERR_NO_SPACE:
      return "no space left on device";
    case KEEL_ERR_TOO_LARGE:
      return "too large";
    case KEEL_ERR_INVALID_NAME:
      return "invalid name";
    case KEEL_ERR_FENCED:
      return "fenced";
    case KEEL_ERR_OUT_OF_ORDER:
      return "out of order sequence";
    case KEEL_ERR_UNKNOWN_PRODUCER:
      return "unknown producer";
    case KEEL_ERR_UNKNOWN_MEMBER:
      return "unknown member";
    case KEEL_ERR_NOT_LEADER:
      return "not leader";
    case KEEL_ERR_NOT_ENOUGH_REPLICAS:
      return "not enough replicas";
    case KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return "not enough replicas after append";
    case KEEL_ERR_TIMED_OUT:
      return "timed out";
    case KEEL_ERR_AUTHENTICATION:
      return "authentication failed";
  }
  return "unknown status";
}

}  // namespace keel
