package demo

import "github.com/tally-ledger/tally/schemas"

// Envelopes returns every demo statement signed, in submission order:
// party registrations, hops from the mine to the doorstep, attestations,
// then the benchmark. The result is the same, byte for byte, on every call
// and every run.
func Envelopes() ([]schemas.Envelope, error) {
	c, err := loadChain()
	if err != nil {
		return nil, err
	}
	sts, err := c.statements()
	if err != nil {
		return nil, err
	}
	envs := make([]schemas.Envelope, len(sts))
	for i, st := range sts {
		envs[i] = st.env
	}
	return envs, nil
}
