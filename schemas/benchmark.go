package schemas

// Measures a benchmark may publish, and the periods a wage is given per.
const (
	MeasureLivingWage   = "living_wage"   // currency per period
	MeasureAverageWage  = "average_wage"  // currency per period
	MeasurePPPFactor    = "ppp_factor"    // currency units per international dollar
	MeasureExchangeRate = "exchange_rate" // currency units per US dollar (market rate)
)

var (
	Measures = []string{MeasureLivingWage, MeasureAverageWage, MeasurePPPFactor, MeasureExchangeRate}
	Periods  = []string{"hour", "day", "week", "month", "year"}
)

// BenchmarkPublished (benchmark.published) is a reference figure for a
// country (or one of its regions) and year, with its source: what a
// living wage is, what a currency buys, what a dollar costs. It is signed
// by a registered researcher or the operator.
type BenchmarkPublished struct {
	Publisher string `json:"publisher" validate:"required,slug"`
	Measure   string `json:"measure" validate:"required,oneof=living_wage average_wage ppp_factor exchange_rate"`
	Country   string `json:"country" validate:"required,iso3166_1_alpha2"`
	// Region is an ISO 3166-2 subdivision of Country, for regional figures.
	Region string `json:"region,omitempty" validate:"omitempty,iso3166_2"`
	// Year is the reference year of the figure.
	Year int `json:"year" validate:"min=1950,max=2100"`
	// Value is the figure: an amount of Currency per Period for a wage,
	// units of Currency per international dollar for a PPP factor, units of
	// Currency per US dollar for an exchange rate. Greater than zero.
	Value    Decimal `json:"value" validate:"required,decimal,positive"`
	Currency string  `json:"currency" validate:"required,iso4217"`
	// Period is what a wage is given per (one of Periods); required for
	// wages, absent otherwise.
	Period string `json:"period,omitempty" validate:"omitempty,oneof=hour day week month year"`
	// Hours, for a wage given per day, week, month or year, is the working
	// hours in that period the figure assumes; absent, FEX-1 assumes 173.33
	// hours a month.
	Hours  Decimal `json:"hours,omitempty" validate:"omitempty,decimal,positive"`
	Source Source  `json:"source" validate:"required"`
}

// Source is where a figure comes from.
type Source struct {
	Citation string `json:"citation" validate:"required,text,max=500"`
	URL      string `json:"url" validate:"required,max=2000,web_url"`
}
