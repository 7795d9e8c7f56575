// One handler per Kafka API (files named <api>_handler.cpp in this folder).
#pragma once

#include "../request.hpp"

namespace keel::kafka {

void handle_api_versions(Services&, Request&, const Responder&);
void handle_metadata(Services&, Request&, const Responder&);
void handle_produce(Services&, Request&, const Responder&);
void handle_fetch(Services&, Request&, const Responder&);
void handle_list_offsets(Services&, Request&, const Responder&);
void handle_create_topics(Services&, Request&, const Responder&);
void handle_delete_topics(Services&, Request&, const Responder&);
void handle_describe_configs(Services&, Request&, const Responder&);
void handle_alter_configs(Services&, Request&, const Responder&);
void handle_incremental_alter_configs(Services&, Request&, const Responder&);
void handle_init_producer_id(Services&, Request&, const Responder&);
void handle_find_coordinator(Services&, Request&, const Responder&);
void handle_join_group(Services&, Request&, const Responder&);
void handle_sync_group(Services&, Request&, const Responder&);
void handle_heartbeat(Services&, Request&, const Responder&);
void handle_leave_group(Services&, Request&, const Responder&);
void handle_offset_commit(Services&, Request&, const Responder&);
void handle_offset_fetch(Services&, Request&, const Responder&);
void handle_list_groups(Services&, Request&, const Responder&);
void handle_describe_groups(Services&, Request&, const Responder&);
void handle_delete_groups(Services&, Request&, const Responder&);
void handle_offset_delete(Services&, Request&, const Responder&);
void handle_create_partitions(Services&, Request&, const Responder&);
void handle_delete_records(Services&, Request&, const Responder&);
void handle_describe_cluster(Services&, Request&, const Responder&);
void handle_sasl_handshake(Services&, Request&, const Responder&);
void handle_sasl_authenticate(Services&, Request&, const Responder&);
void handle_describe_user_scram_credentials(Services&, Request&, const Responder&);
void handle_alter_user_scram_credentials(Services&, Request&, const Responder&);
void handle_describe_log_dirs(Services&, Request&, const Responder&);
void handle_offset_for_leader_epoch(Services&, Request&, const Responder&);
void handle_describe_acls(Services&, Request&, const Responder&);
void handle_create_acls(Services&, Request&, const Responder&);
void handle_delete_acls(Services&, Request&, const Responder&);

}  // namespace keel::kafka
