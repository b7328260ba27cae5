package provenance

import (
	"strings"

	"github.com/tally-ledger/tally/reference"
)

// Regions. The vocabulary names a region by its ISO 3166-2 code (CD-LU);
// the bundled reference figures (reference/data/wages.csv) name theirs as
// their sources publish them, in words ("Kolwezi (Lualaba), DR Congo").
// The reference package matches regions by text, so a code has to be
// turned into the name the figures use before it can match:
//
//   - namedRegions: the published region is this subdivision, or a place
//     within it that the figure is published for (Kolwezi for Lualaba).
//     A party or hop in the subdivision matches the figure, and a
//     benchmark.published entry for the subdivision fills the same slot,
//     so it supersedes the bundled figure of the same year.
//   - withinRegions: the published region is wider than the subdivision
//     and contains it (Region 1 of Viet Nam holds both Hanoi and Ho Chi
//     Minh City). A party or hop in the subdivision matches the figure,
//     but a benchmark for the one subdivision does not stand in for the
//     whole region: it keeps its code, and is used for that subdivision
//     alone.
//   - The United Kingdom: the Real Living Wage is published for London and
//     for the United Kingdom outside London. The City of London (GB-LND)
//     and the 32 London boroughs are London; every other subdivision code
//     of GB is outside London, except the codes that contain London
//     (England GB-ENG, England and Wales GB-EAW, Great Britain GB-GBN, the
//     United Kingdom GB-UKM), which stay unmatched.
//
// Where two published figures of one subdivision compete (rural Madhya
// Pradesh has one for Chhindwara and one for Ratlam, both 2023), the higher
// is named, as the reference package does when a figure for another region
// stands in: a stand-in never flatters pay. A code with no entry keeps its
// code, and matches only figures published for that code (a benchmark on
// the ledger) or, failing those, follows the reference package's rule for
// a region it has no figure for (a national figure, else the highest
// regional one).
//
// Where a benchmark on the ledger is published for a party's own code and
// year, it is more precise than any bundled figure the code is mapped to:
// partyRegion then keeps the code.
var namedRegions = map[string]string{
	"CD-LU":  "Kolwezi (Lualaba), DR Congo",                  // Kolwezi is the capital of Lualaba
	"IN-TN":  "urban Tamil Nadu (Tiruppur city)",             //
	"IN-MP":  "rural Madhya Pradesh (Ratlam)",                // INR 14,114, the higher of the two 2023 rows (Chhindwara INR 13,279)
	"MX-NAY": "rural Nayarit State",                          //
	"PH-00":  "National Capital Region (Metro Manila)",       //
	"KE-12":  "rural Kenya (Kericho)",                        // Kericho County
	"KE-31":  "non-metropolitan urban Kenya (Lake Naivasha)", // Naivasha lies in Nakuru County
	"BD-13":  "Dhaka city (urban)",                           // Dhaka District
	"ID-ST":  "rural Indonesia (Central Sulawesi benchmark)", // Sulawesi Tengah
}

var withinRegions = map[string]string{
	"VN-HN":  "Region 1 (Ho Chi Minh City and Hanoi)",
	"VN-SG":  "Region 1 (Ho Chi Minh City and Hanoi)",
	"PE-SAM": "rural coffee/cocoa regions (San Martin, Cajamarca, Junin, Cusco)",
	"PE-CAJ": "rural coffee/cocoa regions (San Martin, Cajamarca, Junin, Cusco)",
	"PE-JUN": "rural coffee/cocoa regions (San Martin, Cajamarca, Junin, Cusco)",
	"PE-CUS": "rural coffee/cocoa regions (San Martin, Cajamarca, Junin, Cusco)",
}

// London and the United Kingdom outside London, as wages.csv names them.
const (
	regionLondon        = "London"
	regionOutsideLondon = "United Kingdom outside London"
)

// londonCodes are the City of London and the 32 London boroughs.
var londonCodes = codeSet("LND BDG BNE BEX BEN BRY CMD CRY EAL ENF GRE HCK HMF HRY HRW HAV HIL HNS ISL KEC KTT LBH LEW MRT NWM RDB RIC SWK STN TWH WFT WND WSM")

// ukWithLondon are the GB codes of areas that contain London.
var ukWithLondon = codeSet("ENG EAW GBN UKM")

func codeSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(s) {
		m["GB-"+c] = true
	}
	return m
}

// ReferenceRegion is the region a benchmark.published entry for an ISO
// 3166-2 code fills in the reference figures: the name the bundled figures
// give the subdivision (namedRegions), or the code itself.
func ReferenceRegion(code string) string {
	if name, ok := namedRegions[code]; ok {
		return name
	}
	return code
}

// matchRegion is the region a party or hop in an ISO 3166-2 subdivision
// matches reference figures by: the name of a published region that is
// the subdivision or contains it, or the code itself.
func matchRegion(code string) string {
	if name, ok := namedRegions[code]; ok {
		return name
	}
	if name, ok := withinRegions[code]; ok {
		return name
	}
	if strings.HasPrefix(code, "GB-") {
		switch {
		case londonCodes[code]:
			return regionLondon
		case !ukWithLondon[code]:
			return regionOutsideLondon
		}
	}
	return code
}

// partyRegion is the region a seller in (country, code) is scored with in
// year: the code itself where a living wage is published for that code on
// the ledger (for that year or before), else matchRegion.
func partyRegion(ref *reference.Set, country, code string, year int) string {
	if code == "" {
		return ""
	}
	if _, m, ok := ref.LivingWage(country, code, year); ok && m == reference.MatchRegion {
		return code
	}
	return matchRegion(code)
}
