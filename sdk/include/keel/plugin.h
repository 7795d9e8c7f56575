/*
 * Keel plugin ABI: the only boundary between the broker and a plugin.
 *
 * Rules that keep this ABI stable (in the spirit of SQLite's VFS):
 *  - Every struct that crosses the boundary starts with `uint32_t struct_size`.
 *    A minor version may only APPEND fields/functions; a reader checks
 *    struct_size before touching a field that a later minor added.
 *  - Plain C types only. No C++ type, exception or allocation crosses without
 *    an owner that frees it. Strings passed in are borrowed for the duration of
 *    the call unless documented otherwise. Errors are returned as keel_status
 *    plus an optional message written into a caller-owned keel_error.
 *  - A plugin library exports exactly one symbol, KEEL_PLUGIN_ENTRY_SYMBOL,
 *    returning a static descriptor (see keel_plugin_descriptor).
 *
 * ABI history:
 *   1.0  initial: index, retention, partitioner, transport strategies;
 *        host services; broker API for transports.
 *   1.1  broker API: topic_details, partition_health, group_offsets;
 *        keel_create_topic_args.settings_toml (per-topic strategies).
 *   1.2  retention: rewrite (with keel_log_rewriter) and requires_keys,
 *        for strategies that rewrite closed segments (compaction).
 *   1.3  keel_log_rewriter: stopping, segment_bytes. Broker API:
 *        commit_offsets (several partitions, one durable write),
 *        store_group_metadata / group_metadata.
 *   1.4  broker API: reserve_request_bytes / release_request_bytes, the
 *        broker-wide budget of request bytes held by transports.
 */
#ifndef KEEL_PLUGIN_H
#define KEEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEEL_ABI_MAJOR 1
#define KEEL_ABI_MINOR 4

#define KEEL_PLUGIN_ENTRY_SYMBOL "keel_plugin_entry"

/* Whether the struct at `p` (of type `type`, whose struct_size says how much
 * of it its producer filled) is large enough to hold `field`: the check
 * before using a field a later minor version added. Function pointers may
 * still be NULL when optional. */
#define KEEL_HAS_FIELD(p, type, field) \
  ((p)->struct_size >= offsetof(type, field) + sizeof(((const type*)0)->field))

/* ------------------------------------------------------------------ status */

typedef enum keel_status {
  KEEL_OK = 0,
  KEEL_ERR_INVALID_ARGUMENT = 1, /* bad input from the caller */
  KEEL_ERR_NOT_FOUND = 2,        /* unknown topic/partition/key */
  KEEL_ERR_ALREADY_EXISTS = 3,
  KEEL_ERR_IO = 4,           /* the OS refused a read/write/sync */
  KEEL_ERR_CORRUPT = 5,      /* bytes on disk or on the wire fail checks */
  KEEL_ERR_OUT_OF_RANGE = 6, /* e.g. offset beyond the log end */
  KEEL_ERR_UNSUPPORTED = 7,
  KEEL_ERR_INTERNAL = 8,
  KEEL_ERR_UNAVAILABLE = 9, /* shutting down / not ready */
  KEEL_ERR_NO_SPACE = 10    /* disk full */
} keel_status;

/* Caller-owned buffer that a callee fills with a human-readable message. */
#define KEEL_ERROR_MESSAGE_CAPACITY 512
typedef struct keel_error {
  char message[KEEL_ERROR_MESSAGE_CAPACITY];
} keel_error;

/* ---------------------------------------------------------------- logging */

typedef enum keel_log_level {
  KEEL_LOG_TRACE = 0,
  KEEL_LOG_DEBUG = 1,
  KEEL_LOG_INFO = 2,
  KEEL_LOG_WARN = 3,
  KEEL_LOG_ERROR = 4
} keel_log_level;

/* ----------------------------------------------------------------- config */

/* A read-only view of one TOML table: the plugin's own section. Keys the
 * plugin never reads are reported by the broker as unknown (with file and
 * line) once the plugin instance is created, so plugins need not declare them.
 * Getters return KEEL_ERR_NOT_FOUND when the key is absent (keep your default)
 * and KEEL_ERR_INVALID_ARGUMENT when it has another type (the host records
 * the error with file, line and expected type and fails start-up). */
typedef struct keel_config keel_config;

/* --------------------------------------------------------- host services */

typedef struct keel_host {
  uint32_t struct_size;
  void* ctx; /* host-owned; pass back unchanged */

  /* Log into the broker's logger, tagged with the plugin's name. */
  void (*log)(void* ctx, keel_log_level level, const char* message);
  /* Milliseconds since the Unix epoch (wall clock; tests may fake it). */
  int64_t (*now_ms)(void* ctx);
  /* Monotonic nanoseconds, for measuring durations. */
  int64_t (*monotonic_ns)(void* ctx);

  keel_status (*config_get_int)(void* ctx, const keel_config* cfg, const char* key, int64_t* out);
  keel_status (*config_get_double)(void* ctx, const keel_config* cfg, const char* key, double* out);
  keel_status (*config_get_bool)(void* ctx, const keel_config* cfg, const char* key, int* out);
  /* The string stays valid as long as the plugin instance lives. */
  keel_status (*config_get_string)(void* ctx, const keel_config* cfg, const char* key, const char** out);
} keel_host;

/* ------------------------------------------------------ strategy: index */

/* One index instance serves one segment. Its files live beside the segment's
 * log file: the plugin derives their names from `path_prefix` (the segment's
 * path without extension, e.g. ".../00000000000000001000") plus its own
 * extension. */
typedef struct keel_index keel_index;

typedef struct keel_index_open_args {
  uint32_t struct_size;
  const char* path_prefix;
  int64_t base_offset; /* first offset the segment may hold */
  int64_t log_size;    /* bytes of valid log data in the segment now */
  int32_t writable;    /* 1 for the active segment, 0 for sealed ones */
  const keel_config* config;
} keel_index_open_args;

/* What the kernel tells an index about each batch stored in its segment, in
 * log order. Batches at or before what the index already covers are ignored
 * by the index, so the kernel may replay a few twice during recovery. */
typedef struct keel_batch_info {
  uint32_t struct_size;
  int64_t base_offset;
  int64_t last_offset;
  int64_t max_timestamp; /* -1 if the batch has none */
  int64_t position;      /* byte position of the batch in the log file */
  int32_t size;          /* bytes of the whole batch */
} keel_batch_info;

/* Result of a lookup: scan the log forward from `position`; the batch there
 * holds `offset` (offset lookups) or is the earliest candidate (time). */
typedef struct keel_index_entry {
  uint32_t struct_size;
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
   * When none exists, return {base_offset, 0, -1}. */
  keel_status (*lookup_offset)(keel_index* index, int64_t offset, keel_index_entry* out);
  keel_status (*lookup_time)(keel_index* index, int64_t timestamp, keel_index_entry* out);
  /* Drop entries for batches at or beyond `log_size` (log tail truncated).
   * The kernel then replays, via on_append, the batches from
   * recovery_position() up to log_size so the index is complete again. */
  keel_status (*truncate)(keel_index* index, int64_t log_size, keel_error* err);
  /* Persist what is in memory/mmap to disk. */
  keel_status (*flush)(keel_index* index, keel_error* err);
  /* The segment rolled: trim preallocated space, become read-only. */
  keel_status (*seal)(keel_index* index, keel_error* err);
  /* Number of entries held (for health reporting). */
  int64_t (*entry_count)(keel_index* index);
  /* Close; with remove_files != 0 also delete the index's files (the
   * segment is being deleted). */
  void (*close)(keel_index* index, int32_t remove_files);
} keel_index_vtable;

/* -------------------------------------------------- strategy: retention */

typedef struct keel_retention keel_retention;

typedef struct keel_segment_info {
  uint32_t struct_size;
  int64_t base_offset;
  int64_t next_offset; /* one past the last offset held */
  int64_t size_bytes;
  int64_t max_timestamp;    /* newest record timestamp, -1 if unknown */
  int64_t last_modified_ms; /* file mtime, a fallback for max_timestamp */
} keel_segment_info;

typedef struct keel_log_rewriter keel_log_rewriter; /* 1.2, defined below */

typedef struct keel_retention_vtable {
  uint32_t struct_size;
  keel_status (*create)(const keel_host* host, const keel_config* config, keel_retention** out,
                        keel_error* err);
  /* Segments come oldest first; the last is the active segment and is never
   * deleted whatever the answer. Set *delete_count to how many of the oldest
   * segments may go. */
  keel_status (*select)(keel_retention* r, const keel_segment_info* segments, size_t count, int64_t now_ms,
                        size_t* delete_count);
  void (*destroy)(keel_retention* r);

  /* ---- 1.2 (optional: NULL, or absent in older plugins, for strategies
   * that only delete whole segments) */
  /* Rewrites closed segments of one partition, e.g. to compact them. Called
   * on the broker's maintenance thread, after select() of every retention
   * strategy of the topic. Use `log` only during this call. */
  keel_status (*rewrite)(keel_retention* r, const keel_log_rewriter* log, int64_t now_ms, keel_error* err);
  /* 1.2: whether the topic must refuse records with a null key (compaction
   * needs a key on every record). NULL = no. */
  int32_t (*requires_keys)(keel_retention* r);
} keel_retention_vtable;

/* 1.2: what a rewriting retention strategy may do to one partition.
 *
 * Crash safety belongs to the broker: a rewrite writes replacement segments
 * aside and commit() swaps them in with renames, so that a crash at
 * any point leaves either the old or the new segments, never a mix (start-up
 * recovery finishes or rolls back an interrupted swap). Readers that opened
 * the old segments keep reading them. Offsets never change: batches keep the
 * base offsets they were stored with, and gaps between them are allowed. */
typedef struct keel_rewrite keel_rewrite; /* one rewrite in progress */
typedef int32_t (*keel_batch_visitor)(void* user, const uint8_t* batch, size_t len); /* 0 = stop */

struct keel_log_rewriter {
  uint32_t struct_size;
  void* ctx;
  const char* topic;
  int32_t partition;
  /* Closed segments, oldest first (the active segment is never offered). */
  const keel_segment_info* segments;
  size_t segment_count;
  /* Offsets below this were last rewritten by this strategy (a cleaner's
   * "clean point"); 0 at first. Persisted by the broker with commit. */
  int64_t clean_offset;

  /* Calls `visit` with every stored batch of closed segment `index`, in
   * order; the bytes are valid during the call only. */
  keel_status (*read_segment)(void* ctx, size_t index, keel_batch_visitor visit, void* user, keel_error* err);
  /* Starts replacing closed segments [first, first + count) with ONE new
   * segment. One rewrite may be open at a time; each segment is replaced at
   * most once per rewrite() call. */
  keel_status (*begin)(void* ctx, size_t first, size_t count, keel_rewrite** out, keel_error* err);
  /* Appends one RecordBatch v2 to the replacement, offsets as stored
   * (ascending, within [base of segment `first`, next_offset of the last
   * replaced segment)). A batch may be rebuilt (fewer
   * records, recompressed): it must carry a valid CRC. */
  keel_status (*write)(void* ctx, keel_rewrite* rw, const uint8_t* batch, size_t len, keel_error* err);
  /* Makes the replacement durable, swaps it in atomically, and records
   * `clean_offset` for the next call. Consumes `rw` whatever the outcome. */
  keel_status (*commit)(void* ctx, keel_rewrite* rw, int64_t clean_offset, keel_error* err);
  /* Drops the replacement; the old segments stay. */
  void (*abort)(void* ctx, keel_rewrite* rw);

  /* ---- 1.3 (check struct_size before use) */
  /* 1 once the broker is shutting down: abort the rewrite and return soon
   * (it is redone at the next start). Poll it during long work and while
   * throttling. */
  int32_t (*stopping)(void* ctx);
  /* The topic's segment_bytes: a replacement should stay below it. */
  int64_t segment_bytes;
};

/* ------------------------------------------------ strategy: partitioner */

typedef struct keel_partitioner keel_partitioner;

typedef struct keel_partitioner_vtable {
  uint32_t struct_size;
  keel_status (*create)(const keel_host* host, const keel_config* config, keel_partitioner** out,
                        keel_error* err);
  /* key == NULL means a null key (distinct from an empty key). */
  keel_status (*partition)(keel_partitioner* p, const uint8_t* key, size_t key_len, int32_t partition_count,
                           int32_t* out);
  void (*destroy)(keel_partitioner* p);
} keel_partitioner_vtable;

/* ----------------------------------------------- broker API (transports) */

typedef struct keel_topic_info {
  uint32_t struct_size;
  const char* name;
  int32_t partition_count;
  int32_t internal; /* 1 for broker-internal topics (read-only to clients) */
} keel_topic_info;

typedef struct keel_watermarks {
  uint32_t struct_size;
  int64_t log_start_offset; /* low watermark */
  int64_t high_watermark;   /* last offset visible to consumers + 1 */
  int64_t log_end_offset;   /* next offset to be assigned */
} keel_watermarks;

/* Acknowledgement levels for produce. */
#define KEEL_ACKS_NONE 0   /* answer when appended (no durability wait) */
#define KEEL_ACKS_LEADER 1 /* answer when appended to the log */
#define KEEL_ACKS_ALL (-1) /* answer once the topic's flush policy is met */

typedef struct keel_produce_result {
  uint32_t struct_size;
  keel_status status;
  int64_t base_offset;     /* offset assigned to the first record */
  int64_t log_append_time; /* -1 unless the topic uses log-append time */
  int64_t log_start_offset;
  const char* message; /* valid during the callback only; NULL if OK */
} keel_produce_result;

typedef void (*keel_produce_callback)(void* user, const keel_produce_result* result);

/* A fetched range of stored batches, exactly the bytes on disk. The transport
 * may pread() or sendfile() from `fd` while it holds the result, and must call
 * broker->release_fetch() once. Deleting a segment meanwhile is safe. */
typedef struct keel_fetch_result {
  uint32_t struct_size;
  int fd;
  int64_t file_position;
  int64_t length; /* 0 when nothing is available at the offset */
  keel_watermarks watermarks;
  void* pin; /* owned by the broker; released by release_fetch */
} keel_fetch_result;

typedef void (*keel_topic_callback)(void* user, const keel_topic_info* info);
typedef void (*keel_string_callback)(void* user, const char* value);
typedef void (*keel_data_callback)(void* user, const char* data, size_t len);
/* Called once when data beyond the watched offset exists, or the partition
 * goes away. Runs on a broker thread: do not block in it. */
typedef void (*keel_watch_callback)(void* user);
typedef struct keel_watch keel_watch;

typedef struct keel_create_topic_args {
  uint32_t struct_size;
  const char* name;
  int32_t partitions; /* <= 0: the broker's default */
  /* 1.1: optional TOML with the keys of a [topics.<name>] table (index,
   * retention, partitioner, segment_bytes, plugins.<strategy>.<key>, ...);
   * NULL or "" = the topic defaults. Kept with the topic across restarts. */
  const char* settings_toml;
} keel_create_topic_args;

/* 1.1: what a topic is made of, for admin and observability. Strings and
 * arrays are valid during the callback only. */
typedef struct keel_topic_details {
  uint32_t struct_size;
  const char* name;
  int32_t partition_count;
  const char* partitioner;
  const char* const* index; /* index strategy names */
  uint32_t index_count;
  const char* const* retention; /* retention strategy names */
  uint32_t retention_count;
  int64_t segment_bytes;
  int64_t segment_ms;
  int64_t max_batch_bytes;
  const char* flush_mode; /* "every-batch" | "interval" | "os" */
  int32_t declared;       /* 1 if named in the broker's config file */
} keel_topic_details;

/* 1.1: one partition's storage, for health endpoints. */
typedef struct keel_partition_health {
  uint32_t struct_size;
  int64_t segment_count;
  int64_t size_bytes;
  int64_t oldest_timestamp; /* max timestamp of the oldest segment, -1 if unknown */
  int64_t newest_timestamp; /* newest record timestamp, -1 if unknown */
  int64_t index_entries;
  int64_t flushed_offset; /* offsets below are on stable storage */
} keel_partition_health;

typedef void (*keel_topic_details_callback)(void* user, const keel_topic_details* details);

/* 1.3: one partition's offset in a commit_offsets call. */
typedef struct keel_offset_commit {
  uint32_t struct_size;
  const char* topic;
  int32_t partition;
  int64_t offset;
  const char* metadata; /* NULL = "" */
} keel_offset_commit;
/* One committed offset of a group; strings valid during the call only. */
typedef void (*keel_group_offset_callback)(void* user, const char* topic, int32_t partition, int64_t offset,
                                           const char* metadata);

typedef struct keel_broker_api {
  uint32_t struct_size;
  void* ctx;

  /* topics */
  keel_status (*list_topics)(void* ctx, keel_topic_callback cb, void* user);
  keel_status (*describe_topic)(void* ctx, const char* topic, keel_topic_callback cb, void* user);
  keel_status (*create_topic)(void* ctx, const keel_create_topic_args* args, keel_error* err);
  keel_status (*delete_topic)(void* ctx, const char* topic, keel_error* err);
  /* Whether unknown topics named by producers should be created. */
  int32_t (*auto_create_topics)(void* ctx);
  keel_status (*choose_partition)(void* ctx, const char* topic, const uint8_t* key, size_t key_len,
                                  int32_t* partition);

  /* data path */
  /* `batch` holds one or more RecordBatch v2 (magic 2) batches; the broker
   * checks them, assigns offsets and appends. The callback runs exactly once,
   * possibly before produce returns, possibly on a broker thread. */
  void (*produce)(void* ctx, const char* topic, int32_t partition, const uint8_t* batch, size_t len,
                  int32_t acks, keel_produce_callback cb, void* user);
  keel_status (*fetch)(void* ctx, const char* topic, int32_t partition, int64_t offset, int64_t max_bytes,
                       keel_fetch_result* out, keel_error* err);
  void (*release_fetch)(void* ctx, keel_fetch_result* result);
  keel_status (*watermarks)(void* ctx, const char* topic, int32_t partition, keel_watermarks* out);
  /* First offset whose timestamp >= `timestamp`; -1 with KEEL_OK if none. */
  keel_status (*offset_for_time)(void* ctx, const char* topic, int32_t partition, int64_t timestamp,
                                 int64_t* offset, int64_t* found_timestamp);
  keel_status (*watch)(void* ctx, const char* topic, int32_t partition, int64_t offset,
                       keel_watch_callback cb, void* user, keel_watch** out);
  /* After unwatch returns, the callback is not running and never will. */
  void (*unwatch)(void* ctx, keel_watch* watch);

  /* consumer-group offsets (durable) */
  keel_status (*commit_offset)(void* ctx, const char* group, const char* topic, int32_t partition,
                               int64_t offset, const char* metadata, keel_error* err);
  /* *offset = -1 when nothing was committed; metadata delivered via cb. */
  keel_status (*fetch_offset)(void* ctx, const char* group, const char* topic, int32_t partition,
                              int64_t* offset, keel_string_callback metadata_cb, void* user);
  keel_status (*list_groups)(void* ctx, keel_string_callback cb, void* user);

  /* metrics: the broker owns them, transports add to and render them.
   * `labels` is Prometheus label text without braces, e.g. `api="produce"`. */
  void (*counter_add)(void* ctx, const char* name, const char* labels, double delta);
  void (*gauge_set)(void* ctx, const char* name, const char* labels, double value);
  void (*histogram_observe)(void* ctx, const char* name, const char* labels, double value);
  /* Prometheus text exposition of every metric, delivered in chunks. */
  void (*render_metrics)(void* ctx, keel_data_callback cb, void* user);
  /* 1 once start-up recovery finished and the broker serves. */
  int32_t (*ready)(void* ctx);

  /* ---- 1.1 (check struct_size before use) */
  keel_status (*topic_details)(void* ctx, const char* topic, keel_topic_details_callback cb, void* user);
  keel_status (*partition_health)(void* ctx, const char* topic, int32_t partition,
                                  keel_partition_health* out);
  /* Every committed offset of a group (NOT_FOUND if it has none). */
  keel_status (*group_offsets)(void* ctx, const char* group, keel_group_offset_callback cb, void* user);

  /* ---- 1.3 (check struct_size before use) */
  /* Commits several offsets of one group at once. They are visible to
   * fetch_offset when it returns; how durable they are then is the broker's
   * offsets_flush setting ("commit": written and synced as one batch before
   * it returns; "interval": written within offsets_flush_interval_ms and at
   * clean shutdown). commit_offset behaves as a call with one entry. */
  keel_status (*commit_offsets)(void* ctx, const char* group, const keel_offset_commit* offsets, size_t count,
                                keel_error* err);
  /* An opaque, transport-defined description of a group (e.g. its protocol
   * type and generation) kept with its offsets across restarts, with the
   * same durability; "" or NULL removes it. */
  keel_status (*store_group_metadata)(void* ctx, const char* group, const char* metadata, keel_error* err);
  /* Delivers the stored metadata via cb; NOT_FOUND if there is none. */
  keel_status (*group_metadata)(void* ctx, const char* group, keel_string_callback cb, void* user);

  /* ---- 1.4 (check struct_size before use) */
  /* The broker-wide budget for bytes of requests that transports hold in
   * memory while reading and handling them ([broker] queued_max_request_bytes,
   * Kafka's queued.max.request.bytes), shared by every transport.
   * reserve_request_bytes returns 1 when `bytes` are granted: they fit, or
   * nothing is reserved at all (so a request larger than the whole budget
   * still proceeds, alone). It returns 0 when they do not fit: the transport
   * stops reading that connection and tries again later (after some
   * release), without failing the request. Every granted reservation must be
   * given back once with release_request_bytes when the bytes are freed.
   * Both are cheap (an atomic) and safe from any thread. */
  int32_t (*reserve_request_bytes)(void* ctx, int64_t bytes);
  void (*release_request_bytes)(void* ctx, int64_t bytes);
} keel_broker_api;

/* -------------------------------------------------- strategy: transport */

typedef struct keel_transport keel_transport;

typedef struct keel_transport_vtable {
  uint32_t struct_size;
  keel_status (*create)(const keel_host* host, const keel_config* config, const keel_broker_api* broker,
                        keel_transport** out, keel_error* err);
  /* Bind and begin serving on the transport's own threads. */
  keel_status (*start)(keel_transport* t, keel_error* err);
  /* Stop accepting, finish in-flight requests, join threads. */
  void (*stop)(keel_transport* t);
  void (*destroy)(keel_transport* t);
} keel_transport_vtable;

/* ------------------------------------------------------------ descriptor */

typedef enum keel_strategy_kind {
  KEEL_KIND_INDEX = 1,
  KEEL_KIND_RETENTION = 2,
  KEEL_KIND_PARTITIONER = 3,
  KEEL_KIND_TRANSPORT = 4
} keel_strategy_kind;

typedef struct keel_strategy {
  uint32_t struct_size;
  uint32_t kind;      /* keel_strategy_kind */
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
  const keel_strategy* strategies;
} keel_plugin_descriptor;

typedef const keel_plugin_descriptor* (*keel_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KEEL_PLUGIN_H */
