package tc

// MySQLSchema is the former name of DDL, kept while the branches written
// against it are merged.
//
// Deprecated: use DDL.
const MySQLSchema = DDL
