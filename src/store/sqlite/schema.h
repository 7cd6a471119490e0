/* The SQLite schema, versioned. Every change adds a migration step; the database records
 * the version it is at in meta('schema_version'). Private to store/sqlite/. */
#ifndef SLUICE_STORE_SQLITE_SCHEMA_H
#define SLUICE_STORE_SQLITE_SCHEMA_H

#define SQLITE_SCHEMA_VERSION 5

/* migrations[v] brings a database from version v to v+1. */
static const char *const sqlite_migrations[SQLITE_SCHEMA_VERSION] = {
    /* 0 -> 1: SQS queues, messages, FIFO deduplication, message move tasks. */
    "CREATE TABLE sqs_queues ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  attrs TEXT NOT NULL,"
    "  tags TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL);"
    "CREATE TABLE sqs_messages ("
    "  seq INTEGER PRIMARY KEY,"
    "  queue_id INTEGER NOT NULL,"
    "  visible_ms INTEGER NOT NULL,"
    "  sent_ms INTEGER NOT NULL,"
    "  receive_count INTEGER NOT NULL DEFAULT 0,"
    "  first_receive_ms INTEGER NOT NULL DEFAULT 0,"
    "  receipt_token INTEGER NOT NULL DEFAULT 0,"
    "  dlq_source_id INTEGER NOT NULL DEFAULT 0,"
    "  message_id TEXT NOT NULL,"
    "  md5_body TEXT NOT NULL,"
    "  md5_attrs TEXT,"
    "  md5_sys TEXT,"
    "  group_id TEXT,"
    "  dedup_id TEXT,"
    "  sender_id TEXT,"
    "  attrs TEXT,"
    "  sys_attrs TEXT,"
    "  body BLOB NOT NULL);"
    "CREATE INDEX sqs_messages_visible ON sqs_messages(queue_id, visible_ms);"
    "CREATE INDEX sqs_messages_fifo ON sqs_messages(queue_id, seq) WHERE group_id IS NOT NULL;"
    "CREATE TABLE sqs_dedup ("
    "  queue_id INTEGER NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  dedup_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  sequence_number INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (queue_id, scope, dedup_id)) WITHOUT ROWID;"
    "CREATE INDEX sqs_dedup_expiry ON sqs_dedup(expires_ms);"
    "CREATE TABLE sqs_move_tasks ("
    "  handle TEXT PRIMARY KEY,"
    "  source_id INTEGER NOT NULL,"
    "  dest_id INTEGER NOT NULL,"
    "  source_arn TEXT NOT NULL,"
    "  dest_arn TEXT NOT NULL,"
    "  rate INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  moved INTEGER NOT NULL,"
    "  to_move INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  failure TEXT NOT NULL);",
    /* 1 -> 2: control-plane documents, pending deliveries, archived events, shared bodies. */
    "CREATE TABLE docs ("
    "  ns TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (ns, key)) WITHOUT ROWID;"
    "CREATE TABLE deliveries ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  leased INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX deliveries_due ON deliveries(due_ms);"
    "CREATE TABLE archive_events ("
    "  seq INTEGER PRIMARY KEY,"
    "  archive TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  event BLOB NOT NULL);"
    "CREATE INDEX archive_events_time ON archive_events(archive, time_ms, seq);"
    /* A body shared by the messages of several queues (an event fanned out unchanged):
     * stored once, counted, dropped with its last message whatever deletes it. */
    "CREATE TABLE sqs_payloads ("
    "  id INTEGER PRIMARY KEY,"
    "  refs INTEGER NOT NULL,"
    "  body BLOB NOT NULL);"
    "ALTER TABLE sqs_messages ADD COLUMN payload_id INTEGER;"
    "CREATE TRIGGER sqs_payload_unref AFTER DELETE ON sqs_messages "
    "WHEN old.payload_id IS NOT NULL BEGIN "
    "  UPDATE sqs_payloads SET refs = refs - 1 WHERE id = old.payload_id;"
    "  DELETE FROM sqs_payloads WHERE id = old.payload_id AND refs <= 0;"
    "END;",
    /* 2 -> 3: key-value items (DynamoDB tables). h is a hash of pk (the store computes it):
     * a Scan reads in (h, pk, sk) order, so Scan segments are ranges of h and partition the
     * table evenly, and a Query reads one (h, pk) prefix in sk order, both on the primary key. */
    "CREATE TABLE kv_items ("
    "  tbl INTEGER NOT NULL,"
    "  h INTEGER NOT NULL,"
    "  pk BLOB NOT NULL,"
    "  sk BLOB NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  item BLOB NOT NULL,"
    "  PRIMARY KEY (tbl, h, pk, sk)) WITHOUT ROWID;"
    "CREATE TABLE kv_stats ("
    "  tbl INTEGER PRIMARY KEY,"
    "  items INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL);",
    /* 3 -> 4: DynamoDB stream records, appended by the key-value mutation that causes them.
     * Sequence numbers count per stream from 1 (kv_streams.last_seq, never reused);
     * trimmed_seq is the last one trimmed (records at or below it are gone). */
    "CREATE TABLE kv_streams ("
    "  stream INTEGER PRIMARY KEY,"
    "  last_seq INTEGER NOT NULL,"
    "  trimmed_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE kv_stream_records ("
    "  stream INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  record BLOB NOT NULL,"
    "  PRIMARY KEY (stream, seq)) WITHOUT ROWID;"
    "CREATE INDEX kv_stream_records_age ON kv_stream_records(created_ms);",
    /* 4 -> 5: CloudWatch Logs: groups (retention_days 0: never expire; bytes: the sum of
     * their events' message lengths), streams (first/last event and last ingestion times,
     * 0 until the first event) and events, read in (ts, seq) order per stream
     * (GetLogEvents) and per group (FilterLogEvents, the retention sweep). seq numbers the
     * events in storing order and is never reused (AUTOINCREMENT): it is the eventId and
     * the tie-break of pagination tokens. */
    "CREATE TABLE logs_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL,"
    "  retention_days INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE logs_streams ("
    "  id INTEGER PRIMARY KEY,"
    "  group_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  first_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_ms INTEGER NOT NULL DEFAULT 0,"
    "  ingest_ms INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (group_id, name));"
    "CREATE INDEX logs_streams_last ON logs_streams(group_id, last_ms, name);"
    "CREATE TABLE logs_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  group_id INTEGER NOT NULL,"
    "  stream_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  ingest_ms INTEGER NOT NULL,"
    "  message BLOB NOT NULL);"
    "CREATE INDEX logs_events_stream ON logs_events(stream_id, ts, seq);"
    "CREATE INDEX logs_events_group ON logs_events(group_id, ts, seq);",
};

#endif
