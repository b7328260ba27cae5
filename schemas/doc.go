// Package schemas is Tally's vocabulary: what a producer, retailer or
// researcher may say to the ledger, as Go types with validation rules, JSON
// Schemas, the DSSE envelope that carries a signed statement, and the
// canonical (RFC 8785) encoding that every hash is taken over.
package schemas
