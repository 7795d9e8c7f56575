// The layout of every struct of the plugin ABI (keel/plugin.h), pinned on
// this platform (x86-64 / aarch64 Linux, LP64): sizeof of each struct and
// offsetof/sizeof of each of its fields, in declaration order. A change to
// plugin.h that moves, resizes or removes anything fails here.
//
// Within ABI 2.x this table may only ever GROW AT THE END OF A STRUCT (a
// minor version appends fields; rule 1 of plugin.h). Never edit a row above
// the last one of a struct; a new major version starts a new table.
//
// A second test checks rule 3 on the real layout: no struct has implicit
// padding (each field starts where the previous one ends, the last one ends
// at sizeof) and every size is a multiple of 8.
#include <gtest/gtest.h>
#include <keel/plugin.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace {

static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "the golden table is for LP64 platforms");

// One row: a struct (field empty) or one of its fields. `actual_*` come from
// the compiler, `golden_*` from the table.
struct Row {
  const char* type;
  const char* field;  // "" for the struct's own row
  size_t actual_offset;
  size_t actual_size;
  size_t golden_offset;
  size_t golden_size;
};

#define STRUCT(T, size) \
  Row { #T, "", 0, sizeof(T), 0, size }
#define FIELD(T, f, offset, size) \
  Row { #T, #f, offsetof(T, f), sizeof(((T*)nullptr)->f), offset, size }

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      // keel_error
      STRUCT(keel_error, 512),
      FIELD(keel_error, message, 0, 512),
      // keel_host
      STRUCT(keel_host, 72),
      FIELD(keel_host, struct_size, 0, 4),
      FIELD(keel_host, reserved, 4, 4),
      FIELD(keel_host, ctx, 8, 8),
      FIELD(keel_host, log, 16, 8),
      FIELD(keel_host, now_ms, 24, 8),
      FIELD(keel_host, monotonic_ns, 32, 8),
      FIELD(keel_host, config_get_int, 40, 8),
      FIELD(keel_host, config_get_double, 48, 8),
      FIELD(keel_host, config_get_bool, 56, 8),
      FIELD(keel_host, config_get_string, 64, 8),
      // keel_index_open_args
      STRUCT(keel_index_open_args, 40),
      FIELD(keel_index_open_args, struct_size, 0, 4),
      FIELD(keel_index_open_args, writable, 4, 4),
      FIELD(keel_index_open_args, path_prefix, 8, 8),
      FIELD(keel_index_open_args, base_offset, 16, 8),
      FIELD(keel_index_open_args, log_size, 24, 8),
      FIELD(keel_index_open_args, config, 32, 8),
      // keel_batch_info
      STRUCT(keel_batch_info, 40),
      FIELD(keel_batch_info, struct_size, 0, 4),
      FIELD(keel_batch_info, size, 4, 4),
      FIELD(keel_batch_info, base_offset, 8, 8),
      FIELD(keel_batch_info, last_offset, 16, 8),
      FIELD(keel_batch_info, max_timestamp, 24, 8),
      FIELD(keel_batch_info, position, 32, 8),
      // keel_index_entry
      STRUCT(keel_index_entry, 32),
      FIELD(keel_index_entry, struct_size, 0, 4),
      FIELD(keel_index_entry, reserved, 4, 4),
      FIELD(keel_index_entry, offset, 8, 8),
      FIELD(keel_index_entry, position, 16, 8),
      FIELD(keel_index_entry, timestamp, 24, 8),
      // keel_index_vtable
      STRUCT(keel_index_vtable, 88),
      FIELD(keel_index_vtable, struct_size, 0, 4),
      FIELD(keel_index_vtable, capabilities, 4, 4),
      FIELD(keel_index_vtable, open, 8, 8),
      FIELD(keel_index_vtable, recovery_position, 16, 8),
      FIELD(keel_index_vtable, on_append, 24, 8),
      FIELD(keel_index_vtable, lookup_offset, 32, 8),
      FIELD(keel_index_vtable, lookup_time, 40, 8),
      FIELD(keel_index_vtable, truncate, 48, 8),
      FIELD(keel_index_vtable, flush, 56, 8),
      FIELD(keel_index_vtable, seal, 64, 8),
      FIELD(keel_index_vtable, entry_count, 72, 8),
      FIELD(keel_index_vtable, close, 80, 8),
      // keel_segment_info
      STRUCT(keel_segment_info, 48),
      FIELD(keel_segment_info, struct_size, 0, 4),
      FIELD(keel_segment_info, reserved, 4, 4),
      FIELD(keel_segment_info, base_offset, 8, 8),
      FIELD(keel_segment_info, next_offset, 16, 8),
      FIELD(keel_segment_info, size_bytes, 24, 8),
      FIELD(keel_segment_info, max_timestamp, 32, 8),
      FIELD(keel_segment_info, last_modified_ms, 40, 8),
      // keel_retention_vtable
      STRUCT(keel_retention_vtable, 48),
      FIELD(keel_retention_vtable, struct_size, 0, 4),
      FIELD(keel_retention_vtable, reserved, 4, 4),
      FIELD(keel_retention_vtable, create, 8, 8),
      FIELD(keel_retention_vtable, select, 16, 8),
      FIELD(keel_retention_vtable, destroy, 24, 8),
      FIELD(keel_retention_vtable, rewrite, 32, 8),
      FIELD(keel_retention_vtable, requires_keys, 40, 8),
      // keel_log_rewriter
      STRUCT(keel_log_rewriter, 112),
      FIELD(keel_log_rewriter, struct_size, 0, 4),
      FIELD(keel_log_rewriter, partition, 4, 4),
      FIELD(keel_log_rewriter, ctx, 8, 8),
      FIELD(keel_log_rewriter, topic, 16, 8),
      FIELD(keel_log_rewriter, segments, 24, 8),
      FIELD(keel_log_rewriter, segment_count, 32, 8),
      FIELD(keel_log_rewriter, segment_size, 40, 8),
      FIELD(keel_log_rewriter, clean_offset, 48, 8),
      FIELD(keel_log_rewriter, segment_bytes, 56, 8),
      FIELD(keel_log_rewriter, read_segment, 64, 8),
      FIELD(keel_log_rewriter, begin, 72, 8),
      FIELD(keel_log_rewriter, write, 80, 8),
      FIELD(keel_log_rewriter, commit, 88, 8),
      FIELD(keel_log_rewriter, abort, 96, 8),
      FIELD(keel_log_rewriter, stopping, 104, 8),
      // keel_partitioner_vtable
      STRUCT(keel_partitioner_vtable, 32),
      FIELD(keel_partitioner_vtable, struct_size, 0, 4),
      FIELD(keel_partitioner_vtable, reserved, 4, 4),
      FIELD(keel_partitioner_vtable, create, 8, 8),
      FIELD(keel_partitioner_vtable, partition, 16, 8),
      FIELD(keel_partitioner_vtable, destroy, 24, 8),
      // keel_topic_info
      STRUCT(keel_topic_info, 24),
      FIELD(keel_topic_info, struct_size, 0, 4),
      FIELD(keel_topic_info, partition_count, 4, 4),
      FIELD(keel_topic_info, name, 8, 8),
      FIELD(keel_topic_info, internal, 16, 4),
      FIELD(keel_topic_info, reserved, 20, 4),
      // keel_watermarks
      STRUCT(keel_watermarks, 32),
      FIELD(keel_watermarks, struct_size, 0, 4),
      FIELD(keel_watermarks, reserved, 4, 4),
      FIELD(keel_watermarks, log_start_offset, 8, 8),
      FIELD(keel_watermarks, high_watermark, 16, 8),
      FIELD(keel_watermarks, log_end_offset, 24, 8),
      // keel_produce_result
      STRUCT(keel_produce_result, 48),
      FIELD(keel_produce_result, struct_size, 0, 4),
      FIELD(keel_produce_result, status, 4, 4),
      FIELD(keel_produce_result, base_offset, 8, 8),
      FIELD(keel_produce_result, log_append_time, 16, 8),
      FIELD(keel_produce_result, log_start_offset, 24, 8),
      FIELD(keel_produce_result, message, 32, 8),
      FIELD(keel_produce_result, duplicate, 40, 4),
      FIELD(keel_produce_result, reserved, 44, 4),
      // keel_fetch_result
      STRUCT(keel_fetch_result, 56),
      FIELD(keel_fetch_result, struct_size, 0, 4),
      FIELD(keel_fetch_result, fd, 4, 4),
      FIELD(keel_fetch_result, file_position, 8, 8),
      FIELD(keel_fetch_result, length, 16, 8),
      FIELD(keel_fetch_result, log_start_offset, 24, 8),
      FIELD(keel_fetch_result, high_watermark, 32, 8),
      FIELD(keel_fetch_result, log_end_offset, 40, 8),
      FIELD(keel_fetch_result, pin, 48, 8),
      // keel_create_topic_args
      STRUCT(keel_create_topic_args, 24),
      FIELD(keel_create_topic_args, struct_size, 0, 4),
      FIELD(keel_create_topic_args, partitions, 4, 4),
      FIELD(keel_create_topic_args, name, 8, 8),
      FIELD(keel_create_topic_args, settings_toml, 16, 8),
      // keel_topic_details
      STRUCT(keel_topic_details, 88),
      FIELD(keel_topic_details, struct_size, 0, 4),
      FIELD(keel_topic_details, partition_count, 4, 4),
      FIELD(keel_topic_details, name, 8, 8),
      FIELD(keel_topic_details, partitioner, 16, 8),
      FIELD(keel_topic_details, index, 24, 8),
      FIELD(keel_topic_details, retention, 32, 8),
      FIELD(keel_topic_details, index_count, 40, 4),
      FIELD(keel_topic_details, retention_count, 44, 4),
      FIELD(keel_topic_details, segment_bytes, 48, 8),
      FIELD(keel_topic_details, segment_ms, 56, 8),
      FIELD(keel_topic_details, max_batch_bytes, 64, 8),
      FIELD(keel_topic_details, flush_mode, 72, 8),
      FIELD(keel_topic_details, declared, 80, 4),
      FIELD(keel_topic_details, reserved, 84, 4),
      // keel_partition_health
      STRUCT(keel_partition_health, 56),
      FIELD(keel_partition_health, struct_size, 0, 4),
      FIELD(keel_partition_health, reserved, 4, 4),
      FIELD(keel_partition_health, segment_count, 8, 8),
      FIELD(keel_partition_health, size_bytes, 16, 8),
      FIELD(keel_partition_health, oldest_timestamp, 24, 8),
      FIELD(keel_partition_health, newest_timestamp, 32, 8),
      FIELD(keel_partition_health, index_entries, 40, 8),
      FIELD(keel_partition_health, flushed_offset, 48, 8),
      // keel_offset_commit
      STRUCT(keel_offset_commit, 32),
      FIELD(keel_offset_commit, struct_size, 0, 4),
      FIELD(keel_offset_commit, partition, 4, 4),
      FIELD(keel_offset_commit, topic, 8, 8),
      FIELD(keel_offset_commit, offset, 16, 8),
      FIELD(keel_offset_commit, metadata, 24, 8),
      // keel_group_commit
      STRUCT(keel_group_commit, 48),
      FIELD(keel_group_commit, struct_size, 0, 4),
      FIELD(keel_group_commit, generation, 4, 4),
      FIELD(keel_group_commit, group, 8, 8),
      FIELD(keel_group_commit, member_id, 16, 8),
      FIELD(keel_group_commit, offsets, 24, 8),
      FIELD(keel_group_commit, offset_count, 32, 8),
      FIELD(keel_group_commit, offset_size, 40, 8),
      // keel_group_members
      STRUCT(keel_group_members, 80),
      FIELD(keel_group_members, struct_size, 0, 4),
      FIELD(keel_group_members, generation, 4, 4),
      FIELD(keel_group_members, group, 8, 8),
      FIELD(keel_group_members, member_ids, 16, 8),
      FIELD(keel_group_members, member_count, 24, 8),
      FIELD(keel_group_members, state, 32, 8),  // 2.6
      FIELD(keel_group_members, protocol_type, 40, 8),
      FIELD(keel_group_members, protocol, 48, 8),
      FIELD(keel_group_members, leader_id, 56, 8),
      FIELD(keel_group_members, members, 64, 8),
      FIELD(keel_group_members, member_size, 72, 8),
      // keel_group_member_info (2.6)
      STRUCT(keel_group_member_info, 56),
      FIELD(keel_group_member_info, struct_size, 0, 4),
      FIELD(keel_group_member_info, assignment_count, 4, 4),
      FIELD(keel_group_member_info, member_id, 8, 8),
      FIELD(keel_group_member_info, group_instance_id, 16, 8),
      FIELD(keel_group_member_info, client_id, 24, 8),
      FIELD(keel_group_member_info, client_host, 32, 8),
      FIELD(keel_group_member_info, assignment_topics, 40, 8),
      FIELD(keel_group_member_info, assignment_partitions, 48, 8),
      // keel_loaded_strategy (2.6)
      STRUCT(keel_loaded_strategy, 56),
      FIELD(keel_loaded_strategy, struct_size, 0, 4),
      FIELD(keel_loaded_strategy, kind, 4, 4),
      FIELD(keel_loaded_strategy, kind_name, 8, 8),
      FIELD(keel_loaded_strategy, name, 16, 8),
      FIELD(keel_loaded_strategy, plugin, 24, 8),
      FIELD(keel_loaded_strategy, version, 32, 8),
      FIELD(keel_loaded_strategy, path, 40, 8),
      FIELD(keel_loaded_strategy, abi_major, 48, 2),
      FIELD(keel_loaded_strategy, abi_minor, 50, 2),
      FIELD(keel_loaded_strategy, reserved, 52, 4),
      // keel_label
      STRUCT(keel_label, 16),
      FIELD(keel_label, name, 0, 8),
      FIELD(keel_label, value, 8, 8),
      // keel_init_producer_args
      STRUCT(keel_init_producer_args, 16),
      FIELD(keel_init_producer_args, struct_size, 0, 4),
      FIELD(keel_init_producer_args, transaction_timeout_ms, 4, 4),
      FIELD(keel_init_producer_args, transactional_id, 8, 8),
      // keel_producer_identity
      STRUCT(keel_producer_identity, 16),
      FIELD(keel_producer_identity, struct_size, 0, 4),
      FIELD(keel_producer_identity, epoch, 4, 4),
      FIELD(keel_producer_identity, producer_id, 8, 8),
      // keel_log_dir_info (2.2)
      STRUCT(keel_log_dir_info, 32),
      FIELD(keel_log_dir_info, struct_size, 0, 4),
      FIELD(keel_log_dir_info, reserved, 4, 4),
      FIELD(keel_log_dir_info, path, 8, 8),
      FIELD(keel_log_dir_info, total_bytes, 16, 8),
      FIELD(keel_log_dir_info, usable_bytes, 24, 8),
      // keel_broker_api
      STRUCT(keel_broker_api, 480),
      FIELD(keel_broker_api, struct_size, 0, 4),
      FIELD(keel_broker_api, reserved, 4, 4),
      FIELD(keel_broker_api, ctx, 8, 8),
      FIELD(keel_broker_api, list_topics, 16, 8),
      FIELD(keel_broker_api, describe_topic, 24, 8),
      FIELD(keel_broker_api, create_topic, 32, 8),
      FIELD(keel_broker_api, delete_topic, 40, 8),
      FIELD(keel_broker_api, auto_create_topics, 48, 8),
      FIELD(keel_broker_api, choose_partition, 56, 8),
      FIELD(keel_broker_api, topic_details, 64, 8),
      FIELD(keel_broker_api, produce, 72, 8),
      FIELD(keel_broker_api, fetch, 80, 8),
      FIELD(keel_broker_api, release_fetch, 88, 8),
      FIELD(keel_broker_api, watermarks, 96, 8),
      FIELD(keel_broker_api, offset_for_time, 104, 8),
      FIELD(keel_broker_api, watch, 112, 8),
      FIELD(keel_broker_api, unwatch, 120, 8),
      FIELD(keel_broker_api, partition_health, 128, 8),
      FIELD(keel_broker_api, commit_offsets, 136, 8),
      FIELD(keel_broker_api, fetch_offset, 144, 8),
      FIELD(keel_broker_api, group_offsets, 152, 8),
      FIELD(keel_broker_api, list_groups, 160, 8),
      FIELD(keel_broker_api, set_group_members, 168, 8),
      FIELD(keel_broker_api, store_group_metadata, 176, 8),
      FIELD(keel_broker_api, group_metadata, 184, 8),
      FIELD(keel_broker_api, counter_add, 192, 8),
      FIELD(keel_broker_api, gauge_set, 200, 8),
      FIELD(keel_broker_api, histogram_observe, 208, 8),
      FIELD(keel_broker_api, render_metrics, 216, 8),
      FIELD(keel_broker_api, ready, 224, 8),
      FIELD(keel_broker_api, reserve_request_bytes, 232, 8),
      FIELD(keel_broker_api, release_request_bytes, 240, 8),
      FIELD(keel_broker_api, init_producer_id, 248, 8),
      FIELD(keel_broker_api, delete_group, 256, 8),
      FIELD(keel_broker_api, delete_group_offsets, 264, 8),
      FIELD(keel_broker_api, topic_settings, 272, 8),
      FIELD(keel_broker_api, alter_topic, 280, 8),
      FIELD(keel_broker_api, create_partitions, 288, 8),
      FIELD(keel_broker_api, delete_records, 296, 8),
      FIELD(keel_broker_api, log_dir, 304, 8),
      FIELD(keel_broker_api, advertise_listener, 312, 8),
      FIELD(keel_broker_api, cluster_info, 320, 8),
      FIELD(keel_broker_api, list_brokers, 328, 8),
      FIELD(keel_broker_api, partition_state, 336, 8),
      FIELD(keel_broker_api, offset_for_leader_epoch, 344, 8),
      FIELD(keel_broker_api, sasl_mechanisms, 352, 8),
      FIELD(keel_broker_api, sasl_begin, 360, 8),
      FIELD(keel_broker_api, sasl_step, 368, 8),
      FIELD(keel_broker_api, sasl_end, 376, 8),
      FIELD(keel_broker_api, scram_credentials, 384, 8),
      FIELD(keel_broker_api, alter_scram_credential, 392, 8),
      FIELD(keel_broker_api, delete_scram_credential, 400, 8),
      FIELD(keel_broker_api, authorizer_enabled, 408, 8),
      FIELD(keel_broker_api, authorize, 416, 8),
      FIELD(keel_broker_api, create_acl, 424, 8),
      FIELD(keel_broker_api, describe_acls, 432, 8),
      FIELD(keel_broker_api, delete_acls, 440, 8),
      FIELD(keel_broker_api, list_strategies, 448, 8),  // 2.6
      FIELD(keel_broker_api, list_segments, 456, 8),
      FIELD(keel_broker_api, describe_group, 464, 8),
      FIELD(keel_broker_api, produce_flags, 472, 8),  // 2.7
      // keel_cluster_info (2.3)
      STRUCT(keel_cluster_info, 24),
      FIELD(keel_cluster_info, struct_size, 0, 4),
      FIELD(keel_cluster_info, broker_id, 4, 4),
      FIELD(keel_cluster_info, controller_id, 8, 4),
      FIELD(keel_cluster_info, clustered, 12, 4),
      FIELD(keel_cluster_info, cluster_id, 16, 8),
      // keel_broker_info (2.3)
      STRUCT(keel_broker_info, 32),
      FIELD(keel_broker_info, struct_size, 0, 4),
      FIELD(keel_broker_info, id, 4, 4),
      FIELD(keel_broker_info, host, 8, 8),
      FIELD(keel_broker_info, port, 16, 4),
      FIELD(keel_broker_info, reserved, 20, 4),
      FIELD(keel_broker_info, rack, 24, 8),
      // keel_partition_state (2.3)
      STRUCT(keel_partition_state, 40),
      FIELD(keel_partition_state, struct_size, 0, 4),
      FIELD(keel_partition_state, leader, 4, 4),
      FIELD(keel_partition_state, leader_epoch, 8, 4),
      FIELD(keel_partition_state, replica_count, 12, 4),
      FIELD(keel_partition_state, replicas, 16, 8),
      FIELD(keel_partition_state, isr, 24, 8),
      FIELD(keel_partition_state, isr_count, 32, 4),
      FIELD(keel_partition_state, reserved, 36, 4),
      // keel_alter_topic_args (2.2)
      STRUCT(keel_alter_topic_args, 24),
      FIELD(keel_alter_topic_args, struct_size, 0, 4),
      FIELD(keel_alter_topic_args, validate_only, 4, 4),
      FIELD(keel_alter_topic_args, name, 8, 8),
      FIELD(keel_alter_topic_args, settings_toml, 16, 8),
      // keel_transport_vtable
      STRUCT(keel_transport_vtable, 40),
      FIELD(keel_transport_vtable, struct_size, 0, 4),
      FIELD(keel_transport_vtable, reserved, 4, 4),
      FIELD(keel_transport_vtable, create, 8, 8),
      FIELD(keel_transport_vtable, start, 16, 8),
      FIELD(keel_transport_vtable, stop, 24, 8),
      FIELD(keel_transport_vtable, destroy, 32, 8),
      // keel_coord_kv (2.3)
      STRUCT(keel_coord_kv, 48),
      FIELD(keel_coord_kv, struct_size, 0, 4),
      FIELD(keel_coord_kv, reserved, 4, 4),
      FIELD(keel_coord_kv, key, 8, 8),
      FIELD(keel_coord_kv, value, 16, 8),
      FIELD(keel_coord_kv, value_len, 24, 8),
      FIELD(keel_coord_kv, create_revision, 32, 8),
      FIELD(keel_coord_kv, mod_revision, 40, 8),
      // keel_coord_compare (2.3)
      STRUCT(keel_coord_compare, 24),
      FIELD(keel_coord_compare, struct_size, 0, 4),
      FIELD(keel_coord_compare, target, 4, 4),
      FIELD(keel_coord_compare, key, 8, 8),
      FIELD(keel_coord_compare, revision, 16, 8),
      // keel_coord_op (2.3)
      STRUCT(keel_coord_op, 40),
      FIELD(keel_coord_op, struct_size, 0, 4),
      FIELD(keel_coord_op, type, 4, 4),
      FIELD(keel_coord_op, key, 8, 8),
      FIELD(keel_coord_op, value, 16, 8),
      FIELD(keel_coord_op, value_len, 24, 8),
      FIELD(keel_coord_op, session_bound, 32, 4),
      FIELD(keel_coord_op, reserved, 36, 4),
      // keel_coordinator_vtable (2.3)
      STRUCT(keel_coordinator_vtable, 64),
      FIELD(keel_coordinator_vtable, struct_size, 0, 4),
      FIELD(keel_coordinator_vtable, reserved, 4, 4),
      FIELD(keel_coordinator_vtable, create, 8, 8),
      FIELD(keel_coordinator_vtable, open_session, 16, 8),
      FIELD(keel_coordinator_vtable, range, 24, 8),
      FIELD(keel_coordinator_vtable, txn, 32, 8),
      FIELD(keel_coordinator_vtable, watch, 40, 8),
      FIELD(keel_coordinator_vtable, unwatch, 48, 8),
      FIELD(keel_coordinator_vtable, destroy, 56, 8),
      // keel_authorizer_vtable and its values (2.5)
      STRUCT(keel_authorizer_vtable, 56),
      FIELD(keel_authorizer_vtable, struct_size, 0, 4),
      FIELD(keel_authorizer_vtable, reserved, 4, 4),
      FIELD(keel_authorizer_vtable, create, 8, 8),
      FIELD(keel_authorizer_vtable, authorize, 16, 8),
      FIELD(keel_authorizer_vtable, create_acl, 24, 8),
      FIELD(keel_authorizer_vtable, describe_acls, 32, 8),
      FIELD(keel_authorizer_vtable, delete_acls, 40, 8),
      FIELD(keel_authorizer_vtable, destroy, 48, 8),
      STRUCT(keel_authz_subject, 32),
      FIELD(keel_authz_subject, struct_size, 0, 4),
      FIELD(keel_authz_subject, reserved, 4, 4),
      FIELD(keel_authz_subject, principal, 8, 8),
      FIELD(keel_authz_subject, host, 16, 8),
      FIELD(keel_authz_subject, listener, 24, 8),
      STRUCT(keel_authz_action, 24),
      FIELD(keel_authz_action, struct_size, 0, 4),
      FIELD(keel_authz_action, resource_type, 4, 1),
      FIELD(keel_authz_action, operation, 5, 1),
      FIELD(keel_authz_action, reserved, 6, 2),
      FIELD(keel_authz_action, resource_name, 8, 8),
      FIELD(keel_authz_action, resource_name_len, 16, 8),
      STRUCT(keel_acl_binding, 32),
      FIELD(keel_acl_binding, struct_size, 0, 4),
      FIELD(keel_acl_binding, resource_type, 4, 1),
      FIELD(keel_acl_binding, pattern_type, 5, 1),
      FIELD(keel_acl_binding, operation, 6, 1),
      FIELD(keel_acl_binding, permission, 7, 1),
      FIELD(keel_acl_binding, resource_name, 8, 8),
      FIELD(keel_acl_binding, principal, 16, 8),
      FIELD(keel_acl_binding, host, 24, 8),
      // keel_strategy
      STRUCT(keel_strategy, 24),
      FIELD(keel_strategy, struct_size, 0, 4),
      FIELD(keel_strategy, kind, 4, 4),
      FIELD(keel_strategy, name, 8, 8),
      FIELD(keel_strategy, vtable, 16, 8),
      // keel_plugin_descriptor
      STRUCT(keel_plugin_descriptor, 40),
      FIELD(keel_plugin_descriptor, struct_size, 0, 4),
      FIELD(keel_plugin_descriptor, abi_major, 4, 2),
      FIELD(keel_plugin_descriptor, abi_minor, 6, 2),
      FIELD(keel_plugin_descriptor, name, 8, 8),
      FIELD(keel_plugin_descriptor, version, 16, 8),
      FIELD(keel_plugin_descriptor, strategy_count, 24, 4),
      FIELD(keel_plugin_descriptor, strategy_size, 28, 4),
      FIELD(keel_plugin_descriptor, strategies, 32, 8),
  };
  return rows;
}

#undef STRUCT
#undef FIELD

TEST(AbiLayout, VersionIsTwoPointSeven) {
  EXPECT_EQ(KEEL_ABI_MAJOR, 2);
  EXPECT_EQ(KEEL_ABI_MINOR, 7);
  EXPECT_EQ(KEEL_TARGET_ABI_MINOR, KEEL_ABI_MINOR);  // the default target
}

// Status values cross the ABI as plain integers: each keeps its number
// forever, and new ones are only ever appended (18-20 came with 2.3, 21
// with 2.4).
TEST(AbiLayout, StatusValuesNeverChange) {
  const std::vector<std::pair<int32_t, int32_t>> statuses = {
      {KEEL_OK, 0},
      {KEEL_ERR_INVALID_ARGUMENT, 1},
      {KEEL_ERR_NOT_FOUND, 2},
      {KEEL_ERR_ALREADY_EXISTS, 3},
      {KEEL_ERR_IO, 4},
      {KEEL_ERR_CORRUPT, 5},
      {KEEL_ERR_OUT_OF_RANGE, 6},
      {KEEL_ERR_UNSUPPORTED, 7},
      {KEEL_ERR_INTERNAL, 8},
      {KEEL_ERR_UNAVAILABLE, 9},
      {KEEL_ERR_NO_SPACE, 10},
      {KEEL_ERR_TOO_LARGE, 11},
      {KEEL_ERR_INVALID_NAME, 12},
      {KEEL_ERR_FENCED, 13},
      {KEEL_ERR_OUT_OF_ORDER, 14},
      {KEEL_ERR_UNKNOWN_PRODUCER, 15},
      {KEEL_ERR_UNKNOWN_MEMBER, 16},
      {KEEL_ERR_NOT_LEADER, 17},
      {KEEL_ERR_NOT_ENOUGH_REPLICAS, 18},
      {KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 19},
      {KEEL_ERR_TIMED_OUT, 20},
      {KEEL_ERR_AUTHENTICATION, 21},
  };
  for (const auto& [value, expected] : statuses) EXPECT_EQ(value, expected);
}

TEST(AbiLayout, EveryStructAndFieldIsWhereTheGoldenTableSays) {
  for (const Row& r : table()) {
    const std::string what = std::string(r.type) + (*r.field ? std::string(".") + r.field : std::string());
    EXPECT_EQ(r.actual_offset, r.golden_offset) << "offset of " << what;
    EXPECT_EQ(r.actual_size, r.golden_size) << "size of " << what;
  }
}

TEST(AbiLayout, NoStructHasImplicitPadding) {
  const auto& rows = table();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (*rows[i].field) continue;
    const Row& s = rows[i];
    EXPECT_EQ(s.actual_size % 8, 0u) << s.type << " is not padded to a multiple of 8 bytes";
    size_t end = 0;
    size_t j = i + 1;
    for (; j < rows.size() && *rows[j].field; ++j) {
      EXPECT_EQ(rows[j].actual_offset, end)
          << s.type << "." << rows[j].field << " does not start where the field before it ends: "
          << "implicit padding; add an explicit reserved field";
      end = rows[j].actual_offset + rows[j].actual_size;
    }
    EXPECT_GT(j, i + 1) << s.type << " has no fields in the table";
    EXPECT_EQ(end, s.actual_size) << s.type << " has tail padding after its last field";
  }
}

TEST(AbiLayout, TheTableCoversEveryStructOnce) {
  std::vector<std::string> seen;
  for (const Row& r : table()) {
    if (*r.field) continue;
    for (const auto& s : seen) EXPECT_NE(s, r.type) << r.type << " is listed twice";
    seen.emplace_back(r.type);
  }
  EXPECT_EQ(seen.size(), 42);  // grows when plugin.h gains a struct
}

TEST(AbiLayout, HasFieldSeesWhatAnOlderProducerFilled) {
  keel_produce_result r{};
  r.struct_size = offsetof(keel_produce_result, duplicate);  // what a 2.0 broker fills
  EXPECT_TRUE(KEEL_HAS_FIELD(&r, keel_produce_result, message));
  EXPECT_FALSE(KEEL_HAS_FIELD(&r, keel_produce_result, duplicate));
  r.struct_size = sizeof r;
  EXPECT_TRUE(KEEL_HAS_FIELD(&r, keel_produce_result, duplicate));
}

TEST(AbiLayout, CopyOutWritesAtMostTheCallersSizeAndKeepsItsStructSize) {
  // The caller is an older transport whose keel_watermarks ends after
  // high_watermark; the bytes after it belong to something else.
  struct {
    keel_watermarks w;
    unsigned char guard[8];
  } dst;
  std::memset(&dst, 0x5A, sizeof dst);
  const uint32_t small = offsetof(keel_watermarks, log_end_offset);
  dst.w.struct_size = small;
  keel_watermarks src{};
  src.struct_size = sizeof src;
  src.log_start_offset = 7;
  src.high_watermark = 9;
  src.log_end_offset = 11;
  keel_copy_out(&dst.w, &src, sizeof src);
  EXPECT_EQ(dst.w.struct_size, small);
  EXPECT_EQ(dst.w.log_start_offset, 7);
  EXPECT_EQ(dst.w.high_watermark, 9);
  unsigned char tail[sizeof dst.w.log_end_offset];
  std::memcpy(tail, &dst.w.log_end_offset, sizeof tail);
  for (unsigned char c : tail) EXPECT_EQ(c, 0x5A) << "keel_copy_out wrote beyond the caller's struct_size";
  for (unsigned char c : dst.guard) EXPECT_EQ(c, 0x5A);
}

}  // namespace
