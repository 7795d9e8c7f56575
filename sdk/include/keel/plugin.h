/*
 * Keel plugin ABI: the only boundary between the broker and a plugin.
 *
 * THE RULES (in the spirit of SQLite's VFS; 2.x keeps them for good)
 *
 *  1. Versions. A plugin's descriptor names the ABI it was built for
 *     (abi_major.abi_minor). The broker loads it when the majors are equal
 *     and the plugin's minor is not newer than its own. A minor version only
 *     APPENDS: new fields at the end of a struct, new function pointers at
 *     the end of a table, new constants. Nothing is removed, reordered,
 *     resized or reused (reserved fields stay reserved) within a major.
 *
 *  2. Sizes. Every struct that may grow starts with `uint32_t struct_size`,
 *     set by whoever allocates it to sizeof() as that party compiled it.
 *     - Reading a struct another party filled: check KEEL_HAS_FIELD before
 *       touching a field that a later minor added.
 *     - Writing an out-struct the caller allocated: write at most
 *       min(caller's struct_size, your own sizeof) bytes, and never
 *       overwrite the caller's struct_size (keel_copy_out does both).
 *     - Arrays of versioned structs travel with their element size
 *       (e.g. `segments`, `segment_count`, `segment_size`): step through
 *       them by that size, never by your own sizeof.
 *     - No versioned struct is embedded by value in another.
 *
 *  3. Layout. Every struct is padded explicitly to a multiple of 8 bytes
 *     (fields named `reserved*`, which must be zero), so that there is no
 *     implicit padding anywhere, in particular no tail padding that a later
 *     field could silently land in. tests/unit/abi_layout_test.cpp pins
 *     sizeof and offsetof of every field on x86-64/aarch64 Linux: a change
 *     to this file that moves anything fails CI.
 *
 *  4. Types. Plain C types only: fixed-width integers, pointers, double.
 *     No C enum, bool or C++ type in a signature or a field (their size is
 *     the compiler's choice): statuses, kinds and levels are int32_t with
 *     named constants. No exception crosses the boundary, in either
 *     direction. No allocation crosses without an owner that frees it.
 *
 *  5. Strings and buffers passed to a function are borrowed for the call
 *     unless documented otherwise; strings are NUL-terminated UTF-8.
 *     Errors: a function that can fail returns keel_status and writes a
 *     message into a caller-owned keel_error when it gets one (err may be
 *     NULL: then it writes nothing).
 *
 *  6. Threads. Each function says which thread calls it, whether it may
 *     block, and whether a callback may call back into the API. Unless
 *     stated otherwise: broker API functions are safe from any thread and
 *     do not block on I/O; plugin callbacks of one strategy instance are
 *     not called concurrently (the broker serialises them).
 *
 *  7. Mandatory and optional. Every function pointer in a table is
 *     mandatory unless marked (optional). The broker refuses to load a
 *     plugin whose table has NULL in a mandatory slot, naming the slot.
 *
 *  8. A plugin library exports exactly one symbol, KEEL_PLUGIN_ENTRY_SYMBOL,
 *     returning a static descriptor (see keel_plugin_descriptor).
 *
 * Building for an older broker: define KEEL_TARGET_ABI_MINOR (e.g.
 * -DKEEL_TARGET_ABI_MINOR=0) before including this header. The descriptor
 * made by KEEL_PLUGIN then names that minor, and what later minors added is
 * hidden from the compiler, so the plugin cannot use it by mistake.
 *
 * ABI history (1.x plugins are refused by a 2.x broker; see docs/plugins.md,
 * "Migrating from 1.x"):
 *   1.0-1.4  the first ABI (index, retention, partitioner, transport; broker
 *            API growing through topic_details, commit_offsets, request
 *            budget).
 *   2.0  The rules above written down and applied: int32_t statuses with new
 *        codes (TOO_LARGE, INVALID_NAME, FENCED, OUT_OF_ORDER,
 *        UNKNOWN_PRODUCER, UNKNOWN_MEMBER, NOT_LEADER); explicit padding;
 *        element sizes on arrays; fetch results carry their watermarks as
 *        fields; every call that can fail takes a keel_error (partition,
 *        select, lookup_*); metric labels as name/value pairs; group commits
 *        carry member and generation, are fenced by the broker and complete
 *        asynchronously; set_group_members; unwatch may be called from
 *        inside its watch callback.
 *   2.1  Idempotent producers owned by the broker: init_producer_id;
 *        keel_produce_result.duplicate.
 *   2.2  Consumer-group deletion: delete_group, delete_group_offsets.
 *        Topic settings read and changed at run time: topic_settings,
 *        alter_topic.
 *        Admin: create_partitions, delete_records, log_dir (with
 *        keel_log_dir_info).
 *   2.3  Clusters: the coordinator kind (KEEL_KIND_COORDINATOR,
 *        keel_coordinator_vtable: sessions, range, fenced transactions,
 *        watches over a consistent store such as etcd). Broker API:
 *        advertise_listener, cluster_info, list_brokers, partition_state,
 *        offset_for_leader_epoch.
 *   2.4  Authentication owned by the broker: status AUTHENTICATION; SASL
 *        exchanges (sasl_mechanisms, sasl_begin, sasl_step, sasl_end: PLAIN,
 *        SCRAM-SHA-256, SCRAM-SHA-512) against the broker's users and their
 *        SCRAM credentials (scram_credentials, alter_scram_credential,
 *        delete_scram_credential: KIP-554).
 *   2.5  Authorization decided by the broker: the authorizer kind
 *        (KEEL_KIND_AUTHORIZER, keel_authorizer_vtable: authorize, ACL
 *        bindings created, described and deleted with Kafka's model).
 *        Broker API: authorizer_enabled, authorize, create_acl,
 *        describe_acls, delete_acls.
 *   2.6  Operators' views (web console, admin endpoints): list_strategies
 *        (keel_loaded_strategy), list_segments, describe_group; a group's
 *        protocol publishes its state, protocol and members' clients and
 *        assignments with set_group_members (keel_group_members grows,
 *        keel_group_member_info).
 *   2.7  produce_flags: produce with KEEL_PRODUCE_* flags;
 *        KEEL_PRODUCE_SYNC_HERE lets acks=all's sync run on the caller's
 *        thread.
 */
#ifndef KEEL_PLUGIN_H
#define KEEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEEL_ABI_MAJOR 2
#define KEEL_ABI_MINOR 7

#ifndef KEEL_TARGET_ABI_MINOR
#define KEEL_TARGET_ABI_MINOR KEEL_ABI_MINOR
#endif
#if KEEL_TARGET_ABI_MINOR > KEEL_ABI_MINOR || KEEL_TARGET_ABI_MINOR < 0
#error "KEEL_TARGET_ABI_MINOR must be between 0 and KEEL_ABI_MINOR of this SDK"
#endif

#define KEEL_PLUGIN_ENTRY_SYMBOL "keel_plugin_entry"

/* Whether the struct at `p` (of type `type`, whose struct_size says how much
 * of it its producer filled) is large enough to hold `field`: the check
 * before using a field a later minor version added. */
#define KEEL_HAS_FIELD(p, type, field) \
  ((p)->struct_size >= offsetof(type, field) + sizeof(((const type*)0)->field))

/* Copies `src` (a struct of `src_size` bytes that starts with struct_size)
 * into the caller-owned `dst`: at most min(dst->struct_size, src_size)
 * bytes, leaving dst's struct_size as the caller set it (rule 2). */
static inline void keel_copy_out(void* dst, const void* src, size_t src_size) {
  uint32_t dst_size;
  memcpy(&dst_size, dst, sizeof dst_size);
  size_t n = dst_size < src_size ? dst_size : src_size;
  if (n > sizeof(uint32_t)) {
    memcpy((char*)dst + sizeof(uint32_t), (const char*)src + sizeof(uint32_t), n - sizeof(uint32_t));
  }
}

/* ------------------------------------------------------------------ status */

typedef int32_t keel_status;
#define KEEL_OK 0
#define KEEL_ERR_INVALID_ARGUMENT 1 /* bad input from the caller */
#define KEEL_ERR_NOT_FOUND 2        /* unknown topic/partition/key/group */
#define KEEL_ERR_ALREADY_EXISTS 3
#define KEEL_ERR_IO 4           /* the OS refused a read/write/sync */
#define KEEL_ERR_CORRUPT 5      /* bytes on disk or on the wire fail checks */
#define KEEL_ERR_OUT_OF_RANGE 6 /* e.g. offset beyond the log end */
#define KEEL_ERR_UNSUPPORTED 7
#define KEEL_ERR_INTERNAL 8
#define KEEL_ERR_UNAVAILABLE 9 /* shutting down / not ready */
#define KEEL_ERR_NO_SPACE 10   /* disk full */
/* 2.0 */
#define KEEL_ERR_TOO_LARGE 11    /* a batch or request exceeds a size limit */
#define KEEL_ERR_INVALID_NAME 12 /* a topic/group name is not allowed */
/* A stale identity: a producer epoch older than the partition's, or a group
 * commit of an older generation than the group's. */
#define KEEL_ERR_FENCED 13
/* An idempotent batch whose sequence does not follow the producer's last
 * one (a gap: an earlier batch is missing). Nothing was written. */
#define KEEL_ERR_OUT_OF_ORDER 14
/* An idempotent batch of a producer id the partition has no state for, with
 * a sequence other than 0 (its state expired or was never there). */
#define KEEL_ERR_UNKNOWN_PRODUCER 15
/* A group commit by a member id the group does not have. */
#define KEEL_ERR_UNKNOWN_MEMBER 16
/* This broker does not lead the partition (replication; a single-node
 * broker never returns it). The client should refresh metadata. */
#define KEEL_ERR_NOT_LEADER 17
/* acks=all (ABI 2.3, replication): fewer in-sync replicas than the
 * topic's min_insync_replicas; nothing was written. */
#define KEEL_ERR_NOT_ENOUGH_REPLICAS 18
/* acks=all: written on the leader, but the ISR shrank below
 * min_insync_replicas before the records were replicated. */
#define KEEL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND 19
/* acks=all: not replicated within the broker's produce timeout. */
#define KEEL_ERR_TIMED_OUT 20
/* 2.4: who the client is could not be established (unknown user, wrong
 * password or proof, a SASL exchange out of order). The message is safe to
 * send to the client: it never says which of user or password was wrong. */
#define KEEL_ERR_AUTHENTICATION 21

/* Caller-owned buffer that a callee fills with a human-readable message.
 * Frozen: it never grows, so it carries no struct_size. */
#define KEEL_ERROR_MESSAGE_CAPACITY 512
typedef struct keel_error {
  char message[KEEL_ERROR_MESSAGE_CAPACITY];
} keel_error;

/* ---------------------------------------------------------------- logging */

typedef int32_t keel_log_level;
#define KEEL_LOG_TRACE 0
#define KEEL_LOG_DEBUG 1
#define KEEL_LOG_INFO 2
#define KEEL_LOG_WARN 3
#define KEEL_LOG_ERROR 4

/* ----------------------------------------------------------------- config */

/* A read-only view of one TOML table: the plugin's own section. Keys the
 * plugin never reads are reported by the broker as unknown (with file and
 * line) once the plugin instance is created, so plugins need not declare them.
 * Getters return KEEL_ERR_NOT_FOUND when the key is absent (keep your default)
 * and KEEL_ERR_INVALID_ARGUMENT when it has another type (the host records
 * the error with file, line and expected type and fails start-up). */
typedef struct keel_config keel_config;

/* --------------------------------------------------------- host services */

/* What the broker offers every plugin. Every function is safe from any
 * thread, never blocks on I/O and may be called from inside any callback. */
typedef struct keel_host {
  uint32_t struct_size;
  uint32_t reserved;
  void* ctx; /* host-owned; pass back unchanged */

  /* Log into the broker's logger, tagged with the plugin's name. */
  void (*log)(void* ctx, keel_log_level level, const char* message);
  /* Milliseconds since the Unix epoch (wall clock; tests may fake it). */
  int64_t (*now_ms)(void* ctx);
  /* Monotonic nanoseconds, for measuring durations (tests may fake it). */
  int64_t (*monotonic_ns)(void* ctx);

  keel_status (*config_get_int)(void* ctx, const keel_config* cfg, const char* key, int64_t* out);
  keel_status (*config_get_double)(void* ctx, const keel_config* cfg, const char* key, double* out);
  keel_status (*config_get_bool)(void* ctx, const keel_config* cfg, const char* key, int32_t* out);
  /* The string stays valid as long as the plugin instance lives. */
  keel_status (*config_get_string)(void* ctx, const keel_config* cfg, const char* key, const char** out);
} keel_host;

/* ------------------------------------------------------ strategy: index */

/* One index instance serves one segment. Its files live beside the segment's
 * log file: the plugin derives their names from `path_prefix` (the segment's
 * path without extension, e.g. ".../00000000000000001000") plus its own
 * extension.
 *
 * Threads: open, on_append, truncate, flush, seal and close come from the
 * partition's writer (under its append lock, or at start-up) or from the
 * flusher thread (flush, and the seal of a segment a roll closed, once no
 * append reaches it), never two at once. lookup_* and entry_count may
 * run on any reader thread concurrently with each other AND with on_append
 * of the same instance: an index must publish entries so that a concurrent
 * lookup sees either the old or the new state (e.g. write the entry, then
 * publish the count with release ordering). */
typedef struct keel_index keel_index;

typedef struct keel_index_open_args {
  uint32_t struct_size;
  int32_t writable; /* 1 for the active segment, 0 for sealed ones */
  const char* path_prefix;
  int64_t base_offset; /* first offset the segment may hold */
  int64_t log_size;    /* bytes of valid log data in the segment now */
  const keel_config* config;
} keel_index_open_args;

/* What the kernel tells an index about each batch stored in its segment, in
 * log order. Batches at or before what the index already covers are ignored
 * by the index, so the kernel may replay a few twice during recovery. */
typedef struct keel_batch_info {
  uint32_t struct_size;
  int32_t size; /* bytes of the whole batch */
  int64_t base_offset;
  int64_t last_offset;
  int64_t max_timestamp; /* -1 if the batch has none */
  int64_t position;      /* byte position of the batch in the log file */
} keel_batch_info;

/* Result of a lookup: scan the log forward from `position`; the batch there
 * holds `offset` (offset lookups) or is the earliest candidate (time). An
 * out-struct: see rule 2. */
typedef struct keel_index_entry {
  uint32_t struct_size;
  uint32_t reserved;
  int64_t offset;
  int64_t position;
  int64_t timestamp; /* -1 for offset-only indexes */
} keel_index_entry;

#define KEEL_INDEX_CAN_LOOKUP_OFFSET 1u
#define KEEL_INDEX_CAN_LOOKUP_TIME 2u

typedef struct keel_index_vtable {
  uint32_t struct_size;
  uint32_t capabilities; /* KEEL_INDEX_CAN_* */

  /* Open or create the index of a segment. An index that finds its files
   * missing, too short or inconsistent with log_size drops what it cannot
   * trust and reports a smaller recovery position; it is an error only when
   * the files cannot be created at all. */
  keel_status (*open)(const keel_host* host, const keel_index_open_args* args, keel_index** out,
                      keel_error* err);
  /* Byte position in the log from which the index needs to see batches again
   * (via on_append) to be complete. 0 means "rebuild from scratch". */
  int64_t (*recovery_position)(keel_index* index);
  keel_status (*on_append)(keel_index* index, const keel_batch_info* batch, keel_error* err);
  /* lookup_offset: the largest entry whose batch base offset is <= `offset`.
   * lookup_time: the largest entry whose timestamp is strictly less than
   * `timestamp` (every batch before its position is older than that).
   * When none exists, return {base_offset, 0, -1}. (optional: lookup_offset
   * without KEEL_INDEX_CAN_LOOKUP_OFFSET, lookup_time without
   * KEEL_INDEX_CAN_LOOKUP_TIME) */
  keel_status (*lookup_offset)(keel_index* index, int64_t offset, keel_index_entry* out, keel_error* err);
  keel_status (*lookup_time)(keel_index* index, int64_t timestamp, keel_index_entry* out, keel_error* err);
  /* Drop entries for batches at or beyond `log_size` (log tail truncated).
   * The kernel then replays, via on_append, the batches from
   * recovery_position() up to log_size so the index is complete again. */
  keel_status (*truncate)(keel_index* index, int64_t log_size, keel_error* err);
  /* Persist what is in memory/mmap to disk. May block on I/O. */
  keel_status (*flush)(keel_index* index, keel_error* err);
  /* The segment rolled: trim preallocated space, become read-only. */
  keel_status (*seal)(keel_index* index, keel_error* err);
  /* Number of entries held (for health reporting); -1 if unknown. */
  int64_t (*entry_count)(keel_index* index);
  /* Close; with remove_files != 0 also delete the index's files (the
   * segment is being deleted). */
  void (*close)(keel_index* index, int32_t remove_files);
} keel_index_vtable;

/* -------------------------------------------------- strategy: retention */

typedef struct keel_retention keel_retention;

typedef struct keel_segment_info {
  uint32_t struct_size;
  uint32_t reserved;
  int64_t base_offset;
  int64_t next_offset; /* one past the last offset held */
  int64_t size_bytes;
  int64_t max_timestamp;    /* newest record timestamp, -1 if unknown */
  int64_t last_modified_ms; /* file mtime, a fallback for max_timestamp */
} keel_segment_info;

/* The i-th element of an array of versioned structs whose producer says each
 * element is `size` bytes (rule 2). */
#define KEEL_ELEMENT(type, base, size, i) ((const type*)((const char*)(base) + (size_t)(i) * (size)))

typedef struct keel_log_rewriter keel_log_rewriter; /* defined below */

/* Threads: every function is called on the broker's maintenance thread, one
 * partition at a time; select may block briefly, rewrite may run long (poll
 * log->stopping). */
typedef struct keel_retention_vtable {
  uint32_t struct_size;
  uint32_t reserved;
  keel_status (*create)(const keel_host* host, const keel_config* config, keel_retention** out,
                        keel_error* err);
  /* `segment_count` segments of `segment_size` bytes each (KEEL_ELEMENT)
   * come oldest first; the last is the active segment and is never deleted
   * whatever the answer. Set *delete_count to how many of the oldest
   * segments may go. */
  keel_status (*select)(keel_retention* r, const keel_segment_info* segments, size_t segment_count,
                        size_t segment_size, int64_t now_ms, size_t* delete_count, keel_error* err);
  void (*destroy)(keel_retention* r);

  /* (optional: NULL for strategies that only delete whole segments)
   * Rewrites closed segments of one partition, e.g. to compact them. Called
   * after select() of every retention strategy of the topic. Use `log` only
   * during this call. */
  keel_status (*rewrite)(keel_retention* r, const keel_log_rewriter* log, int64_t now_ms, keel_error* err);
  /* (optional: NULL = no) Whether the topic must refuse records with a null
   * key (compaction needs a key on every record). */
  int32_t (*requires_keys)(keel_retention* r);
} keel_retention_vtable;

/* What a rewriting retention strategy may do to one partition.
 *
 * Crash safety belongs to the broker: a rewrite writes replacement segments
 * aside and commit() swaps them in with renames, so that a crash at
 * any point leaves either the old or the new segments, never a mix (start-up
 * recovery finishes or rolls back an interrupted swap). Readers that opened
 * the old segments keep reading them. Offsets never change: batches keep the
 * base offsets they were stored with, and gaps between them are allowed.
 * Every function is called on the thread that called rewrite(), during it. */
typedef struct keel_rewrite keel_rewrite; /* one rewrite in progress */
typedef int32_t (*keel_batch_visitor)(void* user, const uint8_t* batch, size_t len); /* 0 = stop */

struct keel_log_rewriter {
  uint32_t struct_size;
  int32_t partition;
  void* ctx;
  const char* topic;
  /* Closed segments, oldest first, each segment_size bytes (KEEL_ELEMENT);
   * the active segment is never offered. */
  const keel_segment_info* segments;
  size_t segment_count;
  size_t segment_size;
  /* Offsets below this were last rewritten by this strategy (a cleaner's
   * "clean point"); 0 at first. Persisted by the broker with commit. */
  int64_t clean_offset;
  /* The topic's segment_bytes: a replacement should stay below it. */
  int64_t segment_bytes;

  /* Calls `visit` with every stored batch of closed segment `index`, in
   * order; the bytes are valid during the call only. */
  keel_status (*read_segment)(void* ctx, size_t index, keel_batch_visitor visit, void* user, keel_error* err);
  /* Starts replacing closed segments [first, first + count) with ONE new
   * segment. One rewrite may be open at a time; each segment is replaced at
   * most once per rewrite() call. */
  keel_status (*begin)(void* ctx, size_t first, size_t count, keel_rewrite** out, keel_error* err);
  /* Appends one RecordBatch v2 to the replacement, offsets as stored
   * (ascending, within [base of segment `first`, next_offset of the last
   * replaced segment)). A batch may be rebuilt (fewer records,
   * recompressed): it must carry a valid CRC. Keep each producer's newest
   * batch header (the broker rebuilds idempotent producer state from it). */
  keel_status (*write)(void* ctx, keel_rewrite* rw, const uint8_t* batch, size_t len, keel_error* err);
  /* Makes the replacement durable, swaps it in atomically, and records
   * `clean_offset` for the next call. Consumes `rw` whatever the outcome. */
  keel_status (*commit)(void* ctx, keel_rewrite* rw, int64_t clean_offset, keel_error* err);
  /* Drops the replacement; the old segments stay. */
  void (*abort)(void* ctx, keel_rewrite* rw);
  /* 1 once the broker is shutting down: abort the rewrite and return soon
   * (it is redone at the next start). Poll it during long work and while
   * throttling. */
  int32_t (*stopping)(void* ctx);
};

/* ------------------------------------------------ strategy: partitioner */

typedef struct keel_partitioner keel_partitioner;

/* Threads: partition() may be called from many threads at once (every
 * transport thread that produces without a partition): make it thread-safe.
 * It must not block. create/destroy come from the broker's main thread. */
typedef struct keel_partitioner_vtable {
  uint32_t struct_size;
  uint32_t reserved;
  keel_status (*create)(const keel_host* host, const keel_config* config, keel_partitioner** out,
                        keel_error* err);
  /* key == NULL means a null key (distinct from an empty key). *out must be
   * in [0, partition_count). */
  keel_status (*partition)(keel_partitioner* p, const uint8_t* key, size_t key_len, int32_t partition_count,
                           int32_t* out, keel_error* err);
  void (*destroy)(keel_partitioner* p);
} keel_partitioner_vtable;

/* ----------------------------------------------- broker API (transports) */

typedef struct keel_topic_info {
  uint32_t struct_size;
  int32_t partition_count;
  const char* name;
  int32_t internal; /* 1 for broker-internal topics (read-only to clients) */
  int32_t reserved;
} keel_topic_info;

/* An out-struct (rule 2). */
typedef struct keel_watermarks {
  uint32_t struct_size;
  uint32_t reserved;
  int64_t log_start_offset; /* low watermark */
  int64_t high_watermark;   /* last offset visible to consumers + 1 */
  int64_t log_end_offset;   /* next offset to be assigned */
} keel_watermarks;

/* Acknowledgement levels for produce. */
#define KEEL_ACKS_NONE 0   /* answer when appended (no durability wait) */
#define KEEL_ACKS_LEADER 1 /* answer when appended to the log */
#define KEEL_ACKS_ALL (-1) /* answer once the topic's flush policy is met */

/* Flags of produce_flags (2.7). */
/* The caller may wait on its own thread for the sync acks=all needs: when
 * the topic syncs every batch and no sync of the partition is running or
 * queued, the broker syncs on the calling thread before produce_flags
 * returns, saving the hand-offs to the flusher thread and back (10-17 us
 * a request measured on the reference VM). The callback then runs on the calling thread (in a
 * cluster, later, once the in-sync replicas have the batch), and so may
 * the callbacks of other produce calls whose appends that sync covered:
 * the caller must hold no lock that any of its produce callbacks take.
 * Pass it for a request alone on its connection and event loop (nothing
 * else in flight, no further request arrived): requests queued behind it
 * are served better by the flusher's group commit, which appends them
 * while this one syncs. */
#define KEEL_PRODUCE_SYNC_HERE 0x1u

/* Valid during the callback only. */
typedef struct keel_produce_result {
  uint32_t struct_size;
  keel_status status;
  int64_t base_offset;     /* offset assigned to the first record */
  int64_t log_append_time; /* -1 unless the topic uses log-append time */
  int64_t log_start_offset;
  const char* message; /* NULL if OK */
#if KEEL_TARGET_ABI_MINOR >= 1
  /* 2.1: 1 when the batch repeats an idempotent batch already in the log
   * (a producer's retry): nothing was appended, status is KEEL_OK and
   * base_offset is the original's, as Kafka answers DUPLICATE_SEQUENCE. */
  int32_t duplicate;
  int32_t reserved;
#endif
} keel_produce_result;

typedef void (*keel_produce_callback)(void* user, const keel_produce_result* result);

/* A fetched range of stored batches, exactly the bytes on disk. The transport
 * may pread() or sendfile() from `fd` while it holds the result, and must call
 * broker->release_fetch() once. Deleting a segment meanwhile is safe. An
 * out-struct (rule 2). */
typedef struct keel_fetch_result {
  uint32_t struct_size;
  int32_t fd;
  int64_t file_position;
  int64_t length; /* 0 when nothing is available at the offset */
  int64_t log_start_offset;
  int64_t high_watermark;
  int64_t log_end_offset;
  void* pin; /* owned by the broker; released by release_fetch */
} keel_fetch_result;

typedef void (*keel_topic_callback)(void* user, const keel_topic_info* info);
typedef void (*keel_string_callback)(void* user, const char* value);
typedef void (*keel_data_callback)(void* user, const char* data, size_t len);
/* The outcome of an asynchronous call; `message` is NULL when OK and valid
 * during the callback only. */
typedef void (*keel_status_callback)(void* user, keel_status status, const char* message);
/* Called once when data beyond the watched offset exists, or the partition
 * goes away. Runs on a broker thread (a producer's or the deleting one), or
 * on the caller's thread before watch() returns when such data exists
 * already: do not block in it. It may call unwatch() on its own watch. */
typedef void (*keel_watch_callback)(void* user);
typedef struct keel_watch keel_watch;

typedef struct keel_create_topic_args {
  uint32_t struct_size;
  int32_t partitions; /* <= 0: the broker's default */
  const char* name;
  /* Optional TOML with the keys of a [topics.<name>] table (index,
   * retention, partitioner, segment_bytes, plugins.<strategy>.<key>, ...);
   * NULL or "" = the topic defaults. Kept with the topic across restarts. */
  const char* settings_toml;
} keel_create_topic_args;

/* What a topic is made of, for admin and observability. Strings and arrays
 * are valid during the callback only. */
typedef struct keel_topic_details {
  uint32_t struct_size;
  int32_t partition_count;
  const char* name;
  const char* partitioner;
  const char* const* index;     /* index strategy names */
  const char* const* retention; /* retention strategy names */
  uint32_t index_count;
  uint32_t retention_count;
  int64_t segment_bytes;
  int64_t segment_ms;
  int64_t max_batch_bytes;
  const char* flush_mode; /* "every-batch" | "interval" | "os" */
  int32_t declared;       /* 1 if named in the broker's config file */
  int32_t reserved;
} keel_topic_details;

/* One partition's storage, for health endpoints. An out-struct (rule 2). */
typedef struct keel_partition_health {
  uint32_t struct_size;
  uint32_t reserved;
  int64_t segment_count;
  int64_t size_bytes;
  int64_t oldest_timestamp; /* max timestamp of the oldest segment, -1 if unknown */
  int64_t newest_timestamp; /* newest record timestamp, -1 if unknown */
  int64_t index_entries;
  int64_t flushed_offset; /* offsets below are on stable storage */
} keel_partition_health;

typedef void (*keel_topic_details_callback)(void* user, const keel_topic_details* details);

/* One partition's offset in a group commit. */
typedef struct keel_offset_commit {
  uint32_t struct_size;
  int32_t partition;
  const char* topic;
  int64_t offset;
  const char* metadata; /* NULL = "" */
} keel_offset_commit;

/* Generation of a commit made outside any group protocol (HTTP, tools, a
 * Kafka consumer with manual assignment). */
#define KEEL_GENERATION_NONE (-1)

/* A group commit: several offsets of one group, made durable as one write.
 *
 * Fencing (the broker's, whatever the transport): while the group has
 * members (set_group_members), a commit must name one of them and the
 * group's current generation; otherwise it fails with UNKNOWN_MEMBER or
 * FENCED and nothing is stored. A group without members takes commits with
 * generation KEEL_GENERATION_NONE (and an empty member id) only. */
typedef struct keel_group_commit {
  uint32_t struct_size;
  int32_t generation;
  const char* group;
  const char* member_id; /* NULL = "" */
  const keel_offset_commit* offsets;
  size_t offset_count;
  size_t offset_size; /* bytes per element of `offsets` (rule 2) */
} keel_group_commit;

/* The members of a group in its current generation, published by the
 * transport that runs the group's protocol (e.g. Kafka's JoinGroup/
 * SyncGroup) each time a generation completes or the group empties, and
 * (from 2.6, for operators' views) when a rebalance starts. */
#if KEEL_TARGET_ABI_MINOR >= 6
/* 2.6: one member of a group as the group's protocol describes it, for
 * operators' views; strings valid during the call only. Its assignment is
 * given as parallel arrays: topic assignment_topics[i], partition
 * assignment_partitions[i] (empty when the protocol's assignment is opaque
 * to the transport). */
typedef struct keel_group_member_info {
  uint32_t struct_size;
  int32_t assignment_count;
  const char* member_id;
  const char* group_instance_id; /* NULL: a dynamic member */
  const char* client_id;
  const char* client_host;
  const char* const* assignment_topics;
  const int32_t* assignment_partitions;
} keel_group_member_info;
#endif

typedef struct keel_group_members {
  uint32_t struct_size;
  int32_t generation; /* KEEL_GENERATION_NONE with member_count 0: empty */
  const char* group;
  const char* const* member_ids;
  size_t member_count;
#if KEEL_TARGET_ABI_MINOR >= 6
  /* 2.6 (each optional, NULL when not known): what operators' views show.
   * The broker keeps them beside the fence and hands them back through
   * describe_group; they decide nothing. */
  const char* state;         /* Kafka's names: "Stable", "Empty", ... */
  const char* protocol_type; /* e.g. "consumer" */
  const char* protocol;      /* the chosen assignor, e.g. "range" */
  const char* leader_id;
  /* member_count entries of member_size bytes, in member_ids' order; NULL
   * when only the ids are known. */
  const keel_group_member_info* members;
  size_t member_size;
#endif
} keel_group_members;

/* One committed offset of a group; strings valid during the call only. */
typedef void (*keel_group_offset_callback)(void* user, const char* topic, int32_t partition, int64_t offset,
                                           const char* metadata);

/* A metric label. Frozen: it never grows, so it carries no struct_size. */
typedef struct keel_label {
  const char* name;
  const char* value;
} keel_label;

#if KEEL_TARGET_ABI_MINOR >= 1
/* 2.1: a producer identity for idempotent (and, later, transactional)
 * produce. */
typedef struct keel_init_producer_args {
  uint32_t struct_size;
  int32_t transaction_timeout_ms;
  /* NULL for an idempotent producer. Transactions are not supported yet:
   * a transactional id gets KEEL_ERR_UNSUPPORTED. */
  const char* transactional_id;
} keel_init_producer_args;

/* An out-struct (rule 2). */
typedef struct keel_producer_identity {
  uint32_t struct_size;
  int32_t epoch;
  int64_t producer_id;
} keel_producer_identity;
#endif

#if KEEL_TARGET_ABI_MINOR >= 2
/* 2.2: one setting of a topic, as a key of a [topics.<name>] table. `key` is
 * a TOML dotted key, quoted where needed ("segment_bytes", "retention",
 * "plugins.time.retention_ms", "plugins.\"my.plugin\".x"); `value` is a TOML
 * value ("1024", "\"os\"", "[\"compaction\"]", "0.5"); `own` is 1 when the
 * topic sets it itself (its [topics.<name>] table in the broker's file, or
 * the settings it was created or last altered with) and 0 when it comes
 * from [topic_defaults] or the broker's built-in defaults. Strings are valid
 * during the call only. */
typedef void (*keel_topic_setting_callback)(void* user, const char* key, const char* value, int32_t own);

/* 2.2: new settings for an existing topic. */
typedef struct keel_alter_topic_args {
  uint32_t struct_size;
  int32_t validate_only; /* 1: check everything, change nothing */
  const char* name;
  /* The topic's own settings as a whole (TOML with the keys of a
   * [topics.<name>] table, as for keel_create_topic_args); keys left out
   * fall back to [topic_defaults]. "" or NULL: the defaults only. */
  const char* settings_toml;
} keel_alter_topic_args;

/* 2.2: the directory that holds every partition's log, and its file
 * system's space (statvfs). An out-struct (rule 2); `path` is the broker's
 * and stays valid while the broker runs. */
typedef struct keel_log_dir_info {
  uint32_t struct_size;
  uint32_t reserved;
  const char* path;
  int64_t total_bytes;  /* -1 if statvfs failed */
  int64_t usable_bytes; /* free to unprivileged writers; -1 if unknown */
} keel_log_dir_info;
#endif

#if KEEL_TARGET_ABI_MINOR >= 3
/* 2.3: the cluster as this broker sees it. An out-struct (rule 2); strings
 * are the broker's and stay valid while it runs. A broker without a
 * [cluster] section is a cluster of one: clustered = 0, controller_id =
 * broker_id. */
typedef struct keel_cluster_info {
  uint32_t struct_size;
  int32_t broker_id;
  int32_t controller_id; /* -1 while no controller is known */
  int32_t clustered;     /* 1 when a coordinator other than standalone runs */
  const char* cluster_id;
} keel_cluster_info;

/* 2.3: one live broker and where it serves one listener. Valid during the
 * callback only. */
typedef struct keel_broker_info {
  uint32_t struct_size;
  int32_t id;
  const char* host;
  int32_t port;
  int32_t reserved;
  const char* rack; /* "" when the broker names none */
} keel_broker_info;

typedef void (*keel_broker_callback)(void* user, const keel_broker_info* broker);

/* 2.3: who serves a partition. `replicas` and `isr` are broker ids, valid
 * during the callback only. leader -1: no leader right now (an election is
 * running, or every replica is down): clients retry after a metadata
 * refresh. */
typedef struct keel_partition_state {
  uint32_t struct_size;
  int32_t leader;
  int32_t leader_epoch;
  uint32_t replica_count;
  const int32_t* replicas;
  const int32_t* isr;
  uint32_t isr_count;
  int32_t reserved;
} keel_partition_state;

typedef void (*keel_partition_state_callback)(void* user, const keel_partition_state* state);
#endif

/* What the broker offers a transport. Unless a function says otherwise it is
 * safe from any thread, does not block on I/O, and may be called from
 * inside any callback of this API. */
#if KEEL_TARGET_ABI_MINOR >= 4
/* One SASL exchange in progress (2.4), opaque to transports. */
typedef struct keel_sasl_session keel_sasl_session;
typedef void (*keel_scram_credential_callback)(void* user, const char* name, const char* mechanism,
                                               int32_t iterations);
#endif

#if KEEL_TARGET_ABI_MINOR >= 5
/* 2.5: authorization, in Kafka's model (KIP-11, KIP-290). The values are
 * Kafka's wire codes, so a transport converts with a cast. */
#define KEEL_RESOURCE_ANY 1 /* filters only */
#define KEEL_RESOURCE_TOPIC 2
#define KEEL_RESOURCE_GROUP 3
#define KEEL_RESOURCE_CLUSTER 4 /* one resource, named "kafka-cluster" */
#define KEEL_RESOURCE_TRANSACTIONAL_ID 5

#define KEEL_PATTERN_ANY 1   /* filters only */
#define KEEL_PATTERN_MATCH 2 /* filters only: the bindings that apply to the name */
#define KEEL_PATTERN_LITERAL 3
#define KEEL_PATTERN_PREFIXED 4

#define KEEL_ACL_OP_ANY 1 /* filters only */
#define KEEL_ACL_OP_ALL 2
#define KEEL_ACL_OP_READ 3
#define KEEL_ACL_OP_WRITE 4
#define KEEL_ACL_OP_CREATE 5
#define KEEL_ACL_OP_DELETE 6
#define KEEL_ACL_OP_ALTER 7
#define KEEL_ACL_OP_DESCRIBE 8
#define KEEL_ACL_OP_CLUSTER_ACTION 9
#define KEEL_ACL_OP_DESCRIBE_CONFIGS 10
#define KEEL_ACL_OP_ALTER_CONFIGS 11
#define KEEL_ACL_OP_IDEMPOTENT_WRITE 12

#define KEEL_ACL_PERMISSION_ANY 1 /* filters only */
#define KEEL_ACL_PERMISSION_DENY 2
#define KEEL_ACL_PERMISSION_ALLOW 3

/* Who asks: the connection's principal ("User:alice" after SASL,
 * "User:CN=alice,O=Example" from a verified client certificate,
 * "User:ANONYMOUS" otherwise), the client's address, and the listener's
 * name (for logs). */
typedef struct keel_authz_subject {
  uint32_t struct_size;
  uint32_t reserved;
  const char* principal;
  const char* host;
  const char* listener;
} keel_authz_subject;

/* One thing the subject wants to do: `operation` on the resource
 * (type, name; name_len bytes, not NUL-terminated). resource_name NULL asks
 * whether the subject may do the operation on SOME resource of the type
 * (Kafka's authorizeByResourceType, KIP-679: an idempotent producer needs
 * WRITE on some topic): yes when an ALLOW binding of the principal (or
 * User:*) and host grants it on some resource of the type and no DENY
 * binding covers every resource of the type. */
typedef struct keel_authz_action {
  uint32_t struct_size;
  int8_t resource_type; /* KEEL_RESOURCE_* (not ANY) */
  int8_t operation;     /* KEEL_ACL_OP_* (not ANY or ALL) */
  uint16_t reserved;
  const char* resource_name;
  uint64_t resource_name_len;
} keel_authz_action;

#define KEEL_AUTHZ_DENIED 0
#define KEEL_AUTHZ_ALLOWED 1

/* A binding (resource pattern + access control entry), or a filter over
 * bindings (DescribeAcls, DeleteAcls) where the *_ANY values, MATCH and
 * NULL strings select anything. */
typedef struct keel_acl_binding {
  uint32_t struct_size;
  int8_t resource_type;
  int8_t pattern_type;
  int8_t operation;
  int8_t permission;
  const char* resource_name;
  const char* principal;
  const char* host;
} keel_acl_binding;

/* Valid during the callback only. */
typedef void (*keel_acl_callback)(void* user, const keel_acl_binding* binding);
#endif

#if KEEL_TARGET_ABI_MINOR >= 6
/* 2.6: one strategy the broker has loaded, and the library it came from.
 * Strings valid during the callback only. */
typedef struct keel_loaded_strategy {
  uint32_t struct_size;
  int32_t kind;          /* KEEL_KIND_* */
  const char* kind_name; /* "index", "retention", ... */
  const char* name;      /* the strategy's name, as configs name it */
  const char* plugin;    /* the library's descriptor name */
  const char* version;   /* the library's descriptor version */
  const char* path;      /* the file it was loaded from */
  uint16_t abi_major;    /* the ABI the library was built for */
  uint16_t abi_minor;
  uint32_t reserved;
} keel_loaded_strategy;

typedef void (*keel_loaded_strategy_callback)(void* user, const keel_loaded_strategy* strategy);
/* `count` segments of `segment_size` bytes each (KEEL_ELEMENT), oldest
 * first; the last is the active one. Valid during the callback only. */
typedef void (*keel_segments_callback)(void* user, const keel_segment_info* segments, size_t count,
                                       size_t segment_size);
/* A group as described by describe_group; valid during the callback only. */
typedef void (*keel_group_view_callback)(void* user, const keel_group_members* group);
#endif

typedef struct keel_broker_api {
  uint32_t struct_size;
  uint32_t reserved;
  void* ctx;

  /* ---- topics. create_topic and delete_topic block on the file system. */
  keel_status (*list_topics)(void* ctx, keel_topic_callback cb, void* user);
  keel_status (*describe_topic)(void* ctx, const char* topic, keel_topic_callback cb, void* user);
  keel_status (*create_topic)(void* ctx, const keel_create_topic_args* args, keel_error* err);
  keel_status (*delete_topic)(void* ctx, const char* topic, keel_error* err);
  /* Whether unknown topics named by producers should be created. */
  int32_t (*auto_create_topics)(void* ctx);
  /* Runs the topic's partitioner strategy (Kafka clients choose partitions
   * themselves; this is for transports whose clients do not). */
  keel_status (*choose_partition)(void* ctx, const char* topic, const uint8_t* key, size_t key_len,
                                  int32_t* partition, keel_error* err);
  keel_status (*topic_details)(void* ctx, const char* topic, keel_topic_details_callback cb, void* user);

  /* ---- data path */
  /* `batch` holds one or more RecordBatch v2 (magic 2) batches; the broker
   * checks them, assigns offsets and appends. Idempotent batches (producer
   * id >= 0) are checked against the partition's producer state first; all
   * batches of one call must then come from one producer, in sequence. The
   * callback runs exactly once, possibly before produce returns (on the
   * calling thread), possibly later on the flusher thread (acks=all); it
   * must not block. The append itself happens before produce returns, so
   * calls made one after another from one thread are stored in that order. */
  void (*produce)(void* ctx, const char* topic, int32_t partition, const uint8_t* batch, size_t len,
                  int32_t acks, keel_produce_callback cb, void* user);
  /* Reads from the page cache or disk: may block briefly on I/O. */
  keel_status (*fetch)(void* ctx, const char* topic, int32_t partition, int64_t offset, int64_t max_bytes,
                       keel_fetch_result* out, keel_error* err);
  void (*release_fetch)(void* ctx, keel_fetch_result* result);
  keel_status (*watermarks)(void* ctx, const char* topic, int32_t partition, keel_watermarks* out);
  /* First offset whose timestamp >= `timestamp`; -1 with KEEL_OK if none.
   * May block briefly on I/O. */
  keel_status (*offset_for_time)(void* ctx, const char* topic, int32_t partition, int64_t timestamp,
                                 int64_t* offset, int64_t* found_timestamp);
  keel_status (*watch)(void* ctx, const char* topic, int32_t partition, int64_t offset,
                       keel_watch_callback cb, void* user, keel_watch** out);
  /* After unwatch returns, the callback is not running (unless unwatch was
   * called from inside it) and will never run again. */
  void (*unwatch)(void* ctx, keel_watch* watch);
  keel_status (*partition_health)(void* ctx, const char* topic, int32_t partition,
                                  keel_partition_health* out);

  /* ---- consumer groups */
  /* Stores the offsets after the fencing checks (keel_group_commit). The
   * callback runs exactly once, on the calling thread or later on the
   * flusher thread once the offsets are as durable as the broker's
   * offsets_flush setting says ("commit": synced; "interval": written
   * within offsets_flush_interval_ms). They are visible to fetch_offset as
   * soon as the callback runs. Must not block in the callback. */
  void (*commit_offsets)(void* ctx, const keel_group_commit* commit, keel_status_callback cb, void* user);
  /* *offset = -1 when nothing was committed; metadata delivered via cb. */
  keel_status (*fetch_offset)(void* ctx, const char* group, const char* topic, int32_t partition,
                              int64_t* offset, keel_string_callback metadata_cb, void* user);
  /* Every committed offset of a group (NOT_FOUND if it has none). */
  keel_status (*group_offsets)(void* ctx, const char* group, keel_group_offset_callback cb, void* user);
  keel_status (*list_groups)(void* ctx, keel_string_callback cb, void* user);
  /* Publishes a group's members and generation for commit fencing. Kept in
   * memory only: after a restart every group is empty until its transport
   * publishes it again (e.g. from its stored group metadata, at start). */
  keel_status (*set_group_members)(void* ctx, const keel_group_members* members, keel_error* err);
  /* An opaque, transport-defined description of a group (e.g. its protocol
   * type and generation) kept with its offsets across restarts, with the
   * same durability; "" or NULL removes it. Blocks like a commit. */
  keel_status (*store_group_metadata)(void* ctx, const char* group, const char* metadata, keel_error* err);
  /* Delivers the stored metadata via cb; NOT_FOUND if there is none. */
  keel_status (*group_metadata)(void* ctx, const char* group, keel_string_callback cb, void* user);

  /* ---- metrics: the broker owns them, transports add to and render them.
   * `labels` are `label_count` name/value pairs (NULL when 0); names follow
   * Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*), values any UTF-8. */
  void (*counter_add)(void* ctx, const char* name, const keel_label* labels, size_t label_count,
                      double delta);
  void (*gauge_set)(void* ctx, const char* name, const keel_label* labels, size_t label_count, double value);
  void (*histogram_observe)(void* ctx, const char* name, const keel_label* labels, size_t label_count,
                            double value);
  /* Renders every metric the broker holds (its own and those transports
   * added) in the Prometheus text exposition format 0.0.4, delivering the
   * text to cb in chunks, in order, on the calling thread, before it
   * returns. */
  void (*render_metrics)(void* ctx, keel_data_callback cb, void* user);
  /* 1 once start-up recovery finished and the broker serves. */
  int32_t (*ready)(void* ctx);

  /* ---- the request budget: bytes of requests that transports hold in
   * memory while reading and handling them ([broker]
   * queued_max_request_bytes, Kafka's queued.max.request.bytes), shared by
   * every transport. reserve_request_bytes returns 1 when `bytes` are
   * granted: they fit, or nothing is reserved at all (so a request larger
   * than the whole budget still proceeds, alone). It returns 0 when they do
   * not fit: the transport stops reading that connection and tries again
   * later (after some release), without failing the request. Every granted
   * reservation must be given back once with release_request_bytes when the
   * bytes are freed. Both are cheap (an atomic). */
  int32_t (*reserve_request_bytes)(void* ctx, int64_t bytes);
  void (*release_request_bytes)(void* ctx, int64_t bytes);

#if KEEL_TARGET_ABI_MINOR >= 1
  /* ---- 2.1: idempotent producers. A producer id that was never handed out
   * before, not even before a crash, with epoch 0. Blocks while a new block
   * of ids is made durable (once per many calls). */
  keel_status (*init_producer_id)(void* ctx, const keel_init_producer_args* args, keel_producer_identity* out,
                                  keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 2
  /* ---- 2.2: consumer-group deletion (Kafka's DeleteGroups, OffsetDelete).
   * Both write tombstones to __consumer_offsets and block until they are as
   * durable as a commit (like store_group_metadata); any thread.
   * delete_group removes every committed offset and the stored metadata of
   * `group`. NOT_FOUND if it has neither; FENCED, removing nothing, while a
   * transport has published members for it (set_group_members): a group in
   * use cannot be deleted. */
  keel_status (*delete_group)(void* ctx, const char* group, keel_error* err);
  /* Removes the group's committed offsets of `partition_count` partitions of
   * `topic`; partitions without one are skipped. NOT_FOUND if the group has
   * no offsets and no metadata at all. Members are not checked here: the
   * transport running the group's protocol knows what its members are
   * subscribed to and refuses those topics itself. */
  keel_status (*delete_group_offsets)(void* ctx, const char* group, const char* topic,
                                      const int32_t* partitions, size_t partition_count, keel_error* err);
  /* ---- 2.2: topic settings at run time. topic_settings delivers every
   * setting of `topic` that is in effect (NULL: what a new topic gets, the
   * topic defaults) through cb, on the calling thread, before it returns:
   * every topic-level key, and the plugins.<strategy>.<key> settings that
   * some table sets (a key no table sets has the plugin's own default,
   * which only the plugin knows). NOT_FOUND for an unknown topic. */
  keel_status (*topic_settings)(void* ctx, const char* topic, keel_topic_setting_callback cb, void* user);
  /* Replaces a topic's own settings. Each of its strategies is created
   * with the new settings and may refuse them, exactly as at creation; on
   * success the settings are saved with the topic (they survive a restart)
   * and take effect at once: segment settings at the next roll, retention
   * at the next retention pass, flush settings at the next produce.
   * Refused (nothing changes): an unknown topic (NOT_FOUND), a topic
   * declared in the broker's file or internal (UNSUPPORTED: its settings
   * live in the file), a change of index strategies, their settings or the
   * partitioner, or dropping a rewriting retention strategy such as
   * compaction (UNSUPPORTED), settings a strategy refuses
   * (INVALID_ARGUMENT, naming the topic and key). Blocks on the file
   * system; serialised with topic creation and deletion. */
  keel_status (*alter_topic)(void* ctx, const keel_alter_topic_args* args, keel_error* err);
  /* ---- 2.2: admin.
   * create_partitions grows `topic` to `partition_count` partitions (never
   * fewer: INVALID_ARGUMENT when it is not more than the current count;
   * NOT_FOUND for an unknown topic). The new partitions' logs exist, and
   * survive a restart, before it returns; with `validate_only` set nothing
   * changes. Blocks on the file system (like create_topic). */
  keel_status (*create_partitions)(void* ctx, const char* topic, int32_t partition_count,
                                   int32_t validate_only, keel_error* err);
  /* Moves the partition's log start offset up to `offset` (-1 = the high
   * watermark): records below it are no longer readable, whole segments
   * below it are deleted. OUT_OF_RANGE beyond the high watermark; an offset
   * below the current start changes nothing. *low_watermark gets the log
   * start offset afterwards. Durable before it returns (it syncs the log
   * and the start offset): blocks on the file system. */
  keel_status (*delete_records)(void* ctx, const char* topic, int32_t partition, int64_t offset,
                                int64_t* low_watermark, keel_error* err);
  /* The data directory and its space. Calls statvfs: may block briefly. */
  keel_status (*log_dir)(void* ctx, keel_log_dir_info* out, keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 3
  /* ---- 2.3: the cluster. A transport calls advertise_listener from start,
   * once it is bound, for each listener clients reach it on (`listener` is
   * its own name, e.g. "kafka"); the broker publishes it with its
   * registration so that other brokers can name it in their metadata.
   * `host` "" or a wildcard address means the broker's [cluster]
   * advertised_host. Any thread; does not block (the registration is
   * updated on the broker's cluster thread). */
  void (*advertise_listener)(void* ctx, const char* listener, const char* host, int32_t port);
  void (*cluster_info)(void* ctx, keel_cluster_info* out);
  /* Every live broker that advertised `listener`, this one included, in id
   * order, on the calling thread before it returns. */
  void (*list_brokers)(void* ctx, const char* listener, keel_broker_callback cb, void* user);
  /* The partition's leader, replicas and in-sync replicas, on the calling
   * thread before it returns; NOT_FOUND for an unknown topic or partition.
   * produce and fetch answer KEEL_ERR_NOT_LEADER on a broker that does not
   * lead the partition. */
  keel_status (*partition_state)(void* ctx, const char* topic, int32_t partition,
                                 keel_partition_state_callback cb, void* user);
  /* Where `leader_epoch` ends in the partition's log (KIP-101/279): the
   * largest epoch in the log not greater than `leader_epoch` in
   * *end_epoch, and in *end_offset the start offset of the first epoch
   * after it, or the log end offset when it is the latest epoch. An epoch
   * older than the first one in the log gives -1, -1 (undefined) and OK.
   * NOT_FOUND for an unknown topic or partition; NOT_LEADER on a broker
   * that does not lead the partition. Any thread; does not block. */
  keel_status (*offset_for_leader_epoch)(void* ctx, const char* topic, int32_t partition,
                                         int32_t leader_epoch, int32_t* end_epoch, int64_t* end_offset,
                                         keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 4
  /* ---- 2.4: authentication. The broker owns the users and their SCRAM
   * credentials (stored salted and hashed, never a password) and runs the
   * server side of each SASL exchange; a transport only carries the tokens
   * (Kafka's SaslHandshake/SaslAuthenticate, HTTP Basic as PLAIN). */
  /* The mechanisms sasl_begin accepts, as "PLAIN,SCRAM-SHA-256,...", on the
   * calling thread before it returns. */
  void (*sasl_mechanisms)(void* ctx, keel_string_callback cb, void* user);
  /* Starts one exchange; UNSUPPORTED for a mechanism not in
   * sasl_mechanisms. *session stays valid until sasl_end. */
  keel_status (*sasl_begin)(void* ctx, const char* mechanism, keel_sasl_session** session, keel_error* err);
  /* Takes the client's next token; the server's answer (possibly empty)
   * goes to `cb` before it returns. Once the client is authenticated
   * *done = 1 and `principal_cb` gets the user name. AUTHENTICATION on a
   * failed exchange (the session then refuses every further step),
   * INVALID_ARGUMENT on a malformed token. Any thread, one at a time per
   * session; CPU only (PLAIN derives a key: milliseconds), no I/O. */
  keel_status (*sasl_step)(void* ctx, keel_sasl_session* session, const char* token, size_t len,
                           keel_data_callback cb, void* user, keel_string_callback principal_cb,
                           void* principal_user, int32_t* done, keel_error* err);
  void (*sasl_end)(void* ctx, keel_sasl_session* session);
  /* Every stored credential (user, mechanism, iterations), in user order.
   * Never salts or keys. */
  void (*scram_credentials)(void* ctx, keel_scram_credential_callback cb, void* user);
  /* Stores the credential of `user` for `mechanism` from a salted password
   * (Hi(password, salt, iterations), as Kafka's
   * AlterUserScramCredentials carries it): durable before it returns
   * (blocks on the file system). INVALID_ARGUMENT for an iteration count
   * outside 4096..16384 or an empty user. */
  keel_status (*alter_scram_credential)(void* ctx, const char* user, const char* mechanism,
                                        int32_t iterations, const char* salt, size_t salt_len,
                                        const char* salted_password, size_t salted_len, keel_error* err);
  /* NOT_FOUND when `user` has no credential for `mechanism`. Durable before
   * it returns. */
  keel_status (*delete_scram_credential)(void* ctx, const char* user, const char* mechanism, keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 5
  /* ---- 2.5: authorization. The transport asks (only it knows what a
   * request means); the broker decides, through the authorizer its config
   * names ([authorizer]), and counts and logs denials. */
  /* 1 when an authorizer is configured; without one every action is
   * allowed and the ACL calls answer UNSUPPORTED (Kafka's
   * SECURITY_DISABLED). */
  int32_t (*authorizer_enabled)(void* ctx);
  /* results[i] = KEEL_AUTHZ_ALLOWED or KEEL_AUTHZ_DENIED for actions[i]
   * (action_size bytes apart). Answered from memory: any thread, no I/O,
   * microseconds. `log_denials` = 0 for a question whose "no" only filters
   * a listing (Metadata of all topics): not counted as a denial. */
  void (*authorize)(void* ctx, const keel_authz_subject* subject, const keel_authz_action* actions,
                    uint32_t count, uint32_t action_size, int32_t log_denials, int32_t* results);
  /* Stores one binding, durable before it returns (blocks on the file
   * system); storing one already there is OK. INVALID_ARGUMENT with a
   * message for a binding that may not be stored (a filter value, an empty
   * name, a principal that is not "Type:name", ...). */
  keel_status (*create_acl)(void* ctx, const keel_acl_binding* binding, keel_error* err);
  /* The bindings the filter selects, to `cb` before it returns.
   * INVALID_ARGUMENT for a filter with an unknown value. */
  keel_status (*describe_acls)(void* ctx, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                               keel_error* err);
  /* Removes the bindings the filter selects, durably, and hands each to
   * `cb`; blocks on the file system. */
  keel_status (*delete_acls)(void* ctx, const keel_acl_binding* filter, keel_acl_callback cb, void* user,
                             keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 6
  /* ---- 2.6: operators' views. Read-only, answered from memory (no I/O),
   * any thread, to `cb` before the call returns. */
  /* Every strategy loaded, ordered by kind, then name. */
  void (*list_strategies)(void* ctx, keel_loaded_strategy_callback cb, void* user);
  /* The partition's segments. NOT_FOUND for an unknown topic or partition;
   * NOT_LEADER never (a follower's segments are its own). */
  keel_status (*list_segments)(void* ctx, const char* topic, int32_t partition, keel_segments_callback cb,
                               void* user, keel_error* err);
  /* The group as its protocol last described it (set_group_members); a
   * group with stored offsets or metadata but no members is described as
   * state "Empty" with no members. NOT_FOUND when the broker knows neither. */
  keel_status (*describe_group)(void* ctx, const char* group, keel_group_view_callback cb, void* user,
                                keel_error* err);
#endif

#if KEEL_TARGET_ABI_MINOR >= 7
  /* ---- 2.7 */
  /* produce, with `flags` (KEEL_PRODUCE_*; unknown bits are ignored).
   * Everything said of produce holds. */
  void (*produce_flags)(void* ctx, const char* topic, int32_t partition, const uint8_t* batch, size_t len,
                        int32_t acks, uint32_t flags, keel_produce_callback cb, void* user);
#endif
} keel_broker_api;

/* -------------------------------------------------- strategy: transport */

typedef struct keel_transport keel_transport;

/* Threads: create, start, stop and destroy come from the broker's main
 * thread, in that order. create must not bind or start threads (the broker
 * creates transports to check a configuration without serving); start binds
 * and begins serving on the transport's own threads; stop stops accepting,
 * finishes in-flight requests and joins them. The broker API stays valid
 * until destroy returns. */
typedef struct keel_transport_vtable {
  uint32_t struct_size;
  uint32_t reserved;
  keel_status (*create)(const keel_host* host, const keel_config* config, const keel_broker_api* broker,
                        keel_transport** out, keel_error* err);
  keel_status (*start)(keel_transport* t, keel_error* err);
  void (*stop)(keel_transport* t);
  void (*destroy)(keel_transport* t);
} keel_transport_vtable;

/* ------------------------------------------------ strategy: coordinator */

#if KEEL_TARGET_ABI_MINOR >= 3
/* 2.3: a consistent store that a cluster of brokers coordinates through
 * (etcd; a ZooKeeper one would map sessions to ZooKeeper sessions, revisions
 * to zxids and txn to multi). The broker decides what the cluster state is
 * (brokers, controller, partition leaders and ISR); the coordinator stores
 * it with fencing and tells of changes. No lock or election service of the
 * store is used: every write is a transaction comparing revisions.
 *
 * Keys are relative to the coordinator's own namespace (its config), '/'
 * separated, e.g. "brokers/1". Revisions are the store's: positive, one
 * store-wide increasing counter; a key's create_revision changes only when
 * it is deleted and created again (the broker uses it as an epoch).
 *
 * Threads: create and destroy come from the broker's main thread (destroy
 * after the cluster thread stopped); every other function comes from the
 * broker's cluster thread and may block on the network up to the
 * coordinator's request timeout. Watch callbacks run on the coordinator's own
 * threads, never two of one watch at once; they must not block and may
 * call unwatch on their own watch only. Failures the broker retries are
 * KEEL_ERR_UNAVAILABLE, with a message naming the endpoint. */
typedef struct keel_coordinator keel_coordinator;

/* A key and its value; valid during the callback only. */
typedef struct keel_coord_kv {
  uint32_t struct_size;
  uint32_t reserved;
  const char* key;
  const uint8_t* value; /* NULL with value_len 0 for a DELETE event */
  uint64_t value_len;
  int64_t create_revision;
  int64_t mod_revision;
} keel_coord_kv;

/* The key's create or mod revision equals `revision`; 0 = the key is absent. */
#define KEEL_COORD_CMP_MOD_REVISION 1
#define KEEL_COORD_CMP_CREATE_REVISION 2
typedef struct keel_coord_compare {
  uint32_t struct_size;
  int32_t target; /* KEEL_COORD_CMP_* */
  const char* key;
  int64_t revision;
} keel_coord_compare;

#define KEEL_COORD_OP_PUT 1
#define KEEL_COORD_OP_DELETE 2
typedef struct keel_coord_op {
  uint32_t struct_size;
  int32_t type; /* KEEL_COORD_OP_* */
  const char* key;
  const uint8_t* value;
  uint64_t value_len;
  /* PUT: 1 binds the key to this broker's session: it vanishes when the
   * session ends (Kafka's ephemeral znodes). */
  int32_t session_bound;
  int32_t reserved;
} keel_coord_op;

/* Watch events. RESYNC: history from the watch's revision is gone (the
 * store compacted it); read again with range and watch anew. SESSION_LOST:
 * this broker's session expired or could not be kept alive; its
 * session-bound keys are gone or about to be; every watch gets it; the
 * broker opens a new session. */
#define KEEL_COORD_EVENT_PUT 1
#define KEEL_COORD_EVENT_DELETE 2
#define KEEL_COORD_EVENT_RESYNC 3
#define KEEL_COORD_EVENT_SESSION_LOST 4

typedef void (*keel_coord_kv_callback)(void* user, const keel_coord_kv* kv);
/* kv is NULL for RESYNC and SESSION_LOST; revision is the event's. */
typedef void (*keel_coord_event_callback)(void* user, int32_t event, const keel_coord_kv* kv,
                                          int64_t revision);

typedef struct keel_coordinator_vtable {
  uint32_t struct_size;
  uint32_t reserved;
  /* Reads the config (endpoints, namespace, session TTL, ...); must not
   * connect (the broker creates coordinators to check a configuration). */
  keel_status (*create)(const keel_host* host, const keel_config* config, keel_coordinator** out,
                        keel_error* err);
  /* Starts a new session (an etcd lease with the configured TTL) and keeps
   * it alive on the coordinator's own thread until it is lost or destroy.
   * An earlier session of this instance is ended first. *session_id: the
   * store's id of it (for logs). *ttl_ms: how long the store keeps the
   * session after the broker stops renewing it. */
  keel_status (*open_session)(keel_coordinator* c, int64_t* session_id, int64_t* ttl_ms, keel_error* err);
  /* Reads `key`, or with prefix = 1 every key that starts with it, sorted
   * by key; *revision: the store revision the read saw (a watch from
   * *revision + 1 misses nothing). */
  keel_status (*range)(keel_coordinator* c, const char* key, int32_t prefix, keel_coord_kv_callback cb,
                       void* user, int64_t* revision, keel_error* err);
  /* When every compare holds, applies every op atomically and sets
   * *succeeded = 1; otherwise changes nothing and sets *succeeded = 0 (KEEL_OK
   * either way). *revision: the store revision after it. session_bound
   * puts need an open session (UNAVAILABLE otherwise). */
  keel_status (*txn)(keel_coordinator* c, const keel_coord_compare* compares, uint32_t compare_count,
                     uint32_t compare_size, const keel_coord_op* ops, uint32_t op_count, uint32_t op_size,
                     int32_t* succeeded, int64_t* revision, keel_error* err);
  /* Every change under `prefix` from `from_revision` on, in revision order.
   * A broken connection is retried by the coordinator, from the last
   * revision delivered, without losing or repeating events. */
  keel_status (*watch)(keel_coordinator* c, const char* prefix, int64_t from_revision,
                       keel_coord_event_callback cb, void* user, uint64_t* watch_id, keel_error* err);
  /* After it returns the callback is not running (unless called from inside
   * it) and never runs again. */
  void (*unwatch)(keel_coordinator* c, uint64_t watch_id);
  /* Ends the session (its keys vanish at once, where the store is
   * reachable), stops every thread and frees the instance. */
  void (*destroy)(keel_coordinator* c);
} keel_coordinator_vtable;
#endif

/* ------------------------------------------------- strategy: authorizer */

#if KEEL_TARGET_ABI_MINOR >= 5
/* 2.5: decides whether a subject may do an action, and keeps the rules it
 * decides by (Kafka's Authorizer). The broker holds one, named by its
 * config's [authorizer] strategy, with [authorizer.<strategy>] as its
 * config.
 *
 * Threads: create and destroy come from the broker's main thread;
 * authorize from any thread at any time, concurrently with itself and the
 * ACL calls, and must answer from memory without blocking for long;
 * create_acl, describe_acls and delete_acls from any thread, and may block
 * on the file system. */
typedef struct keel_authorizer keel_authorizer;

typedef struct keel_authorizer_vtable {
  uint32_t struct_size;
  uint32_t reserved;
  /* state_dir: a directory of the broker's data dir that belongs to this
   * strategy (it exists), for the rules it keeps. A damaged state file is
   * an error here, naming the file: the broker does not start. NULL when
   * the broker only checks its configuration (keel --check-config): judge
   * the settings, read and write nothing. */
  keel_status (*create)(const keel_host* host, const keel_config* config, const char* state_dir,
                        keel_authorizer** out, keel_error* err);
  /* As the broker API's authorize, without the counting. */
  void (*authorize)(keel_authorizer* a, const keel_authz_subject* subject, const keel_authz_action* actions,
                    uint32_t count, uint32_t action_size, int32_t* results);
  keel_status (*create_acl)(keel_authorizer* a, const keel_acl_binding* binding, keel_error* err);
  keel_status (*describe_acls)(keel_authorizer* a, const keel_acl_binding* filter, keel_acl_callback cb,
                               void* user, keel_error* err);
  keel_status (*delete_acls)(keel_authorizer* a, const keel_acl_binding* filter, keel_acl_callback cb,
                             void* user, keel_error* err);
  void (*destroy)(keel_authorizer* a);
} keel_authorizer_vtable;
#endif

/* ------------------------------------------------------------ descriptor */

#define KEEL_KIND_INDEX 1
#define KEEL_KIND_RETENTION 2
#define KEEL_KIND_PARTITIONER 3
#define KEEL_KIND_TRANSPORT 4
#define KEEL_KIND_COORDINATOR 5 /* 2.3 */
#define KEEL_KIND_AUTHORIZER 6  /* 2.5 */

typedef struct keel_strategy {
  uint32_t struct_size;
  int32_t kind;       /* KEEL_KIND_* */
  const char* name;   /* unique per kind across all loaded plugins */
  const void* vtable; /* keel_<kind>_vtable; starts with its struct_size */
} keel_strategy;

typedef struct keel_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major; /* must equal the host's KEEL_ABI_MAJOR */
  uint16_t abi_minor; /* may be older than the host's */
  const char* name;
  const char* version;
  uint32_t strategy_count;
  uint32_t strategy_size; /* bytes per element of `strategies` (rule 2) */
  const keel_strategy* strategies;
} keel_plugin_descriptor;

typedef const keel_plugin_descriptor* (*keel_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_PLUGIN_H */
