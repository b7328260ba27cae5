// Package schemas is Tally's vocabulary: what a producer, retailer or
// researcher may say to the ledger, as Go types with validation rules, JSON
// Schemas, the DSSE envelope that carries a signed statement, and the
// canonical (RFC 8785) encoding that every hash is taken over.
//
// A statement travels as an Envelope whose payloadType names its kind
// (application/vnd.tally.<kind>.v1+json) and whose payload is the canonical
// JSON of one Event: PartyRegistered, PartyKeyRotated, PartyKeyRevoked,
// HopRecorded, AttestationRecorded or BenchmarkPublished.
//
//   - Sign makes an envelope; KeyID names a key; Envelope.Verify and
//     VerifyBatch check signatures under one verification rule.
//   - DecodeEnvelope reads an envelope strictly; DecodeEvent reads its
//     payload (canonical form required); Validate applies the vocabulary's
//     rules; ValidateEnvelope and ValidatePayload do both. Every problem
//     comes back as a Problem with a JSON Pointer and a rule name.
//   - Terms gives an event's secondary index entries; Envelope.Digest its
//     identity.
//   - Example, ExampleEvent and ExampleEnvelope give a valid statement of
//     each kind; JSONSchema the schema of each kind.
//
// docs/vocabulary.md describes every kind, field and rule.
package schemas
