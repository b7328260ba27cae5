// Package verifier owns every rule about what the ledger may hold, and the
// audit that checks a whole log against those rules after the fact.
//
// Two halves share this package on purpose, so that the code which admits
// an entry and the code which audits it later cannot drift apart:
//
//   - Admission (the admit*.go files) decides whether a submitted envelope
//     may be appended: signatures, key validity at the time, references that
//     must exist, no double spend of a lot.
//   - The audit (Audit) recomputes, from the stored records alone, everything
//     the ledger derived from them — leaf hashes, the hash chain, every stored
//     Merkle tree hash, the root at the head, every signed checkpoint, the
//     deduplication table and the secondary indexes — and names the first
//     place where the store disagrees.
//
// The secondary index keys of a record are defined here too (DomainIndex):
// the ingest path writes exactly the keys DomainIndex returns and the audit
// expects exactly those keys, so a writer and an auditor built from the same
// source always agree on what a correct index is.
package verifier
