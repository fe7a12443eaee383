// Package undo keeps the undo logs of AT mode: lossless row images, their
// binary encoding, the undo_log table, and phase two (rollback with the
// dirty-write check, and the batched deletes of a commit).
//
// # Images
//
// A Value is one column value canonicalised by the column's database type,
// so that every read of the same row yields equal Values whichever protocol
// (text or binary) or driver option (parseTime) produced it: integers of
// every width and sign including BIGINT UNSIGNED, DECIMAL as the server's
// text, FLOAT and DOUBLE bit for bit, BIT, binary and character data byte
// for byte, temporal values as text, and NULL. Value.Arg turns a value back
// into a bind argument that stores exactly it.
//
// Read images with QueryImage (or ReadImage over rows of a prepared
// statement): the text protocol prints FLOAT with 6 significant digits,
// which is lossy (DOUBLE text round-trips on MariaDB 10.11, which need not
// hold for every server). Two limits come from the driver, not
// from this package: with parseTime=true, go-sql-driver/mysql returns the
// zero time.Time both for 0000-00-00 and for 0001-01-01 00:00:00 (in UTC),
// and cannot read dates with zero parts; and a DATETIME falling in a
// daylight-saving gap of the driver's Loc is shifted. parseTime=false (the
// default), or Loc=UTC, avoids both. TIMESTAMP values are read and written
// in the session time_zone, so the Manager's connections must use the
// application's.
//
// # Lifecycle of a branch
//
// Phase one: the driver wrapper collects one Record per DML statement and,
// just before the local COMMIT, calls Manager.Insert on the same connection,
// so the undo log commits with the data (or Manager.InsertCommit, which
// sends the INSERT and the COMMIT as one query). Phase two: Manager.Rollback undoes
// the branch, or Manager.Commit queues its log for deletion.
// Manager.DeleteOlderThan serves the coordinator's periodic clean-up.
//
// # Rollback
//
// A branch is undone in one local transaction, as a whole: its records are
// folded into one net change per row, every changed row is locked and
// checked against what the branch left (the dirty-write check) before
// anything is written, and the rows are then put back in an order that keeps
// unique keys from colliding on the way; rows that trade unique values in a
// cycle are moved out of the way (deleted, then inserted again whole). A
// global transaction's branches are undone newest first by the coordinator,
// so that each one finds the rows as it left them. What cannot succeed by
// retrying (a dirty write, a unique value now held by a row the branch never
// wrote, a schema that no longer fits the log) is reported with an error
// for which Retryable is false, and the rows are logged at Error; the data
// and the undo log are left for a person.
//
// Restoring fires the table's triggers like any write (a row moved out of a
// cycle fires DELETE and INSERT triggers instead of UPDATE); that delete
// runs with foreign_key_checks off, so it neither cascades to nor is
// refused by referencing rows. A deleted row comes back only if its image
// holds every writable column the table has now: a column added after the
// image was taken fails the rollback with ErrSchemaChanged rather than
// silently taking its default.
//
// The undo_log table has Java Seata's columns (DDL, CreateTable); the
// rollback_info column holds this package's own binary format, recorded in
// the context column as "serializer=atcc1&compressorType=NONE" (or GZIP
// above Config.CompressThreshold).
//
// # Undo logs of other clients
//
// Rollback also undoes branches whose undo logs Java Seata (jackson, 0.7 to
// 2.x) or seata-go v1.2.0 wrote, so a resource can move to atcc with
// transactions in flight. Their values are read by the live column types
// into the same lossless records, and the same dirty-write check applies.
// What the writer itself lost is refused with ErrLossy, not guessed at: a
// DECIMAL seata-go rounded through float64 when several values of the
// column's scale share that float, a FLOAT read as 6-digit text, and the
// columns seata-go v1.2.0 images from sql.RawBytes (BLOB, BINARY,
// VARBINARY, MEDIUMTEXT, LONGTEXT, MariaDB's JSON, ENUM, SET), which it may
// have overwritten, in images that would be written back. Java writes
// DATETIME, TIMESTAMP, DATE and YEAR as epoch milliseconds of the writer's
// zone: set Config.JavaTimeZone. Other serializers (fastjson, kryo, ...),
// compressors without a standard-library decoder (SEVENZ, LZ4, ZSTD) and
// Java 2.2's logs split over several rows are refused with
// ErrUnsupportedFormat. Undo logs are still written in atcc's own format.
package undo
