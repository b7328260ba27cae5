package score

import "github.com/tally-ledger/tally/reference"

// IntlDollar is the currency label of amounts in international dollars
// (purchasing-power parity); it is not an ISO 4217 code.
const IntlDollar = "intl$"

// Term is one term of a score under the three readings of the evidence.
type Term struct {
	Point float64 `json:"point"` // figures as recorded; a missing figure makes it 0
	Worst float64 `json:"worst"` // also 0 where a figure used has confidence below the threshold
	Best  float64 `json:"best"`  // a missing figure makes it 1
}

// Terms are the two terms a score is the geometric mean of.
type Terms struct {
	WageAdequacy     Term `json:"wage_adequacy"`
	ExchangeEquality Term `json:"exchange_equality"`
}

// CategoryScore is one job category of a hop.
type CategoryScore struct {
	Name          string `json:"name"`
	Workers       int    `json:"workers"`
	Hours         string `json:"hours"` // attributed to the chain's final unit
	SelfEmployed  bool   `json:"self_employed"`
	SharesSurplus bool   `json:"shares_surplus"` // the category's income includes a share of the surplus
	// LabourIncome is basic + bonus + counted in-kind (+ surplus share),
	// attributed; null if a conversion is missing.
	LabourIncome *Money `json:"labour_income"`
	HourlyPay    *Money `json:"hourly_pay"`  // US$ per hour
	LivingWage   *Money `json:"living_wage"` // US$ per hour
	// Ratio is hourly pay / living wage, not capped; null if either is
	// missing.
	Ratio *float64 `json:"ratio"`
}

// InputRef is a ledger entry a score used.
type InputRef struct {
	Role  string          `json:"role"` // hop, input, buyer_hop, attestation
	Hop   string          `json:"hop,omitempty"`
	Party string          `json:"party,omitempty"` // the attester, for an attestation
	Lot   string          `json:"lot,omitempty"`
	Qty   string          `json:"qty,omitempty"`
	Unit  string          `json:"unit,omitempty"`
	Kind  AttestationKind `json:"kind,omitempty"`
	Entry EntryRef        `json:"entry"`
	// Problem says why an input could not be followed, if it could not.
	Problem string `json:"problem,omitempty"`
}

// EvidenceUse is the evidence behind one figure group of a hop.
type EvidenceUse struct {
	Figure     FigureGroup `json:"figure"`
	Level      Evidence    `json:"level"`
	Confidence float64     `json:"confidence"`
	// Entries are the attestations that set the level.
	Entries []EntryRef `json:"entries"`
	// Used is the entry whose figures were used: the hop's own, or under a
	// dispute the disputing attestation's where those are less favourable.
	Used EntryRef `json:"used"`
}

// RefUse is a reference figure a score used, with what for.
type RefUse struct {
	reference.Figure
	// UsedFor: exchange_rate (money to US$), ppp and ppp_market_rate (US$ to
	// international $), living_wage, average_wage.
	UsedFor string `json:"used_for"`
	// Match: how a living wage's region matched (region, national,
	// other_region).
	Match reference.Match `json:"match,omitempty"`
	// RequestedYear is the year the figure was looked up for; Figure.Year is
	// the year used (the latest not after it).
	RequestedYear int `json:"requested_year"`
}

// Missing is a figure a score needed and did not have; the term that needed
// it took its worst case.
type Missing struct {
	Figure string `json:"figure"`
	Hop    string `json:"hop,omitempty"`
	Detail string `json:"detail"`
}

// HopScore is the FEX score of one hop in a chain. Money is in US$ and
// attributed to one unit of the chain's final lot (Fraction says how much
// of the hop that is); ratios do not depend on the attribution.
type HopScore struct {
	Method   string   `json:"method"`
	Hop      string   `json:"hop"`
	Entry    EntryRef `json:"entry"`
	Kind     HopKind  `json:"kind"`
	Seller   string   `json:"seller"`
	Buyer    string   `json:"buyer"`
	Year     int      `json:"year"`
	Fraction string   `json:"fraction"`

	Score      float64 `json:"score"` // confidence × point + (1 − confidence) × worst
	Point      float64 `json:"point"`
	Worst      float64 `json:"worst"`
	Best       float64 `json:"best"`
	Confidence float64 `json:"confidence"`

	WageAdequacy     *float64 `json:"wage_adequacy"`     // null if missing
	ExchangeEquality *float64 `json:"exchange_equality"` // null if missing
	EqualityBasis    Basis    `json:"equality_basis"`
	Favours          Favours  `json:"favours"`
	Terms            Terms    `json:"terms"`

	Price               *Money  `json:"price"`
	InputCost           *Money  `json:"input_cost"`
	OffLedgerCosts      *Money  `json:"off_ledger_costs"`
	ValueAdded          *Money  `json:"value_added"`
	LabourIncome        *Money  `json:"labour_income"`
	Capture             *Money  `json:"capture"`
	Hours               *string `json:"hours"`
	ValuePerHourIntl    *Money  `json:"value_per_hour_intl"`
	BuyerValuePerHour   *Money  `json:"buyer_value_per_hour_intl"`
	LivingWageShortfall *Money  `json:"living_wage_shortfall"`

	Categories []CategoryScore `json:"categories"`
	Inputs     []InputRef      `json:"inputs"`
	Evidence   []EvidenceUse   `json:"evidence"`
	Reference  []RefUse        `json:"reference"`
	Missing    []Missing       `json:"missing"`
	Notes      []string        `json:"notes,omitempty"`
}

// NotOnLedger labels the share table's remainder row.
const NotOnLedger = "not on the ledger"

// ShareRow is one row of a chain's share table: where a hop's part of the
// final price went, as fractions of it and as money per final unit. A
// share is null where the figure behind it is missing.
type ShareRow struct {
	Hop       string `json:"hop"` // hop ID, or NotOnLedger
	Remainder bool   `json:"remainder,omitempty"`

	LabourShare     *float64 `json:"labour_share"`
	CaptureShare    *float64 `json:"capture_share"`
	NonLabourShare  *float64 `json:"non_labour_share"`
	ValueAddedShare *float64 `json:"value_added_share"`
	// TotalShare is what the row accounts for: value added + non-labour
	// costs (or, where value added is unknown, labour + non-labour). The
	// rows' totals, remainder included, sum to 1.
	TotalShare float64 `json:"total_share"`

	Labour     *Money `json:"labour"`
	Capture    *Money `json:"capture"`
	NonLabour  *Money `json:"non_labour"`
	ValueAdded *Money `json:"value_added"`
	Total      Money  `json:"total"`
}

// ChainScore is the FEX score of a final lot's chain, per unit of the final
// lot, with the score of every hop in it.
type ChainScore struct {
	Method   string `json:"method"`
	Final    string `json:"final"`
	Delivery string `json:"delivery,omitempty"`

	Score      float64 `json:"score"`
	Point      float64 `json:"point"`
	Worst      float64 `json:"worst"`
	Best       float64 `json:"best"`
	Confidence float64 `json:"confidence"`

	WageAdequacy     *float64 `json:"wage_adequacy"`
	ExchangeEquality *float64 `json:"exchange_equality"`
	Terms            Terms    `json:"terms"`

	FinalPrice *Money  `json:"final_price"`
	Hours      *string `json:"hours"`

	Shares              []ShareRow `json:"shares"`
	LivingWageCostShare *float64   `json:"living_wage_cost_share"`
	OriginShare         *float64   `json:"origin_share"`
	HoursRatio          *float64   `json:"hours_ratio"`

	Hops      []HopScore `json:"hops"`
	Reference []RefUse   `json:"reference"`
	Missing   []Missing  `json:"missing"`
}

// Hop returns the score of one hop of the chain.
func (c ChainScore) Hop(id string) (HopScore, bool) {
	for _, h := range c.Hops {
		if h.Hop == id {
			return h, true
		}
	}
	return HopScore{}, false
}
