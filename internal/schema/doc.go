// Package schema reads MySQL/MariaDB table metadata from information_schema
// and builds the identifier-safe SQL that AT mode runs against those tables.
//
// A Cache belongs to one data source: it queries through the *sql.DB given to
// NewCache and is keyed by schema and table name, so two data sources never
// share or overwrite each other's metadata. Lookups of a cached table take no
// lock; concurrent misses for one table load it once. Metadata does not
// expire: call Refresh or Invalidate after DDL.
//
// Identifiers are always quoted with QuoteIdent (backticks, embedded
// backticks doubled), and the statements built here carry values only as
// placeholders.
package schema
