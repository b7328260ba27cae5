package demo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-ledger/tally/internal/demo"
	"github.com/tally-ledger/tally/schemas"
)

func TestLoadSubmitsInOrder(t *testing.T) {
	want, err := demo.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]bool{}
	var got []schemas.Envelope
	sum, err := demo.Load(t.Context(), func(_ context.Context, env schemas.Envelope) (bool, string, error) {
		got = append(got, env)
		d, err := env.Digest()
		if err != nil {
			return false, "", err
		}
		if seen[d] {
			return true, demo.Duplicate, nil
		}
		seen[d] = true
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load submitted other envelopes than Envelopes returns (-want +got):\n%s", diff)
	}
	var parties []string
	for _, s := range statements(t) {
		if p, ok := s.ev.(*schemas.PartyRegistered); ok {
			parties = append(parties, p.ID)
		}
	}
	wantSum := demo.Summary{
		Submitted: len(want), New: len(want),
		FinalLot: demo.FinalLot(), FinalHop: demo.FinalHop(), Parties: parties,
	}
	if diff := cmp.Diff(wantSum, sum); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
}

func TestLoadCountsDuplicates(t *testing.T) {
	sum, err := demo.Load(t.Context(), func(context.Context, schemas.Envelope) (bool, string, error) {
		return true, demo.Duplicate, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.New != 0 || sum.Duplicates != sum.Submitted || sum.Submitted == 0 {
		t.Errorf("all-duplicate load: %+v", sum)
	}
}

func TestLoadStops(t *testing.T) {
	errDown := errors.New("ledger unreachable")
	tests := []struct {
		name          string
		ctx           func() context.Context
		submit        demo.SubmitFunc
		wantIs        error
		wantMsg       []string
		wantSubmitted int
		wantNew       int
	}{
		{
			name: "rejected",
			ctx:  context.Background,
			submit: rejectAt(3, func() (bool, string, error) {
				return false, "/payload/buyer: buyer is not registered (rule references)", nil
			}),
			wantIs:        demo.ErrRejected,
			wantMsg:       []string{"statement 3 of", "party.registered", "buyer is not registered (rule references)"},
			wantSubmitted: 3, wantNew: 2,
		},
		{
			name:          "rejected without reasons",
			ctx:           context.Background,
			submit:        rejectAt(1, func() (bool, string, error) { return false, "", nil }),
			wantIs:        demo.ErrRejected,
			wantMsg:       []string{"statement 1 of", "no reason given"},
			wantSubmitted: 1,
		},
		{
			name:          "submission fails",
			ctx:           context.Background,
			submit:        rejectAt(20, func() (bool, string, error) { return false, "", errDown }),
			wantIs:        errDown,
			wantMsg:       []string{"statement 20 of", "hop.recorded"},
			wantSubmitted: 20, wantNew: 19,
		},
		{
			name: "cancelled",
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			submit:  rejectAt(1, func() (bool, string, error) { return true, "", nil }),
			wantIs:  context.Canceled,
			wantMsg: []string{"before statement 1 of"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := demo.Load(tt.ctx(), tt.submit)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.wantIs)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if sum.Submitted != tt.wantSubmitted || sum.New != tt.wantNew {
				t.Errorf("Summary %+v, want %d submitted and %d new", sum, tt.wantSubmitted, tt.wantNew)
			}
		})
	}
}

// rejectAt accepts every statement before the n-th (1-based), and answers
// the n-th and later with answer.
func rejectAt(n int, answer func() (bool, string, error)) demo.SubmitFunc {
	calls := 0
	return func(context.Context, schemas.Envelope) (bool, string, error) {
		calls++
		if calls < n {
			return true, "", nil
		}
		return answer()
	}
}
