package provenance

import (
	"testing"

	"github.com/tally-ledger/tally/reference"
)

// TestRegionNames: every name a code is mapped to is a region of a bundled
// living wage, so a mapped code matches it; named regions are one code's
// each, so a benchmark for one code never stands in for another's.
func TestRegionNames(t *testing.T) {
	set, err := reference.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]string{} // region → country
	for _, f := range set.Figures() {
		if f.Kind == reference.KindLivingWage && !f.National() {
			published[f.Region] = f.Country
		}
	}
	check := func(table string, m map[string]string) {
		for code, name := range m {
			country, ok := published[name]
			if !ok {
				t.Errorf("%s: %s → %q, which no bundled living wage names", table, code, name)
			}
			if code[:2] != country {
				t.Errorf("%s: %s → %q, a region of %s", table, code, name, country)
			}
		}
	}
	check("namedRegions", namedRegions)
	check("withinRegions", withinRegions)
	check("GB", map[string]string{"GB-LND": matchRegion("GB-LND"), "GB-BST": matchRegion("GB-BST")})

	seen := map[string]string{}
	for code, name := range namedRegions {
		if other, dup := seen[name]; dup {
			t.Errorf("namedRegions: %s and %s both name %q; a region named by several codes belongs in withinRegions", code, other, name)
		}
		seen[name] = code
		if _, both := withinRegions[code]; both {
			t.Errorf("%s is in both tables", code)
		}
	}

	for code, want := range map[string]string{
		"CD-LU": "Kolwezi (Lualaba), DR Congo", "GB-BST": regionOutsideLondon, "GB-SCT": regionOutsideLondon,
		"GB-CMD": regionLondon, "GB-LND": regionLondon, "GB-ENG": "GB-ENG", "GB-UKM": "GB-UKM",
		"VN-HN": "Region 1 (Ho Chi Minh City and Hanoi)", "CN-GD": "CN-GD", "": "",
	} {
		if got := matchRegion(code); got != want {
			t.Errorf("matchRegion(%q) = %q, want %q", code, got, want)
		}
	}
	// Benchmarks take the name only where it is the code's own.
	for code, want := range map[string]string{"CD-LU": "Kolwezi (Lualaba), DR Congo", "VN-HN": "VN-HN", "GB-BST": "GB-BST"} {
		if got := ReferenceRegion(code); got != want {
			t.Errorf("ReferenceRegion(%q) = %q, want %q", code, got, want)
		}
	}
}
