package verifier

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/tally-ledger/tally/ledger"
	"github.com/tally-ledger/tally/schemas"
)

// ReplayAdmission judges every record of l again, in log order, as
// admission would have judged it when it arrived: against the state built
// from the records before it, at its stored received_at. It returns the
// verdict of every record that admission would not admit now, with Seq set
// to the record's sequence number; an empty result means the whole log
// obeys the admission rules.
//
// Each record is then applied to the state whatever its verdict, as
// LoadState does, so one bad record does not make every later one look
// bad too. A log of BenchKind records is all rejections: that kind is not
// in the vocabulary.
func ReplayAdmission(ctx context.Context, l *ledger.Log) ([]Verdict, error) {
	st := NewMemState()
	var out []Verdict
	head := l.Head().Size
	const chunk = 1024
	for st.Size() < head {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var recs []ledger.Record
		if err := l.Scan(st.Size(), chunk, func(r ledger.Record) error {
			recs = append(recs, r)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("verifier: replay from record %d: %w", st.Size(), err)
		}
		if len(recs) == 0 {
			break
		}
		ps := make([]*prepared, len(recs))
		parallel(len(recs), func(i int) {
			var env schemas.Envelope
			if err := json.Unmarshal(recs[i].Envelope, &env); err != nil {
				ps[i] = &prepared{envProblems: []schemas.Problem{{Path: "", Rule: "json", Message: "stored envelope is not a DSSE envelope: " + err.Error()}}}
				return
			}
			ps[i] = prepare(Candidate{Envelope: env, ReceivedAt: recs[i].ReceivedAt})
		})
		batchKeys := map[string]ed25519.PublicKey{}
		for _, p := range ps {
			for id, pub := range p.introduced {
				batchKeys[id] = pub
			}
		}
		verifySignatures(ps, func(id string) (ed25519.PublicKey, bool) {
			if k, ok := st.Key(id); ok {
				return k.Public, true
			}
			pub, ok := batchKeys[id]
			return pub, ok
		}, schemas.VerifyBatch)

		ov := newOverlay(st)
		for i, r := range recs {
			if r.Seq != ov.Size() {
				return nil, fmt.Errorf("%w: record %d where %d was expected", ErrDiverged, r.Seq, ov.Size())
			}
			v := Verdict{Digest: ps[i].digest, Kind: ps[i].kind, DuplicateOf: -1}
			judgeInto(&v, ov, ps[i])
			if v.Status != Admitted {
				v.Seq = r.Seq
				out = append(out, v)
			}
			applyRecord(ov, r)
		}
		ov.commitTo(st)
	}
	return out, nil
}
