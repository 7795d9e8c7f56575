// ABI 2.2 slots of the broker API table: admin operations on topics and
// the log directory.
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "broker_api_support.hpp"

namespace keel {

void add_admin_api(keel_broker_api* api) {
  api->create_partitions = [](void* ctx, const char* topic, int32_t partition_count, int32_t validate_only,
                              keel_error* err) {
    return guard(err,
                 [&] { B(ctx).create_partitions(topic ? topic : "", partition_count, validate_only != 0); });
  };
  api->delete_records = [](void* ctx, const char* topic, int32_t partition, int64_t offset,
                           int64_t* low_watermark, keel_error* err) {
    return guard(err, [&] {
      const int64_t start = B(ctx).delete_records(topic ? topic : "", partition, offset);
      if (low_watermark != nullptr) *low_watermark = start;
    });
  };
  api->log_dir = [](void* ctx, keel_log_dir_info* out, keel_error* err) {
    return guard(err, [&] {
      if (out == nullptr) fail(KEEL_ERR_INVALID_ARGUMENT, "keel_log_dir_info is NULL");
      keel_log_dir_info info{};
      info.struct_size = sizeof info;
      info.path = B(ctx).config().data_dir.c_str();
      info.total_bytes = -1;
      info.usable_bytes = -1;
      struct statvfs st {};
      if (::statvfs(info.path, &st) == 0) {
        info.total_bytes = static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize);
        info.usable_bytes = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
      }
      keel_copy_out(out, &info, sizeof info);
    });
  };
}

}  // namespace keel
